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
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import ProofError
from ledger.log import head_message
from ledger.merkle import verify_inclusion
from ledger.sealing import record_leaf


def verify_receipt(receipt: Mapping[str, Any], public_key_hex: str) -> None:
    """Raise ProofError unless the receipt's event is in the log under a validly signed head."""
    try:
        event, inclusion, head = receipt["event"], receipt["inclusion"], receipt["head"]
        leaf = record_leaf(
            int(event["notification_id"]),
            str(event["originator_id"]),
            int(event["originator_version"]),
            str(event["topic"]),
            base64.b64decode(event["state"]),
        )
        root_hash = bytes.fromhex(head["root_hash"])
        size = int(head["tree_size"])
        path = [bytes.fromhex(node) for node in inclusion["path"]]
        index = int(inclusion["leaf_index"])
        signature = bytes.fromhex(head["signature"])
        timestamp_ms = int(head["timestamp_ms"])
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"malformed receipt: {exc}") from None
    if int(inclusion["tree_size"]) != size:
        raise ProofError("the inclusion path is for another tree size than the signed head")
    verify_inclusion(leaf, index, size, path, root_hash)
    try:
        public_key.verify(signature, head_message(size, timestamp_ms, root_hash))
    except InvalidSignature:
        raise ProofError(
            "the tree head's signature does not verify under the trusted key"
        ) from None
