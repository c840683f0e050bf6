"""Offline verification of a ledger receipt: no database, no museum code beyond pure hashing.

    from ledger.receipt import verify_receipt
    verify_receipt(receipt_json, trusted_public_key_hex)

A receipt holds the stored event bytes, the leaf's inclusion path and an Ed25519-signed tree
head. Verification (1) recomputes the leaf hash from the event bytes, (2) walks the path up to
the head's root (RFC 9162 section 2.1.3.2), and (3) checks the head's signature. Pass the public
key you obtained from the museum out of band; the copy inside the receipt is only a hint.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.errors import FileProblem, ProofError
from ledger.log import head_message
from ledger.merkle import verify_inclusion
from ledger.sealing import record_leaf

# A receipt is a few kilobytes; anything far larger is not one (and is not read whole).
MAX_RECEIPT_BYTES = 1 << 20

_Count = Annotated[int, Field(ge=0, le=2**63 - 1)]  # what the ledger's 64-bit columns hold
_Hash = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]


class _Part(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Event(_Part):
    notification_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    originator_id: str
    originator_version: _Count
    topic: str
    state: str


class _Inclusion(_Part):
    leaf_index: _Count
    tree_size: _Count
    path: Annotated[list[_Hash], Field(max_length=64)]  # a tree of 2**63 leaves is 63 deep


class _Head(_Part):
    tree_size: _Count
    root_hash: _Hash
    timestamp_ms: _Count
    signature: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{128}$")]


class _Receipt(_Part):
    event: _Event
    inclusion: _Inclusion
    head: _Head


def _structure(receipt: object) -> _Receipt:
    """The receipt's fields, each of the right type and range, or ProofError naming the field.

    A receipt is JSON read from a file, or the ledger's own `ReceiptRead` (a msgspec Struct)."""
    if isinstance(receipt, msgspec.Struct):
        receipt = msgspec.to_builtins(receipt)
    if not isinstance(receipt, Mapping):
        raise ProofError(f"malformed receipt: expected a JSON object, got {type(receipt).__name__}")
    try:
        return _Receipt.model_validate(dict(receipt))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "receipt"
        message = first["msg"][:1].lower() + first["msg"][1:]
        raise ProofError(f"malformed receipt: {where}: {message}") from None


def load_receipt(path: Path) -> Any:
    """The parsed JSON of a receipt file; FileProblem if it cannot be read or is not JSON text."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_RECEIPT_BYTES + 1)
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_RECEIPT_BYTES:
        raise FileProblem(f"{path} is larger than {MAX_RECEIPT_BYTES} bytes: not a receipt")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{path} is not UTF-8 text (byte {exc.start}): not a receipt") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise FileProblem(f"{path} nests too deeply to be a receipt") from None
    except ValueError as exc:
        raise FileProblem(f"{path} is not JSON: {exc}") from None


def verify_receipt(receipt: Mapping[str, Any] | msgspec.Struct, public_key_hex: str) -> None:
    """Raise ProofError unless the receipt's event is in the log under a validly signed head."""
    parts = _structure(receipt)
    event, inclusion, head = parts.event, parts.inclusion, parts.head
    try:
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    except ValueError:
        raise ProofError("the public key must be 32 bytes written as 64 hex digits") from None
    try:
        state = base64.b64decode(event.state, validate=True)
        leaf = record_leaf(
            event.notification_id,
            event.originator_id,
            event.originator_version,
            event.topic,
            state,
        )
    except ValueError as exc:  # not base64, or text that is not valid Unicode
        raise ProofError(f"malformed receipt: event: {exc}") from None
    size = head.tree_size
    if inclusion.tree_size != size:
        raise ProofError("the inclusion path is for another tree size than the signed head")
    root_hash = bytes.fromhex(head.root_hash)
    path = [bytes.fromhex(node) for node in inclusion.path]
    verify_inclusion(leaf, inclusion.leaf_index, size, path, root_hash)
    try:
        public_key.verify(
            bytes.fromhex(head.signature), head_message(size, head.timestamp_ms, root_hash)
        )
    except InvalidSignature:
        raise ProofError(
            "the tree head's signature does not verify under the trusted key"
        ) from None
