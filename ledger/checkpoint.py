"""C2SP checkpoints (c2sp.org/tlog-checkpoint): a tree head as a signed note.

    museum.example/ledger
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

    — museum.example/ledger Az3grlgt…

The log signs with its Ed25519 tree-head key under a key name equal to the origin. Ed25519 is
deterministic, so the checkpoint of a signed head is the same bytes whenever it is rendered: no
second store of signatures. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import ProofError
from ledger.signed_note import Ed25519NoteSigner, NoteVerifier, SignedNote, check_name, open_note

_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
MAX_SIZE = 2**63 - 1


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root_hash: bytes

    def body(self) -> str:
        """The note text: origin, size and base64 root, each on its line."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The three lines of a checkpoint's note text (extension lines are allowed, unread)."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise ProofError(
                "a checkpoint is three or more non-empty lines, each ending in newline"
            )
        origin, size, root = lines[0], lines[1], lines[2]
        if not _SIZE.fullmatch(size) or int(size) > MAX_SIZE:
            raise ProofError(
                f"checkpoint size {size[:30]!r} is not a decimal without leading zeros"
            )
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise ProofError("the checkpoint's root hash is not base64") from None
        if len(root_hash) != 32:
            raise ProofError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size), root_hash)


class CheckpointSigner:
    """The log's checkpoint signer: its origin and the Ed25519 private key of its tree heads.

    The one place a checkpoint gets its log signature; a key rotation hands a new private key
    here (the key name stays the origin, the key id changes with the key).
    """

    def __init__(self, origin: str, private_key: Ed25519PrivateKey) -> None:
        self.origin = check_name(origin)
        self._signer = Ed25519NoteSigner(origin, private_key)

    @property
    def key_id(self) -> bytes:
        return self._signer.key_id

    def verifier_key(self) -> str:
        return self._signer.verifier_key()

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.origin, self._signer.public_key)

    def sign(self, size: int, root_hash: bytes) -> SignedNote:
        checkpoint = Checkpoint(self.origin, size, root_hash)
        text = checkpoint.body()
        return SignedNote(text, (self._signer.sign(text),))


def open_checkpoint(note: str | bytes, log: NoteVerifier) -> tuple[Checkpoint, SignedNote]:
    """Verify the log's signature and read the checkpoint; its origin must be the key's name."""
    parsed = open_note(note, log)
    checkpoint = Checkpoint.parse(parsed.text)
    if checkpoint.origin != log.name:
        raise ProofError(f"the checkpoint's origin {checkpoint.origin!r} is not {log.name!r}")
    return checkpoint, parsed
