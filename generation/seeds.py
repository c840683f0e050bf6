"""Seeds: one place that checks a user's seed and turns (seed, stream, index) into a derived one.

Hashing rather than adding keeps streams apart (seed 1 index 0 never equals seed 0 index 1), so
noise for training items, noise for queries and projection chunks never share random numbers.
Torch-free, so the model, the attribution layer above it and every bench harness share it.
"""

from __future__ import annotations

import hashlib

__all__ = ["check_seed", "derived_seed"]


def check_seed(seed: object) -> int:
    """Validate a user seed: a non-negative integer (bool refused)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def derived_seed(seed: int, stream: str, index: int) -> int:
    """A 63-bit seed for (seed, stream, index), stable across processes and platforms."""
    digest = hashlib.sha256(f"{seed}\0{stream}\0{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)
