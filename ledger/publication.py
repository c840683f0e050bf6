"""The log in the ecosystem's formats: its checkpoint with the witnesses' cosignatures, and
offline proofs (c2sp.org/tlog-proof) of one event.

The checkpoint of a signed head is re-rendered on demand (Ed25519 signatures are
deterministic); the cosignatures witnesses returned for a tree size are kept in
`checkpoint_cosignatures` and appended to the checkpoint of that size.
"""

from __future__ import annotations

import bisect
import time
from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger import merkle
from ledger.checkpoint import Checkpoint, CheckpointSigner
from ledger.errors import IntegrityViolation, NotFound, ProofError
from ledger.log import VerifiableLog
from ledger.proof_bundle import ProofBundle
from ledger.sealing import record_bytes
from ledger.signed_note import NoteSignature, SignedNote
from ledger.tables import checkpoint_cosignatures as table

if TYPE_CHECKING:
    from ledger.application import MuseumLedger


class CosignatureTable:
    """Cosignatures by tree size; one per witness key and size, the first kept."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, checkpoint: Checkpoint, signature: NoteSignature) -> None:
        """Keep a verified cosignature; one already kept for that size and key stays."""
        try:
            with self.engine.begin() as c:
                c.execute(
                    table.insert().values(
                        tree_size=checkpoint.size,
                        witness=signature.name,
                        key_id=signature.key_id,
                        root_hash=checkpoint.root_hash,
                        signature=signature.signature,
                        received_at_ms=int(time.time() * 1000),
                    )
                )
        except sa.exc.IntegrityError:
            return  # the same witness key cosigned this size before (or a process just did)

    def of(self, checkpoint: Checkpoint) -> list[NoteSignature]:
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(table.c.witness, table.c.key_id, table.c.signature)
                .where(table.c.tree_size == checkpoint.size)
                .where(table.c.root_hash == checkpoint.root_hash)
                .order_by(table.c.witness, table.c.key_id)
            ).all()
        return [NoteSignature(str(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]

    def latest_size_by(self, witness: str) -> int | None:
        """The largest tree size `witness` cosigned for us, or None."""
        with self.engine.connect() as c:
            size = c.execute(
                sa.select(sa.func.max(table.c.tree_size)).where(table.c.witness == witness)
            ).scalar()
        return None if size is None else int(size)

    def latest_size(self) -> int | None:
        with self.engine.connect() as c:
            size = c.execute(sa.select(sa.func.max(table.c.tree_size))).scalar()
        return None if size is None else int(size)


class LogPublication:
    """Checkpoints, cosignatures and proof bundles of one log under one checkpoint signer."""

    def __init__(
        self, log: VerifiableLog, signer: CheckpointSigner, cosignatures: CosignatureTable
    ) -> None:
        self.log = log
        self.signer = signer
        self.cosignatures = cosignatures

    @property
    def origin(self) -> str:
        return self.signer.origin

    def checkpoint(self, size: int | None = None) -> SignedNote:
        """The checkpoint of the tree of `size` (default: a head over everything, signed now
        if anything is new) with every cosignature collected for it."""
        if size is None:
            head = self.log.sign_head()
            size, root_hash = head.tree_size, head.root_hash
        else:
            root_hash = self.root(size)
        signed = self.signer.sign(size, root_hash)
        return signed.with_signatures(
            self.cosignatures.of(Checkpoint(self.origin, size, root_hash))
        )

    def root(self, size: int) -> bytes:
        if not 0 <= size <= self.log.size():
            raise ProofError(f"the log has no tree of size {size}")
        _, hashes = self.log.leaves_between(0, size)
        return merkle.root(hashes)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        proof = self.log.consistency(old_size, new_size)
        return [bytes.fromhex(node) for node in proof.path]

    def record_cosignature(self, checkpoint: Checkpoint, signature: NoteSignature) -> None:
        if checkpoint.origin != self.origin or self.root(checkpoint.size) != checkpoint.root_hash:
            raise ProofError("a cosignature for a checkpoint this log did not sign")
        self.cosignatures.add(checkpoint, signature)

    def proof_bundle_of(self, originator_id: UUID, version: int) -> ProofBundle:
        """The offline proof of an aggregate's event (an artist's `ErasureCompleted`, which
        holds the erasure certificate)."""
        notification_id = self.log.records.notification_id(originator_id, version)
        if notification_id is None:
            raise NotFound(f"no event {originator_id} v{version} in the ledger")
        return self.proof_bundle(notification_id)

    def proof_bundle(self, notification_id: int) -> ProofBundle:
        """An offline proof of one event: its entry (as `extra`), index, inclusion path and
        the checkpoint — the latest cosigned one that covers it, else one over everything."""
        ids, _ = self.log.leaves_between(0, self.log.size())
        position = bisect.bisect_left(ids, notification_id)
        if position == len(ids) or ids[position] != notification_id:
            raise NotFound(f"no event with notification id {notification_id} in the ledger")
        cosigned = self.cosignatures.latest_size()
        size = cosigned if cosigned is not None and cosigned > position else None
        note = self.checkpoint(size)
        tree_size = Checkpoint.parse(note.text).size
        _, hashes = self.log.leaves_between(0, tree_size)
        record = self.log.records.at(notification_id)
        if record is None:
            raise IntegrityViolation(f"event {notification_id} is sealed but not stored", position)
        return ProofBundle(
            index=position,
            path=tuple(merkle.inclusion_proof(hashes, position, tree_size)),
            checkpoint=note.render(),
            extra=record_bytes(*record),
        )


def log_publication(ledger: MuseumLedger, origin: str) -> LogPublication:
    """The ledger's log under `origin`, its checkpoints signed with the tree-head key."""
    signer = CheckpointSigner(origin, ledger.master.signing_key)
    return LogPublication(ledger.integrity, signer, CosignatureTable(ledger.engine))
