"""Offline proofs in the c2sp.org/tlog-proof@v1 shape (a `.tlog-proof` file):

    c2sp.org/tlog-proof@v1
    extra <base64 of the entry: the event's stored record, `ledger.sealing.record_bytes`>
    index 73894
    <inclusion path, one base64 hash a line, leaf's sibling first>

    <the checkpoint, verbatim, with its cosignatures>

`extra` is not trusted as such: it is hashed into the leaf the path proves, so a changed entry
fails. A receipt and an erasure certificate each have one (the certificate's of the event that
records it). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import Checkpoint
from ledger.cosignature import CosignatureVerifier, open_cosigned
from ledger.errors import ProofError
from ledger.signed_note import NoteVerifier

HEADER = "c2sp.org/tlog-proof@v1"
MAX_PROOF_BYTES = 1 << 20
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class ProofBundle:
    index: int
    path: tuple[bytes, ...]
    checkpoint: str  # the signed note, verbatim
    extra: bytes | None = None

    def render(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode("ascii"))
        lines.append(f"index {self.index}")
        lines.extend(base64.b64encode(node).decode("ascii") for node in self.path)
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> ProofBundle:
        if len(text) > MAX_PROOF_BYTES:
            raise ProofError(f"a proof is at most {MAX_PROOF_BYTES} bytes")
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or lines[0] != HEADER:
            raise ProofError(f"not a {HEADER} proof")
        rest = lines[1:]
        extra = None
        if rest and rest[0].startswith("extra "):
            extra = _b64(rest.pop(0)[len("extra ") :], "extra data")
        match = _INDEX.fullmatch(rest.pop(0)) if rest else None
        if match is None:
            raise ProofError("a proof names its entry's index on the line `index N`")
        if len(rest) > 63:
            raise ProofError("an inclusion path is at most 63 hashes")
        path = tuple(_b64(line, "an inclusion path hash") for line in rest)
        if any(len(node) != 32 for node in path):
            raise ProofError("an inclusion path hash is 32 bytes")
        return cls(int(match.group(1)), path, checkpoint, extra)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ProofError(f"{what} is not base64") from None


@dataclass(frozen=True)
class VerifiedProof:
    index: int
    entry: bytes
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]


def verify_proof(
    text: str,
    log: NoteVerifier,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
    entry: bytes | None = None,
) -> VerifiedProof:
    """Check a proof: the log's signature, a quorum of trusted cosignatures, and the entry's
    inclusion at its index. `entry` is what the caller holds; default: the proof's `extra`."""
    bundle = ProofBundle.parse(text)
    cosigned = open_cosigned(bundle.checkpoint, log, witnesses, quorum)
    data = entry if entry is not None else bundle.extra
    if data is None:
        raise ProofError("the proof carries no entry and none was given to check it against")
    checkpoint = cosigned.checkpoint
    merkle.verify_inclusion(
        merkle.leaf_hash(data), bundle.index, checkpoint.size, bundle.path, checkpoint.root_hash
    )
    return VerifiedProof(bundle.index, data, checkpoint, cosigned.witnesses)
