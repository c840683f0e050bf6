"""How many similar failures a query may ask for: torch-free, so front ends refuse early."""

from __future__ import annotations

from ledger.errors import InvalidInput

__all__ = ["DEFAULT_COUNT", "MAX_COUNT", "check_count"]

DEFAULT_COUNT = 4
MAX_COUNT = 16


def check_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidInput(f"count must be between 1 and {MAX_COUNT}, got {count!r}")
    return count
