"""The pieces every offline verifier shares: a receipt (`ledger.receipt`) and an erasure
certificate (`ledger.certificate_check`) are JSON read from a file, checked field by field, and
proven by stored event bytes, inclusion paths and an Ed25519-signed tree head.

Nothing here opens a database: pure hashing, signatures and structure checks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledger.errors import FileProblem, ProofError
from ledger.log import head_message
from ledger.merkle import verify_inclusion
from ledger.sealing import record_leaf

Count = Annotated[int, Field(ge=0, le=2**63 - 1)]  # what the ledger's 64-bit columns hold
Hash = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
Signature = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{128}$")]
PartT = TypeVar("PartT", bound="Part")


class Part(BaseModel):
    """A strict, frozen piece of a proof document; unknown fields are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class EventPart(Part):
    notification_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    originator_id: str
    originator_version: Count
    topic: str
    state: str


class InclusionPart(Part):
    leaf_index: Count
    tree_size: Count
    path: Annotated[list[Hash], Field(max_length=64)]  # a tree of 2**63 leaves is 63 deep


class HeadPart(Part):
    tree_size: Count
    root_hash: Hash
    timestamp_ms: Count
    signature: Signature


def structure(model: type[PartT], document: object, what: str) -> PartT:
    """The document's fields, each of the right type and range, or ProofError naming the
    first field that is not. `document` is JSON read from a file, or a msgspec view."""
    if isinstance(document, msgspec.Struct):
        document = msgspec.to_builtins(document)
    if not isinstance(document, Mapping):
        raise ProofError(f"malformed {what}: expected a JSON object, got {type(document).__name__}")
    try:
        return model.model_validate(dict(document))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or what
        message = first["msg"][:1].lower() + first["msg"][1:]
        raise ProofError(f"malformed {what}: {where}: {message}") from None


def load_json(path: Path, limit: int, what: str) -> Any:
    """The parsed JSON of a file of at most `limit` bytes; FileProblem if it cannot be read,
    is too large or is not JSON text (the file is never read whole beyond the limit)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FileProblem(f"{path} is larger than {limit} bytes: not {what}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileProblem(f"{path} is not UTF-8 text (byte {exc.start}): not {what}") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise FileProblem(f"{path} nests too deeply to be {what}") from None
    except ValueError as exc:
        raise FileProblem(f"{path} is not JSON: {exc}") from None


def trusted_key(public_key_hex: str) -> Ed25519PublicKey:
    """The key the caller obtained out of band, or ProofError if it is not one."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    except ValueError:
        raise ProofError("the public key must be 32 bytes written as 64 hex digits") from None


def event_state(event: EventPart, where: str) -> bytes:
    """The stored state bytes, from their base64 text; `where` names the event's place in
    the document for the error ("receipt: event")."""
    try:
        return base64.b64decode(event.state, validate=True)
    except ValueError as exc:
        raise ProofError(f"malformed {where}: {exc}") from None


def event_leaf(event: EventPart, state: bytes, where: str) -> bytes:
    """The leaf hash of the event exactly as it was stored."""
    try:
        return record_leaf(
            event.notification_id, event.originator_id, event.originator_version, event.topic, state
        )
    except ValueError as exc:  # text that is not valid Unicode
        raise ProofError(f"malformed {where}: {exc}") from None


def check_inclusion(leaf: bytes, inclusion: InclusionPart, head: HeadPart) -> None:
    """The path leads from the leaf up to the root of the signed head (ProofError if not)."""
    if inclusion.tree_size != head.tree_size:
        raise ProofError("the inclusion path is for another tree size than the signed head")
    path = [bytes.fromhex(node) for node in inclusion.path]
    verify_inclusion(
        leaf, inclusion.leaf_index, head.tree_size, path, bytes.fromhex(head.root_hash)
    )


def head_signed_by(head: HeadPart, public_key: Ed25519PublicKey) -> bool:
    message = head_message(head.tree_size, head.timestamp_ms, bytes.fromhex(head.root_hash))
    try:
        public_key.verify(bytes.fromhex(head.signature), message)
    except InvalidSignature:
        return False
    return True
