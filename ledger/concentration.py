"""How concentrated credit is across artists: the Gini coefficient and the top-k share, exact.

Pure arithmetic on integer credits (ppm of attribution), in `fractions.Fraction`, so a report
gives the same figure on any machine and a test can compare it with a value worked by hand.

Gini of credits x_1 … x_n (n ≥ 1, Σx > 0), the mean absolute difference over twice the mean:

    G = Σ_i Σ_j |x_i − x_j| / (2 · n² · μ),   μ = Σx / n

computed in O(n log n) from the credits sorted ascending, x_(1) ≤ … ≤ x_(n):

    G = 2 · Σ_i i · x_(i) / (n · Σx) − (n + 1) / n

G is 0 when every artist has the same credit (one artist alone included) and at most
(n − 1) / n, when one artist holds it all. The top-k share is the credit of the k largest over
all credit. With no credit at all (no artist, or every credit 0) both are undefined: None.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ledger.errors import InvalidInput

PPM = 1_000_000


def _checked(credits: Sequence[int]) -> int:
    """The total of the credits, which must be integers ≥ 0 (bool refused)."""
    for credit in credits:
        if isinstance(credit, bool) or not isinstance(credit, int) or credit < 0:
            raise InvalidInput(f"a credit must be a non-negative integer, got {credit!r}")
    return sum(credits)


def gini(credits: Sequence[int]) -> Fraction | None:
    """The Gini coefficient of the credits (formula above); None when they sum to 0."""
    total = _checked(credits)
    if total == 0:
        return None
    n = len(credits)
    ranked_sum = sum(rank * credit for rank, credit in enumerate(sorted(credits), start=1))
    return Fraction(2 * ranked_sum, n * total) - Fraction(n + 1, n)


def top_share(credits: Sequence[int], k: int = 10) -> Fraction | None:
    """The part of all credit held by the k largest credits; None when they sum to 0."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInput(f"k must be a positive integer, got {k!r}")
    total = _checked(credits)
    if total == 0:
        return None
    return Fraction(sum(sorted(credits, reverse=True)[:k]), total)


def ppm(fraction: Fraction) -> int:
    """A fraction in parts per million, rounded to the nearest (half to even)."""
    return round(fraction * PPM)


def exact(fraction: Fraction) -> str:
    """The fraction as "numerator/denominator" in lowest terms ("0/1", "1/4")."""
    return f"{fraction.numerator}/{fraction.denominator}"
