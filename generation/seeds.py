"""Seeds: a user's seed checked (`ledger.validation.seed`) and (seed, stream, index) derived.

Hashing rather than adding keeps streams apart (seed 1 index 0 never equals seed 0 index 1), so
noise for training items, noise for queries and projection chunks never share random numbers.
Torch-free, so the model, the attribution layer above it and every bench harness share it.
"""

from __future__ import annotations

import hashlib

# The check lives in the ledger, below the demo collection that needs it too.
from ledger.validation import seed as check_seed

__all__ = ["check_seed", "derived_seed"]


def derived_seed(seed: int, stream: str, index: int) -> int:
    """A 63-bit seed for (seed, stream, index), stable across processes and platforms."""
    digest = hashlib.sha256(f"{seed}\0{stream}\0{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)
