"""The shared credit rules: top-k with its one tie-break, largest remainder, and the inverses and
checks written once (`artist_of`, `aware`). Pure; no database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.attribution import PPM, exact_shares
from ledger.errors import InvalidInput
from ledger.shares import highest, largest_remainder
from ledger.validation import aware
from royalties.split import artist_account, artist_of

ids = st.text(alphabet="abcdefgh", min_size=1, max_size=4)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def _quota_shares(scores: dict[str, float], k: int) -> list[tuple[str, int]]:
    """Exact shares the long way (the rule as it was written before): fractional quotas of the
    positive top-k total, floors, then the ppm left over by largest fractional part, ties by id."""
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
    positive = [(item_id, Fraction(score)) for item_id, score in ranked if score > 0]
    total = sum((score for _, score in positive), Fraction(0))
    quotas = [(item_id, score * PPM / total) for item_id, score in positive]
    shares = {item_id: math.floor(quota) for item_id, quota in quotas}
    by_remainder = sorted(quotas, key=lambda pair: (-(pair[1] - math.floor(pair[1])), pair[0]))
    for item_id, _ in by_remainder[: PPM - sum(shares.values())]:
        shares[item_id] += 1
    return sorted(shares.items(), key=lambda pair: (-pair[1], pair[0]))


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(ids, finite, min_size=1, max_size=12), st.integers(1, 14))
def test_exact_shares_equal_the_fractional_quota_rule(scores: dict[str, float], k: int) -> None:
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
    if not any(score > 0 for _, score in ranked):
        with pytest.raises(InvalidInput, match="positively"):
            exact_shares(scores, k)
        return
    shares = exact_shares(scores, k)
    assert shares == _quota_shares(scores, k)
    assert sum(ppm for _, ppm in shares) == PPM


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(ids, st.integers(-3, 3).map(float), max_size=10), st.integers(1, 12))
def test_highest_is_score_descending_then_key(scores: dict[str, float], k: int) -> None:
    pairs = list(scores.items())
    top = highest(pairs, k)
    assert top == sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:k]
    assert highest(reversed(pairs), k) == top  # input order never matters


def test_ties_go_to_the_smaller_key() -> None:
    assert highest([("b", 1.0), ("c", 2.0), ("a", 1.0)], 2) == [("c", 2.0), ("a", 1.0)]
    assert largest_remainder(2, [("z", 1), ("y", 1), ("x", 1)]) == {"x": 1, "y": 1, "z": 0}


def test_artist_of_inverts_artist_account() -> None:
    artist_id = uuid4()
    assert artist_of(artist_account(artist_id)) == artist_id
    assert artist_of(artist_account(str(artist_id))) == artist_id
    with pytest.raises(InvalidInput, match="not an artist's account"):
        artist_of("platform:revenue")
    with pytest.raises(InvalidInput, match="by UUID"):
        artist_of("artist:not-a-uuid")


def test_aware_refuses_a_naive_moment_and_reads_others_as_utc() -> None:
    with pytest.raises(InvalidInput, match="period start must carry a time zone"):
        aware(datetime(2025, 1, 1), "period start")
    paris = datetime(2025, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert aware(paris, "x") == datetime(2025, 1, 1, tzinfo=UTC)
    assert aware(paris, "x").tzinfo is UTC
