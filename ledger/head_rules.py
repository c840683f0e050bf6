"""Rules over the signed tree heads that make a deleted or replaced head visible to `verify`.

Heads form a sequence (ids 1, 2, 3, … and sizes that never shrink); every leaf written since
migration 0003 attests, under its MAC, the latest head that existed when its event was written;
and a head an event embeds (an erasure certificate's `tree_head`) must be in the table as signed.
Deleting the newest head with no event after it is indistinguishable from tail truncation: a
receipt, a head or a certificate handed out earlier proves it (`verify --against`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ledger.errors import IntegrityViolation, ProofError
from ledger.key_ring import KeyRing

if TYPE_CHECKING:
    from ledger.log import SignedTreeHead

BLOB_KEY = b'"blob_id":"'  # how the JSON transcoder writes a blob reference (no spaces)
BLOB_IDS = re.compile(re.escape(BLOB_KEY) + rb'([^"]{1,128})"')  # the ids, without copying states


def check_head_sequence(heads: list[SignedTreeHead], ring: KeyRing) -> None:
    """Signatures by one of the museum's keys (current or retired), ids contiguous from 1,
    sizes never shrinking."""
    previous: SignedTreeHead | None = None
    for expected_id, head in enumerate(heads, start=1):
        signer = ring.find(head.key_id)
        if signer is None:
            raise IntegrityViolation(
                f"tree head {head.head_id} was signed by unknown key {head.key_id}"
            )
        try:
            head.verify(signer.verifying_key)
        except ProofError as exc:
            raise IntegrityViolation(str(exc)) from None
        if head.head_id != expected_id:
            missing = (
                f"{expected_id}"
                if head.head_id == expected_id + 1
                else f"{expected_id}–{(head.head_id or 0) - 1}"
            )
            raise IntegrityViolation(
                f"signed tree head {missing} is missing from the sequence "
                f"(found head {head.head_id} next): heads were deleted"
            )
        if previous is not None and head.tree_size < previous.tree_size:
            raise IntegrityViolation(
                f"tree head {head.head_id} (size {head.tree_size}) is smaller than the head "
                f"before it ({previous.head_id}, size {previous.tree_size}): heads out of order"
            )
        previous = head


def check_head_key(head: SignedTreeHead, ring: KeyRing, position: int, nid: int) -> None:
    """A head is signed by the key generation that sealed the last event it covers: a retired
    key cannot sign past its rotation, and a new key takes over from the rotation on."""
    signer = ring.find(head.key_id)
    sealed_by = ring.generation_at(nid)
    if signer is not None and signer.generation != sealed_by:
        raise IntegrityViolation(
            f"tree head {head.head_id} (size {head.tree_size}) is signed by the key of "
            f"generation {signer.generation}, but its last event ({nid}) was sealed under "
            f"generation {sealed_by}",
            position,
        )


def check_rotations(ring: KeyRing, rotations: list[tuple[int, bytes]]) -> None:
    """One `KeysRotated` event per rotation, carrying the ring's statement and signatures, among
    the first events of its generation (`rotations`: notification id and stored state)."""
    recorded: dict[int, tuple[int, dict[str, Any]]] = {}
    for nid, state in rotations:
        try:
            body = json.loads(state)
            number = int(body["generation"])
        except (ValueError, KeyError, TypeError):
            raise IntegrityViolation(
                f"event {nid} records a key rotation it does not name"
            ) from None
        recorded[number] = (nid, body)
    for generation in ring.generations[1:]:
        found = recorded.pop(generation.generation, None)
        where = f"the rotation to key generation {generation.generation}"
        if found is None:
            raise IntegrityViolation(f"{where} has no KeysRotated event in the log")
        nid, body = found
        if ring.generation_at(nid) != generation.generation:
            raise IntegrityViolation(
                f"{where} is recorded by event {nid}, outside the events its keys sealed"
            )
        same = (
            generation.statement is not None
            and body.get("statement") == generation.statement.decode()
            and body.get("old_signature") == (generation.old_signature or b"").hex()
            and body.get("new_signature") == (generation.new_signature or b"").hex()
        )
        if not same:
            raise IntegrityViolation(
                f"{where}: event {nid} records another statement than the key ring holds"
            )
    if recorded:
        stray = min(recorded)
        raise IntegrityViolation(
            f"event {recorded[stray][0]} records a rotation to key generation {stray}, "
            "which the key ring does not hold"
        )


def check_attested(
    head_id: int,
    previous: int,
    heads: Mapping[int | None, SignedTreeHead],
    position: int,
    nid: int,
) -> int:
    """One leaf's attested head: present, older than the leaf, not behind an earlier leaf's."""
    if head_id < previous:
        raise IntegrityViolation(
            f"position {position}: event {nid} attests tree head {head_id}, older than head "
            f"{previous} attested by an earlier event (leaves reordered or heads renumbered)",
            position,
        )
    if head_id:
        head = heads.get(head_id)
        if head is None:
            raise IntegrityViolation(
                f"position {position}: event {nid} was written after signed tree head "
                f"{head_id}, which is missing: heads were deleted",
                position,
            )
        if head.tree_size > position:
            raise IntegrityViolation(
                f"position {position}: event {nid} was written after tree head {head_id}, but "
                f"that head covers {head.tree_size} events: the head was replaced",
                position,
            )
    return head_id


def _tree_heads(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "tree_head" and isinstance(item, dict):
                yield item
            else:
                yield from _tree_heads(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tree_heads(item)


def check_embedded_heads(
    state: bytes, heads: Mapping[int | None, SignedTreeHead], position: int, nid: int
) -> int:
    """Every head an event quotes is in the table with the same size, root and signature."""
    try:
        document = json.loads(state)
    except ValueError:
        return 0  # a state that is not JSON is already reported by its leaf
    count = 0
    for quoted in _tree_heads(document):
        head = heads.get(quoted.get("head_id"))
        if head is None:
            raise IntegrityViolation(
                f"position {position}: event {nid} quotes signed tree head "
                f"{quoted.get('head_id')}, which is missing from the heads table",
                position,
            )
        same = (
            quoted.get("tree_size") == head.tree_size
            and quoted.get("root_hash") == head.root_hash.hex()
            and quoted.get("signature") == head.signature.hex()
        )
        if not same:
            raise IntegrityViolation(
                f"position {position}: event {nid} quotes tree head {head.head_id}, but the "
                "stored head differs from it (size, root or signature changed)",
                position,
            )
        count += 1
    return count
