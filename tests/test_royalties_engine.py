"""The pure splitting engine: exact to the minor unit, balanced, deterministic. No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidInput
from ledger.shares import largest_remainder
from royalties.currency import (
    MAX_AMOUNT_MINOR,
    check_amount,
    currency_code,
    exponent,
    format_minor,
    parse_major,
)
from royalties.split import (
    CASH,
    COMMUNITY_POOL,
    FOUNDING_BONUS,
    PLATFORM,
    RECEIVABLE,
    Contributor,
    Posting,
    Terms,
    artist_account,
    balances,
    check_balanced,
    failed_payout_postings,
    payout_postings,
    release_postings,
    reverse_postings,
    split_revenue,
)

# --- currencies -----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "places"), [("JPY", 0), ("usd", 2), ("EUR", 2), ("KWD", 3)])
def test_exponents_come_from_iso_4217(code: str, places: int) -> None:
    assert exponent(code) == places


@pytest.mark.parametrize("code", ["", "EU", "EURO", "ZZZ", "12A", None, 978])
def test_unknown_currencies_are_refused(code: object) -> None:
    with pytest.raises(InvalidInput, match="currency"):
        currency_code(code)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("19", "EUR", 1900),
        ("19.99", "EUR", 1999),
        ("19.9", "EUR", 1990),
        ("500", "JPY", 500),
        ("1.005", "KWD", 1005),
    ],
)
def test_parse_major(text: str, currency: str, minor: int) -> None:
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("1.5", "JPY", "fraction of a minor unit"),
        ("1.234", "EUR", "fraction of a minor unit"),
        ("1.2345", "KWD", "fraction of a minor unit"),
        ("0", "EUR", "positive"),
        ("0.001", "EUR", "fraction of a minor unit"),
        ("-5", "EUR", "positive"),
        ("ten", "EUR", "not a number"),
        ("nan", "EUR", "finite"),
    ],
)
def test_parse_major_refusals(text: str, currency: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_major(text, currency)


@pytest.mark.parametrize("value", [0, -1, 1.5, 10.0, True, "100", None, MAX_AMOUNT_MINOR + 1])
def test_amounts_are_positive_whole_minor_units(value: object) -> None:
    with pytest.raises(InvalidInput):
        check_amount(value)


def test_format_minor() -> None:
    assert format_minor(-1999, "EUR") == "-19.99 EUR"
    assert format_minor(1234567, "JPY") == "1,234,567 JPY"
    assert format_minor(5, "KWD") == "0.005 KWD"


# --- largest remainder ----------------------------------------------------------------------


def test_largest_remainder_ties_by_key() -> None:
    assert largest_remainder(100, [("b", 1), ("a", 1), ("c", 1)]) == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder(2, [("x", 1), ("y", 1), ("z", 1)]) == {"x": 1, "y": 1, "z": 0}
    assert largest_remainder(0, [("a", 0)]) == {"a": 0}
    with pytest.raises(InvalidInput):
        largest_remainder(5, [("a", 0)])
    with pytest.raises(InvalidInput):
        largest_remainder(5, [("a", 1), ("a", 2)])


weights = st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=20).filter(
    lambda w: sum(w) > 0
)


@settings(max_examples=1000, deadline=None)
@given(total=st.integers(min_value=0, max_value=MAX_AMOUNT_MINOR), weights=weights)
def test_largest_remainder_is_exact_and_within_one_unit(total: int, weights: list[int]) -> None:
    keyed = [(f"k{i:03d}", w) for i, w in enumerate(weights)]
    parts = largest_remainder(total, keyed)
    assert sum(parts.values()) == total
    whole = sum(weights)
    for key, weight in keyed:
        exact_floor = total * weight // whole
        assert parts[key] in (exact_floor, exact_floor + 1)
        if weight == 0:
            assert parts[key] == 0
    assert largest_remainder(total, list(reversed(keyed))) == parts


# --- revenue splits -------------------------------------------------------------------------

artist_ids = st.integers(min_value=0, max_value=999).map(lambda n: f"artist-{n:03d}")
contributors = st.lists(
    st.builds(
        Contributor,
        artist_id=artist_ids,
        eligible_ppm=st.integers(min_value=0, max_value=1_000_000),
        founding=st.booleans(),
    ),
    max_size=8,
    unique_by=lambda c: c.artist_id,
)
terms = st.integers(min_value=0, max_value=10_000).flatmap(
    lambda p: st.builds(Terms, st.just(p), st.integers(min_value=0, max_value=p))
)
amounts = st.integers(min_value=1, max_value=MAX_AMOUNT_MINOR)


@settings(max_examples=1000, deadline=None)
@given(gross=amounts, people=contributors, terms=terms)
def test_split_books_exactly_the_gross(gross: int, people: list[Contributor], terms: Terms) -> None:
    postings = split_revenue(gross, people, terms)
    check_balanced(postings)
    assert postings[0] == Posting(RECEIVABLE, -gross, "gross")
    assert sum(p.amount for p in postings[1:]) == gross
    assert all(p.amount >= 0 for p in postings[1:])
    book = balances([postings])
    eligible = [c for c in people if c.eligible_ppm > 0]
    founders = [c for c in eligible if c.founding]
    platform_full = gross * terms.platform_bps // 10_000
    bonus = gross * terms.founding_bonus_bps // 10_000 if founders else 0
    assert book.get(PLATFORM, 0) == platform_full - bonus
    if not eligible:
        assert book.get(COMMUNITY_POOL, 0) == gross - platform_full
        assert not any(a.startswith("artist:") for a in book)
    else:
        assert COMMUNITY_POOL not in book
        artists_total = sum(v for a, v in book.items() if a.startswith("artist:"))
        assert artists_total == gross - platform_full + bonus
        whole = sum(c.eligible_ppm for c in eligible)
        for person in eligible:
            quota_floor = (gross - platform_full) * person.eligible_ppm // whole
            assert book[artist_account(person.artist_id)] >= quota_floor
        for person in people:
            if person.eligible_ppm == 0:
                assert artist_account(person.artist_id) not in book
    bonuses = [p for p in postings if p.kind == FOUNDING_BONUS]
    assert sum(p.amount for p in bonuses) == bonus
    # Same inputs in any order: the same postings.
    assert split_revenue(gross, list(reversed(people)), terms) == postings


def test_split_example_with_founding_bonus() -> None:
    a, b, c = "a" * 8, "b" * 8, "c" * 8
    postings = split_revenue(
        10_001,
        [Contributor(a, 500_000, True), Contributor(b, 500_000), Contributor(c, 0)],
        Terms(platform_bps=3000, founding_bonus_bps=500),
    )
    assert balances([postings]) == {
        RECEIVABLE: -10_001,
        PLATFORM: 3000 - 500,
        artist_account(a): 3501 + 500,
        artist_account(b): 3500,
    }


def test_no_eligible_contributor_pays_the_community_pool() -> None:
    postings = split_revenue(999, [Contributor("x", 0, True)], Terms(3000, 500))
    assert balances([postings]) == {RECEIVABLE: -999, PLATFORM: 299, COMMUNITY_POOL: 700}


@pytest.mark.parametrize(("platform", "bonus"), [(-1, 0), (10_001, 0), (100, 200), (True, 0)])
def test_terms_refusals(platform: int, bonus: int) -> None:
    with pytest.raises(InvalidInput):
        Terms(platform, bonus)


# --- refunds, payouts -----------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    gross=st.integers(min_value=1, max_value=10**9),
    people=contributors,
    terms=terms,
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=4),
    data=st.data(),
)
def test_refunds_never_reverse_more_than_booked(
    gross: int,
    people: list[Contributor],
    terms: Terms,
    cuts: list[int],
    data: st.DataObject,
) -> None:
    original = split_revenue(gross, people, terms)
    reversals: list[list[Posting]] = []
    refunded = 0
    for cut in cuts:
        left = gross - refunded
        if left == 0:
            break
        amount = max(1, left * cut // 10_000)
        kind = data.draw(st.sampled_from(["refund", "chargeback"]))
        postings = reverse_postings(original, [p for r in reversals for p in r], amount, kind)
        check_balanced(postings)
        assert postings[0] == Posting(RECEIVABLE, amount, kind)
        reversals.append(postings)
        refunded += amount
        book = balances([original, *reversals])
        # No line goes below zero, and nothing is left behind beyond what remains to refund.
        assert all(v >= 0 for a, v in book.items() if a != RECEIVABLE)
        assert book[RECEIVABLE] == -(gross - refunded)
        assert sum(book.values()) == 0
    if refunded < gross:
        final = reverse_postings(
            original, [p for r in reversals for p in r], gross - refunded, "refund"
        )
        reversals.append(final)
    assert all(v == 0 for v in balances([original, *reversals]).values())
    with pytest.raises(InvalidInput, match="exceeds"):
        reverse_postings(original, [p for r in reversals for p in r], 1, "refund")


def test_reversal_refusals() -> None:
    original = split_revenue(100, [Contributor("a", 1)], Terms(1000, 0))
    with pytest.raises(InvalidInput, match="exceeds"):
        reverse_postings(original, [], 101, "refund")
    with pytest.raises(InvalidInput, match="one of"):
        reverse_postings(original, [], 1, "gift")
    with pytest.raises(InvalidInput):
        reverse_postings(original, [], 0, "refund")


@settings(max_examples=300, deadline=None)
@given(amount=amounts, fail=st.booleans())
def test_payouts_balance_and_failures_restore(amount: int, fail: bool) -> None:
    earned = [Posting(RECEIVABLE, -amount, "gross"), Posting(artist_account("a"), amount, "x")]
    paid = payout_postings("a", amount)
    check_balanced(paid)
    moves = [earned, paid]
    if fail:
        moves.append(failed_payout_postings(paid))
    book = balances(moves)
    assert book[artist_account("a")] == (amount if fail else 0)
    assert book[CASH] == (0 if fail else amount)
    assert sum(book.values()) == 0
    released = release_postings("a", amount)
    check_balanced(released)
    assert balances([released])[COMMUNITY_POOL] == amount


def test_unbalanced_transactions_are_refused() -> None:
    with pytest.raises(InvalidInput, match="does not balance"):
        check_balanced([Posting("a", 1, "x"), Posting("b", -2, "x")])
    with pytest.raises(InvalidInput):
        check_balanced([])
