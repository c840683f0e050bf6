"""Offline verification of a ledger receipt: no database, no museum code beyond pure hashing.

    from ledger.receipt import verify_receipt
    verify_receipt(receipt_json, trusted_public_key_hex)

A receipt holds the stored event bytes, the leaf's inclusion path and an Ed25519-signed tree
head. Verification (1) recomputes the leaf hash from the event bytes, (2) walks the path up to
the head's root (RFC 9162 section 2.1.3.2), and (3) checks the head's signature. Pass the public
key you obtained from the museum out of band; the copy inside the receipt is only a hint.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from ledger.errors import ProofError
from ledger.proof_parts import (
    EventPart,
    HeadPart,
    InclusionPart,
    Part,
    check_inclusion,
    event_leaf,
    event_state,
    head_signed_by,
    load_json,
    structure,
    trusted_key,
)

# A receipt is a few kilobytes; anything far larger is not one (and is not read whole).
MAX_RECEIPT_BYTES = 1 << 20


class _Receipt(Part):
    event: EventPart
    inclusion: InclusionPart
    head: HeadPart


def load_receipt(path: Path) -> Any:
    """The parsed JSON of a receipt file; FileProblem if it cannot be read or is not JSON text."""
    return load_json(path, MAX_RECEIPT_BYTES, "a receipt")


def verify_receipt(receipt: Mapping[str, Any] | msgspec.Struct, public_key_hex: str) -> None:
    """Raise ProofError unless the receipt's event is in the log under a validly signed head."""
    parts = structure(_Receipt, receipt, "receipt")
    public_key = trusted_key(public_key_hex)
    leaf = event_leaf(parts.event, event_state(parts.event, "receipt: event"), "receipt: event")
    check_inclusion(leaf, parts.inclusion, parts.head)
    if not head_signed_by(parts.head, public_key):
        raise ProofError("the tree head's signature does not verify under the trusted key")
