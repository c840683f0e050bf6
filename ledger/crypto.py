"""Keys of the museum: one master key, keys derived from it, and a data key per artist.

Crypto-shredding rests on this: every personal byte is sealed with its artist's data key, the data
key is stored only wrapped by the master key (in the key vault, outside the ledger), and destroying
that one wrapped key makes the artist's bytes unrecoverable while every event stays in place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import ConfigurationError, LedgerError

KEY_BYTES = 32
NONCE_BYTES = 12


class SealBroken(LedgerError):
    """Ciphertext failed authentication: wrong key, wrong context, or tampered bytes."""


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=f"failure-museum/{purpose}/v1".encode(),
    ).derive(master)


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """AES-256-GCM with a random nonce; `context` binds the ciphertext to its owner and field."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except (InvalidTag, ValueError) as exc:
        raise SealBroken("sealed bytes do not authenticate under this key and context") from exc


def seal_text(key: bytes, text: str, context: bytes) -> str:
    return base64.b64encode(seal(key, text.encode(), context)).decode("ascii")


def unseal_text(key: bytes, sealed: str, context: bytes) -> str:
    return unseal(key, base64.b64decode(sealed), context).decode()


def field_context(owner: UUID, field: str) -> bytes:
    """The associated data of a sealed field: its owner's id, then the field's name below."""
    return owner.bytes + b"/" + field.encode()


# The field names that, with the owner's id (`field_context`), bind each ciphertext to what it
# is. Written only here: a copy that drifts by one character makes stored data undecryptable,
# so these strings never change (tests/test_sealing_contexts.py pins each one).
PSEUDONYM_CONTEXT = "pseudonym"
IDENTITY_CONTEXT = "identity"
ERASURE_REASON_CONTEXT = "erasure/reason"


def label_context(donation_id: UUID) -> str:
    """The field of a donation's sealed museum label."""
    return f"donation/{donation_id}/label"


def stage_caption_context(donation_id: UUID, index: int) -> str:
    """The field of the caption of a donation's stage `index`."""
    return f"donation/{donation_id}/stage/{index}/caption"


def stage_image_context(donation_id: UUID, index: int) -> str:
    """The field of the sealed image bytes of a donation's stage `index`."""
    return f"donation/{donation_id}/stage/{index}/image"


@dataclass(frozen=True)
class DataKey:
    """An artist's data key. Lives in memory only; stored wrapped."""

    artist_id: UUID
    secret: bytes

    def seal_text(self, text: str, field: str) -> str:
        return seal_text(self.secret, text, field_context(self.artist_id, field))

    def unseal_text(self, sealed: str, field: str) -> str:
        return unseal_text(self.secret, sealed, field_context(self.artist_id, field))

    def seal_bytes(self, data: bytes, field: str) -> bytes:
        return seal(self.secret, data, field_context(self.artist_id, field))

    def unseal_bytes(self, sealed: bytes, field: str) -> bytes:
        return unseal(self.secret, sealed, field_context(self.artist_id, field))

    def fingerprint(self, data: bytes) -> str:
        """Keyed content hash: finds duplicates without a public fingerprint of the image."""
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


class MasterKey:
    """The one secret the operator keeps. Everything else is derived or wrapped by it."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise ConfigurationError(f"the master key must be {KEY_BYTES} bytes, got {len(secret)}")
        self._wrap_key = _derive(secret, "data-key-wrap")
        self.leaf_mac_key = _derive(secret, "leaf-mac")
        self.index_key = _derive(secret, "pseudonym-index")
        # What the web pages sign their forms' CSRF tokens with: the same in every server process.
        self.web_forms_key = _derive(secret, "web-forms")
        # What the content-credentials signing keys are encrypted with on disk.
        self.credentials_file_key = _derive(secret, "content-credentials-key-file")
        self.signing_key = Ed25519PrivateKey.from_private_bytes(
            _derive(secret, "tree-head-signing")
        )

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """Accept the key as base64 (44 chars) or hex (64 chars)."""
        text = text.strip()
        try:
            raw = (
                bytes.fromhex(text)
                if len(text) == 2 * KEY_BYTES
                else base64.b64decode(text, validate=True)
            )
        except ValueError as exc:
            raise ConfigurationError("the master key must be 32 bytes as base64 or hex") from exc
        return cls(raw)

    @staticmethod
    def generate_text() -> str:
        return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    @property
    def public_key_bytes(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.public_key_bytes).hexdigest()[:16]

    def new_data_key(self, artist_id: UUID) -> tuple[DataKey, bytes]:
        """A fresh data key and its wrapped form (the only form that is ever stored)."""
        secret = os.urandom(KEY_BYTES)
        return DataKey(artist_id, secret), seal(self._wrap_key, secret, artist_id.bytes)

    def unwrap(self, artist_id: UUID, wrapped: bytes) -> DataKey:
        return DataKey(artist_id, unseal(self._wrap_key, wrapped, artist_id.bytes))

    def rewrap(self, artist_id: UUID, wrapped: bytes, new: MasterKey) -> bytes:
        """The same data key wrapped by `new` instead: the key itself never changes, so nothing
        sealed with it is re-encrypted (key rotation)."""
        return seal(
            new._wrap_key, unseal(self._wrap_key, wrapped, artist_id.bytes), artist_id.bytes
        )

    def wrap_secret(self, secret: bytes, context: bytes) -> bytes:
        """Wrap a key of an earlier key generation (the key ring keeps them only so)."""
        return seal(self._wrap_key, secret, context)

    def unwrap_secret(self, wrapped: bytes, context: bytes) -> bytes:
        return unseal(self._wrap_key, wrapped, context)

    def index_token(self, text: str) -> str:
        """Keyed token for uniqueness indexes, so no plaintext name becomes an aggregate id."""
        return index_token(self.index_key, text)


def index_token(key: bytes, text: str) -> str:
    """The uniqueness token of `text` under one generation's index key."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
