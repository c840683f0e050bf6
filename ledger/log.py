"""The verifiable log: signed tree heads, receipts, consistency proofs and the full audit."""

from __future__ import annotations

import base64
import bisect
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.utils import get_topic

from ledger import merkle
from ledger.crypto import MasterKey
from ledger.domain.keys import KeyHistory
from ledger.errors import IntegrityViolation, NotFound, ProofError
from ledger.head_rules import (
    BLOB_IDS,
    BLOB_KEY,
    check_attested,
    check_embedded_heads,
    check_head_key,
    check_head_sequence,
    check_rotations,
)
from ledger.key_ring import KeyRing, signing_key_reads
from ledger.sealing import originator_text, record_leaf
from ledger.store import HeadTable, LeafTable, Record, RecordTable
from ledger.views import (
    ConsistencyRead,
    EventRead,
    HeadRead,
    InclusionRead,
    ReceiptRead,
    SigningKeyRead,
)

HEAD_FORMAT = b"failure-museum-tree-head/v1"
ROTATED_TOPIC = get_topic(getattr(KeyHistory, "KeysRotated"))  # noqa: B009 - made by @event


def head_message(tree_size: int, timestamp_ms: int, root_hash: bytes) -> bytes:
    """The exact bytes an Ed25519 tree-head signature covers."""
    return HEAD_FORMAT + struct.pack(">QQ", tree_size, timestamp_ms) + root_hash


@dataclass(frozen=True)
class SignedTreeHead:
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    key_id: str
    signature: bytes
    head_id: int | None = None

    def verify(self, public_key: Ed25519PublicKey) -> None:
        try:
            public_key.verify(
                self.signature, head_message(self.tree_size, self.timestamp_ms, self.root_hash)
            )
        except InvalidSignature:
            raise ProofError(
                f"tree head {self.head_id} (size {self.tree_size}) has a bad signature"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return {
            "head_id": self.head_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp_ms": self.timestamp_ms,
            "timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SignedTreeHead:
        return cls(
            int(row["tree_size"]),
            bytes(row["root_hash"]),
            int(row["timestamp_ms"]),
            str(row["key_id"]),
            bytes(row["signature"]),
            int(row["head_id"]),
        )


@dataclass(frozen=True)
class VerificationReport:
    events: int
    heads: int
    latest_head: SignedTreeHead | None
    seconds: float
    blob_refs: frozenset[str] = frozenset()
    attested_heads: int = 0
    embedded_heads: int = 0
    head_every_events: int = 0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("inf")


class VerifiableLog:
    """Reads leaves and records; only it signs heads. Leaf hashes are cached (the log only grows)."""

    def __init__(
        self,
        records: RecordTable,
        leaves: LeafTable,
        heads: HeadTable,
        master: MasterKey,
        ring: KeyRing | None = None,
    ) -> None:
        self.records = records
        self.leaves = leaves
        self.heads = heads
        self.master = master
        self.ring = ring or KeyRing.single(master)
        self.sealer = self.ring.sealer()
        self._ids: list[int] = []
        self._hashes: list[bytes] = []
        self._frontier = merkle.Frontier()
        self._lock = threading.Lock()
        # The periodic-head rule `verify` checks (MuseumLedger.save signs by it); 0: none.
        self.head_every_events = 0

    @property
    def public_key_hex(self) -> str:
        return self.master.public_key_bytes.hex()

    def signing_keys(self) -> list[SigningKeyRead]:
        """Every tree-head key, oldest first (the last is current)."""
        return signing_key_reads(self.ring)

    def public_key_for(self, key_id: str) -> Ed25519PublicKey:
        """The tree-head key that signed a head or checkpoint of this id, current or retired
        (NotFound for a key that was never the museum's)."""
        return self.ring.public_key(key_id)

    def _refresh(self) -> None:
        last = self._ids[-1] if self._ids else -1
        for nid, leaf, mac, head_id in self.leaves.iterate_after(last):
            if not self.sealer.check(nid, leaf, mac, head_id):
                raise IntegrityViolation(
                    f"leaf of notification {nid} has a bad MAC", len(self._ids)
                )
            self._ids.append(nid)
            self._hashes.append(leaf)
            self._frontier.append(leaf)

    def size(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._ids)

    def sign_head(self) -> SignedTreeHead:
        """Sign the current tree; reuses the latest head when nothing was appended since."""
        with self._lock:
            self._refresh()
            size = len(self._hashes)
            latest = self.latest_head()
            if (
                latest is not None
                and latest.tree_size == size
                and latest.key_id == self.master.key_id
            ):
                return latest
            root_hash = self._frontier.root()
            timestamp_ms = int(time.time() * 1000)
            signature = self.master.signing_key.sign(head_message(size, timestamp_ms, root_hash))
            head_id = self.heads.add(size, root_hash, timestamp_ms, self.master.key_id, signature)
            if head_id is None:  # another process signed a larger tree meanwhile: that one covers
                newer = self.latest_head()
                if newer is None:
                    raise IntegrityViolation("the signed tree heads vanished while signing one")
                return newer
            return SignedTreeHead(
                size, root_hash, timestamp_ms, self.master.key_id, signature, head_id
            )

    def leaves_between(
        self, start: int, end: int, fresh: bool = True
    ) -> tuple[list[int], list[bytes]]:
        """Notification ids and leaf hashes of positions [start, end); fewer at the log's end.
        `fresh=False` skips reading new leaves: for positions already known to be held."""
        with self._lock:
            if fresh or len(self._ids) < end:
                self._refresh()
            return self._ids[start:end], self._hashes[start:end]

    def latest_head(self) -> SignedTreeHead | None:
        row = self.heads.latest()
        return None if row is None else SignedTreeHead.from_row(row)

    def head(self, head_id: int) -> SignedTreeHead:
        for row in self.heads.all():
            if row["head_id"] == head_id:
                return SignedTreeHead.from_row(row)
        raise NotFound(f"no signed tree head {head_id}")

    def receipt(self, notification_id: int) -> ReceiptRead:
        """Event bytes, inclusion path and a signed head that covers the event."""
        return self.receipts([notification_id])[0]

    def receipts(self, notification_ids: Sequence[int]) -> list[ReceiptRead]:
        """Receipts of many events under one signed head (the latest, or a new one when the
        latest does not cover them all), with the tree hashed once for all their paths."""
        if not notification_ids:
            return []
        head = self.latest_head()
        with self._lock:
            self._refresh()
            positions = [self._position(nid) for nid in notification_ids]
        if head is None or head.tree_size <= max(positions):
            head = self.sign_head()
        records = []
        for nid in notification_ids:
            record = self.records.at(nid)
            if record is None:
                raise NotFound(f"no event with notification id {nid} in the ledger")
            records.append(record)
        with self._lock:
            if len(positions) == 1:  # one path alone is cheaper without keeping every level
                paths = [merkle.inclusion_proof(self._hashes, positions[0], head.tree_size)]
            else:
                paths = merkle.inclusion_proofs(self._hashes, positions, head.tree_size)
        head_read = HeadRead(**head.as_dict())
        return [
            ReceiptRead(
                event=EventRead(**record_as_dict(record)),
                inclusion=InclusionRead(
                    leaf_index=position,
                    tree_size=head.tree_size,
                    path=[node.hex() for node in path],
                ),
                head=head_read,
                public_key=self.public_key_hex,
            )
            for record, position, path in zip(records, positions, paths, strict=True)
        ]

    def _position(self, notification_id: int) -> int:
        """The leaf index of an event (the lock is held and the leaves are fresh)."""
        position = bisect.bisect_left(self._ids, notification_id)
        if position == len(self._ids) or self._ids[position] != notification_id:
            raise NotFound(f"no event with notification id {notification_id} in the ledger")
        return position

    def receipt_for(self, originator_id: UUID, originator_version: int) -> ReceiptRead:
        if not 0 <= originator_version < 2**63:  # no stored version is outside 64 bits
            raise NotFound(f"no event {originator_id} v{originator_version} in the ledger")
        notification_id = self.records.notification_id(originator_id, originator_version)
        if notification_id is None:
            raise NotFound(f"no event {originator_id} v{originator_version} in the ledger")
        return self.receipt(notification_id)

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyRead:
        with self._lock:
            self._refresh()
            new_size = len(self._hashes) if new_size is None else new_size
            proof = merkle.consistency_proof(self._hashes, old_size, new_size)
            old_root, new_root = (
                merkle.root(self._hashes[:old_size]),
                merkle.root(self._hashes[:new_size]),
            )
        return ConsistencyRead(
            old_size=old_size,
            new_size=new_size,
            old_root=old_root.hex(),
            new_root=new_root.hex(),
            path=[node.hex() for node in proof],
        )

    def verify(self) -> VerificationReport:
        """Recompute every leaf from the stored records and every signed head from the leaves.

        Raises IntegrityViolation naming the first position that does not match: a changed,
        removed, inserted or reordered record, a leaf with a bad MAC, a bad signed head, a head
        missing from the sequence or attested by a later leaf, or a head an event embeds that
        the table does not hold. Collects the blob ids events refer to on the way.
        """
        began = time.perf_counter()
        heads = [SignedTreeHead.from_row(row) for row in self.heads.all()]
        check_head_sequence(heads, self.ring)
        self.ring.check_chain()
        rotations: list[tuple[int, bytes]] = []
        by_id = {head.head_id: head for head in heads}
        checkpoints: dict[int, list[SignedTreeHead]] = {}
        for head in heads:
            checkpoints.setdefault(head.tree_size, []).append(head)
        for head in checkpoints.pop(0, []):
            if head.root_hash != merkle.EMPTY_ROOT:
                raise IntegrityViolation(
                    f"tree head {head.head_id} of the empty log has a wrong root", 0
                )
        frontier = merkle.Frontier()
        leaves = self.leaves.iterate_after()
        position = 0
        check_mac = self.sealer.check
        attested = 0
        blob_refs: set[bytes] = set()
        embedded = 0
        every, must_cover = self.head_every_events, 0
        for record_id, originator_id, version, topic, state in self.records.iterate_after():
            leaf_row = next(leaves, None)
            try:
                computed = record_leaf(record_id, originator_id, version, topic, state)
            except (TypeError, ValueError, AttributeError, struct.error, OverflowError):
                raise IntegrityViolation(
                    f"position {position}: event {record_id} has columns of the wrong type",
                    position,
                ) from None
            if leaf_row is None:
                raise IntegrityViolation(
                    f"position {position}: event {record_id} has no sealed leaf "
                    "(forged, or written around the ledger)",
                    position,
                )
            nid, leaf, mac, head_id = leaf_row
            if not check_mac(nid, leaf, mac, head_id):
                raise IntegrityViolation(
                    f"position {position}: the leaf of event {nid} has a bad MAC", position
                )
            if nid != record_id:
                what = "missing" if nid < record_id else "inserted"
                raise IntegrityViolation(
                    f"position {position}: expected event {nid}, found event {record_id} "
                    f"(an event is {what})",
                    position,
                )
            if leaf != computed:
                raise IntegrityViolation(
                    f"position {position}: event {record_id} ({originator_text(originator_id)} "
                    f"v{version}) does not match its sealed leaf (changed or swapped)",
                    position,
                )
            if head_id != attested and head_id is not None:  # checked once per new head
                attested = check_attested(head_id, attested, by_id, position, nid)
            if every and nid % every == 0:
                must_cover = position + 1
            raw = state if type(state) is bytes else bytes(state)
            if BLOB_KEY in raw:
                blob_refs.update(BLOB_IDS.findall(raw))
            if b'"tree_head"' in raw:
                embedded += check_embedded_heads(raw, by_id, position, nid)
            if topic == ROTATED_TOPIC:
                rotations.append((nid, raw))
            frontier.append(leaf)
            position += 1
            for head in checkpoints.pop(position, []):
                check_head_key(head, self.ring, position - 1, nid)
                if frontier.root() != head.root_hash:
                    raise IntegrityViolation(
                        f"tree head {head.head_id} (size {head.tree_size}) does not match the log",
                        position - 1,
                    )
        extra = next(leaves, None)
        if extra is not None:
            raise IntegrityViolation(
                f"position {position}: sealed event {extra[0]} is missing from the store", position
            )
        if checkpoints:
            size = min(checkpoints)
            raise IntegrityViolation(
                f"signed tree head of size {size} covers more events than the store holds ({position}): "
                "events were removed",
                position,
            )
        check_rotations(self.ring, rotations)
        latest = heads[-1] if heads else None
        if must_cover and (latest is None or latest.tree_size < must_cover):
            raise IntegrityViolation(
                f"no signed tree head covers position {must_cover - 1}, whose notification id is "
                f"a multiple of {every} (a head is signed after each such event): the newest "
                "heads were deleted, or the writer stopped before signing",
                must_cover - 1,
            )
        return VerificationReport(
            position,
            len(heads),
            latest,
            time.perf_counter() - began,
            frozenset(ref.decode("ascii", "replace") for ref in blob_refs),
            attested,
            embedded,
            every,
        )


def record_as_dict(record: Record) -> dict[str, Any]:
    notification_id, originator_id, originator_version, topic, state = record
    return {
        "notification_id": notification_id,
        "originator_id": originator_text(originator_id),
        "originator_version": originator_version,
        "topic": topic,
        "state": base64.b64encode(bytes(state)).decode("ascii"),
    }
