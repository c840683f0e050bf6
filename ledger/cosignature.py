"""Witness cosignatures (c2sp.org/tlog-cosignature, `cosignature/v1`, type 0x04).

A cosignature says: as of this time, the largest consistent tree this witness has seen for the
log has this root. Its signature is 8 bytes of big-endian POSIX time then an Ed25519 signature
over `cosignature/v1\\ntime T\\n` followed by the checkpoint's note text. A proof can then ask
for a quorum of known witnesses, so one split view shown to us alone is caught. Pure: no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import ProofError
from ledger.signed_note import (
    COSIGNATURE_V1,
    NoteSignature,
    NoteVerifier,
    check_name,
    key_id,
    parse_verifier_key,
    raw_public_key,
    verifier_key,
)

MAX_TIMESTAMP = 2**63 - 1


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a v1 cosignature covers: the header and time lines, then the note text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


class Cosigner:
    """A witness's signing half: its name and its own Ed25519 key (never the log's)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = check_name(name)
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(name, COSIGNATURE_V1, raw_public_key(self.public_key))

    def cosign(self, text: str, timestamp: int) -> NoteSignature:
        if not 0 <= timestamp <= MAX_TIMESTAMP:
            raise ProofError(f"cosignature time {timestamp} is outside 0..2^63-1")
        signature = self._private_key.sign(cosigned_message(text, timestamp))
        return NoteSignature(self.name, self.key_id, struct.pack(">Q", timestamp) + signature)

    def verifier_key(self) -> str:
        return verifier_key(self.name, self.public_key, COSIGNATURE_V1)


@dataclass(frozen=True)
class CosignatureVerifier:
    """A trusted witness: name and public key, as its vkey (`name+id+base64(0x04||key)`)."""

    name: str
    public_key: Ed25519PublicKey

    @classmethod
    def from_key(cls, vkey: str) -> CosignatureVerifier:
        return cls(*parse_verifier_key(vkey, COSIGNATURE_V1))

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, COSIGNATURE_V1, raw_public_key(self.public_key))

    def matches(self, sig: NoteSignature) -> bool:
        return sig.name == self.name and sig.key_id == self.key_id

    def timestamp(self, text: str, sig: NoteSignature) -> int | None:
        """The cosignature's time when it verifies over `text`, else None."""
        if len(sig.signature) != 8 + 64:
            return None
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        if timestamp > MAX_TIMESTAMP:
            return None
        try:
            self.public_key.verify(sig.signature[8:], cosigned_message(text, timestamp))
        except InvalidSignature:
            return None
        return int(timestamp)


@dataclass(frozen=True)
class CosignedCheckpoint:
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]  # names of the trusted witnesses whose cosignature verified


def open_cosigned(
    note: str | bytes,
    log: NoteVerifier,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
) -> CosignedCheckpoint:
    """Verify the log's signature, then at least `quorum` cosignatures of distinct trusted
    witnesses; signatures of unknown keys are ignored, a known one that fails is refused."""
    if quorum > len(witnesses):
        raise ProofError(f"a quorum of {quorum} needs at least {quorum} trusted witnesses")
    checkpoint, parsed = open_checkpoint(note, log)
    seen: list[str] = []
    for witness in witnesses:
        for sig in parsed.signatures:
            if witness.matches(sig):
                if witness.timestamp(parsed.text, sig) is None:
                    raise ProofError(f"the cosignature of witness {witness.name} does not verify")
                if witness.name not in seen:
                    seen.append(witness.name)
    if len(seen) < quorum:
        raise ProofError(
            f"{len(seen)} trusted witness(es) cosigned this checkpoint, {quorum} required"
        )
    return CosignedCheckpoint(checkpoint, tuple(seen))
