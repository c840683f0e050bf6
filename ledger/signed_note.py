"""C2SP signed notes (c2sp.org/signed-note): text, a blank line, then `— name base64` lines.

The ecosystem's tools (monitors, witnesses, `golang.org/x/mod/sumdb/note`) read our tree heads
only if the bytes are exactly these: a key id of SHA-256(name || 0x0A || type || public key)[:4],
a signature of 4 + n bytes, the text ending in a newline. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import ProofError

ED25519 = 0x01  # signature type of a plain Ed25519 note signature
COSIGNATURE_V1 = 0x04  # timestamped Ed25519 witness cosignature (c2sp.org/tlog-cosignature)
DASH = "\u2014"
# The spec asks verifiers to accept at least 16 signatures; Go's note package stops at 100.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 1 << 16
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_NAME = re.compile(r"[^\s+]+")


def key_id(name: str, signature_type: int, public_key: bytes) -> bytes:
    """The 4-byte key id of a key: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key).digest()[:4]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_name(name: str) -> str:
    """A key name: non-empty, no Unicode spaces, no plus (the spec's only rule)."""
    if not _NAME.fullmatch(name):
        raise ProofError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH} {self.name} {encoded}\n"


@dataclass(frozen=True)
class SignedNote:
    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(sig.line() for sig in self.signatures)

    def with_signatures(self, extra: Iterable[NoteSignature]) -> SignedNote:
        """This note with more signatures; one already present (same line) is not repeated."""
        merged = list(self.signatures)
        for sig in extra:
            if sig not in merged:
                merged.append(sig)
        return SignedNote(self.text, tuple(merged))


def parse_note(note: str | bytes) -> SignedNote:
    """Split a signed note into its text and signatures; ProofError if it is malformed.

    The text is everything up to the last blank line (it keeps its final newline); every line
    after it must be a signature line. Nothing is verified here.
    """
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise ProofError(f"a signed note is at most {MAX_NOTE_BYTES} bytes")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise ProofError("a signed note must be UTF-8") from None
    if _CONTROL.search(note):
        raise ProofError("a signed note must not hold control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ProofError("a signed note needs a text, a blank line and signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise ProofError("a signed note has no signature")
    if len(lines) > MAX_SIGNATURES:
        raise ProofError(f"a signed note holds at most {MAX_SIGNATURES} signatures")
    return SignedNote(text, tuple(_signature(line) for line in lines))


def _signature(line: str) -> NoteSignature:
    dash, _, rest = line.partition(" ")
    name, _, encoded = rest.partition(" ")
    if dash != DASH or not _NAME.fullmatch(name) or not encoded or " " in encoded:
        raise ProofError(f"malformed signature line {line[:80]!r}")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ProofError(f"the signature of {name} is not base64") from None
    if len(raw) < 5:
        raise ProofError(f"the signature of {name} is too short")
    return NoteSignature(name, raw[:4], raw[4:])


class Ed25519NoteSigner:
    """Signs note texts with an Ed25519 key under a name (signature type 0x01)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = check_name(name)
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(name, ED25519, raw_public_key(self.public_key))

    def sign(self, text: str) -> NoteSignature:
        if not text.endswith("\n"):
            raise ProofError("a note text ends in a newline")
        return NoteSignature(self.name, self.key_id, self._private_key.sign(text.encode()))

    def verifier_key(self) -> str:
        """The key as `golang.org/x/mod/sumdb/note` writes it: name+hex id+base64(type||key)."""
        return verifier_key(self.name, self.public_key)


def verifier_key(name: str, public_key: Ed25519PublicKey, signature_type: int = ED25519) -> str:
    """`name+hex8+base64(type || key)`, the vkey format of Go's note package and C2SP."""
    raw = raw_public_key(public_key)
    encoded = base64.b64encode(bytes([signature_type]) + raw).decode("ascii")
    return f"{name}+{key_id(name, signature_type, raw).hex()}+{encoded}"


def parse_verifier_key(vkey: str, signature_type: int) -> tuple[str, Ed25519PublicKey]:
    """The name and Ed25519 key of a vkey of that type; ProofError unless it is exactly one."""
    name, _, rest = vkey.strip().partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise ProofError(f"verifier key {vkey[:60]!r} is malformed") from None
    if not _NAME.fullmatch(name) or len(raw) != 33 or raw[0] != signature_type:
        raise ProofError(f"verifier key {vkey[:60]!r} is not a key of type {signature_type:#04x}")
    if len(claimed) != 4 or key_id(name, signature_type, raw[1:]) != claimed:
        raise ProofError(f"verifier key {vkey[:60]!r} has the wrong key id")
    return name, Ed25519PublicKey.from_public_bytes(raw[1:])


@dataclass(frozen=True)
class NoteVerifier:
    """A trusted Ed25519 note key: its name and public key."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, ED25519, raw_public_key(self.public_key))

    @classmethod
    def from_key(cls, vkey: str) -> NoteVerifier:
        """Parse `name+hex8+base64(0x01 || 32-byte key)`; ProofError if it is not one."""
        name, public_key = parse_verifier_key(vkey, ED25519)
        return cls(name, public_key)

    def matches(self, sig: NoteSignature) -> bool:
        return sig.name == self.name and sig.key_id == self.key_id

    def verify(self, text: str, sig: NoteSignature) -> bool:
        try:
            self.public_key.verify(sig.signature, text.encode())
        except InvalidSignature:
            return False
        return True


def open_note(note: str | bytes, verifier: NoteVerifier) -> SignedNote:
    """The parsed note when `verifier`'s key signed it; signatures of other keys are ignored.

    ProofError when no signature is by that key, or when one by that key does not verify.
    """
    parsed = parse_note(note)
    mine = [sig for sig in parsed.signatures if verifier.matches(sig)]
    if not mine:
        raise ProofError(f"the note carries no signature by {verifier.name}")
    for sig in mine:
        if not verifier.verify(parsed.text, sig):
            raise ProofError(f"the signature by {verifier.name} does not verify")
    return parsed
