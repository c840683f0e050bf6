"""The two rules that turn scores into credit, each written once: top-k and largest remainder.

Both are pure and exact, and each states its one tie-break, so the same input gives the same
result on any machine and in any input order:

- `highest` (and `ranked`, the whole order): the k highest scores, highest first; equal scores
  in ascending key order.
- `largest_remainder`: a whole number divided in proportion to integer weights, with the units
  left over by flooring going to the largest remainders; equal remainders in ascending key order.

Used by royalty splits and refunds (`royalties.split`), attribution shares
(`ledger.domain.attribution`) and the attributor's ranking (`attribution.front`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import TypeVar

from ledger.errors import InvalidInput

__all__ = ["highest", "largest_remainder", "ranked"]

Score = TypeVar("Score", int, float)


def _order(pair: tuple[str, Score]) -> tuple[Score, str]:
    return -pair[1], pair[0]


def highest(scored: Iterable[tuple[str, Score]], k: int) -> list[tuple[str, Score]]:
    """The k (key, score) pairs with the highest scores, highest first; ties by key ascending.

    The caller checks that scores are finite numbers (a NaN has no place in an order)."""
    return heapq.nsmallest(k, scored, key=_order)


def ranked(scored: Iterable[tuple[str, Score]]) -> list[tuple[str, Score]]:
    """Every (key, score) pair in `highest`'s order: highest first, ties by key ascending."""
    return sorted(scored, key=_order)


def largest_remainder(total: int, weights: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Divide `total` (≥ 0) in proportion to integer weights; the parts sum to `total` exactly.

    Each key gets floor(total × w / W); the units left over go one each to the largest
    remainders, ties broken by key. A zero weight never receives a unit.
    """
    if total < 0:
        raise InvalidInput("cannot divide a negative amount")
    keys = [key for key, _ in weights]
    if len(set(keys)) != len(keys):
        raise InvalidInput("a key is listed twice in a division")
    if any(w < 0 for _, w in weights):
        raise InvalidInput("weights must not be negative")
    whole = sum(w for _, w in weights)
    if whole == 0:
        if total:
            raise InvalidInput("cannot divide a positive amount among zero weights")
        return dict.fromkeys(keys, 0)
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key, weight in weights:
        quotient, remainder = divmod(total * weight, whole)
        parts[key] = quotient
        remainders.append((-remainder, key))
    left = total - sum(parts.values())
    for _, key in sorted(remainders)[:left]:
        parts[key] += 1
    return parts
