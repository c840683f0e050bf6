"""Royalties on the real ledger (SQLite and PostgreSQL): reports, refunds, payouts, statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import factories
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.domain.model import Generation
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.model_records import ModelRecords
from royalties.domain import RevenueReport
from royalties.projection import postings_table
from royalties.service import RoyaltyService
from royalties.settings import RoyaltySettings
from royalties.split import CASH, COMMUNITY_POOL, PLATFORM, RECEIVABLE, artist_account
from royalties.statement import render_html

INDEX = "cd" * 32
TERMS = RoyaltySettings(
    platform_bps=3000,
    founding_bonus_bps=500,
    payout_thresholds={"EUR": 1000, "JPY": 500},
)
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass
class World:
    ledger: MuseumLedger
    artists: list[UUID]
    donations: list[UUID]
    generation: Generation
    royalties: RoyaltyService


def make_world(
    ledger: MuseumLedger,
    commercial: tuple[bool, bool] = (True, True),
    settings: RoyaltySettings = TERMS,
    attribute: bool = True,
) -> World:
    """Two artists, one donation each, a model, a generation and (optionally) its attribution."""
    artists = [
        ledger.register_artist(factories.artist("Ink Moth")),
        ledger.register_artist(
            factories.artist("Salt Heron", legal_name="Bea Okafor", contact="bea@example.org")
        ),
    ]
    donations = []
    for n, (artist, paid) in enumerate(zip(artists, commercial, strict=True)):
        consents = ("exhibit", "train", "commercial") if paid else ("exhibit", "train")
        donations.append(
            ledger.donate(
                factories.donation(
                    artist, stages=factories.stages(shade=10 + 80 * n), consents=consents
                )
            ).donation_id
        )
    records = ModelRecords(ledger)
    run = records.start_run(job_id="run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "e" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    generation = records.record_generation(
        job_id="gen", run=run, seed=1, steps=10, role="final", emotion="joy", png=factories.png(7)
    )
    if attribute:
        ids = run.item_ids()
        scores = {item_id: float(len(ids) - i) for i, item_id in enumerate(ids)}
        AttributionRecords(ledger).record(generation.id, "trak", {"t": 1}, INDEX, scores, k=6)
    return World(ledger, artists, donations, generation, RoyaltyService(ledger, settings))


def stored_rows(ledger: MuseumLedger) -> list[dict[str, Any]]:
    with ledger.engine.connect() as c:
        result = c.execute(
            sa.select(postings_table).order_by(
                postings_table.c.notification_id, postings_table.c.line
            )
        )
        return [dict(r._mapping) for r in result]


def book(world: World, key: str = "sale-1", amount: int = 10_000, currency: str = "EUR") -> Any:
    return world.royalties.report_revenue(
        generation_id=world.generation.id,
        amount_minor=amount,
        currency=currency,
        reference="invoice 42",
        idempotency_key=key,
    )


def balance_of(world: World, account: str, currency: str = "EUR") -> int:
    for row in world.royalties.balances():
        if row.account == account and row.currency == currency:
            return int(row.balance)
    return 0


def test_report_splits_books_and_is_idempotent(ledger: MuseumLedger) -> None:
    world = make_world(ledger)
    report = book(world)
    assert report.id == RevenueReport.create_id("sale-1")
    rows = stored_rows(ledger)
    assert [(r["account"], r["amount"], r["kind"]) for r in rows] == [
        (p["account"], p["amount"], p["kind"]) for p in report.postings
    ]
    assert sum(r["amount"] for r in rows) == 0
    assert world.royalties.projection.totals() == {"EUR": 0}
    # Both artists are founding (first 100 registered): 30 % platform, of which 5 % goes to them.
    assert balance_of(world, PLATFORM) == 2500
    artists_total = sum(balance_of(world, artist_account(a)) for a in world.artists)
    assert artists_total == 7500
    assert balance_of(world, RECEIVABLE) == -10_000

    before = ledger.recorder.max_notification_id()
    again = book(world)
    assert again.id == report.id
    assert again.postings == report.postings
    assert ledger.recorder.max_notification_id() == before
    with pytest.raises(Conflict, match="different report"):
        book(world, amount=10_001)
    assert ledger.recorder.max_notification_id() == before
    assert stored_rows(ledger) == rows
    ledger.integrity.verify()


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"amount_minor": 0}, InvalidInput, "positive"),
        ({"amount_minor": -5}, InvalidInput, "positive"),
        ({"amount_minor": 12.5}, InvalidInput, "whole number"),
        ({"currency": "XYZ"}, InvalidInput, "unknown currency"),
        ({"generation_id": uuid4()}, NotFound, "generation"),
        ({"reference": "  "}, InvalidInput, "reference"),
        ({"idempotency_key": "no spaces allowed"}, InvalidInput, "idempotency key"),
        ({"attribution_id": uuid4()}, NotFound, "attribution"),
    ],
)
def test_bad_reports_book_nothing(
    ledger: MuseumLedger, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    world = make_world(ledger)
    request: dict[str, Any] = {
        "generation_id": world.generation.id,
        "amount_minor": 500,
        "currency": "EUR",
        "reference": "r",
        "idempotency_key": "k1",
    } | changes
    before = ledger.recorder.max_notification_id()
    with pytest.raises(error, match=message):
        world.royalties.report_revenue(**request)
    assert ledger.recorder.max_notification_id() == before
    assert stored_rows(ledger) == []


def test_unattributed_generation_is_refused(ledger: MuseumLedger) -> None:
    world = make_world(ledger, attribute=False)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInput, match="no attribution"):
        book(world)
    assert ledger.recorder.max_notification_id() == before
    assert stored_rows(ledger) == []


def test_without_commercial_consent_the_pool_is_paid(ledger: MuseumLedger) -> None:
    world = make_world(ledger, commercial=(False, False))
    report = book(world, amount=999)
    assert all(c["eligible_ppm"] == 0 for c in report.contributors)
    assert balance_of(world, COMMUNITY_POOL) == 700
    assert balance_of(world, PLATFORM) == 299  # no founding artist earns, so no bonus is paid
    assert all(balance_of(world, artist_account(a)) == 0 for a in world.artists)


def test_consent_is_judged_at_the_time_of_the_generation(ledger: MuseumLedger) -> None:
    world = make_world(ledger, commercial=(True, False))
    # Revoked after the generation was made: the first artist still earns for it.
    ledger.revoke_consent(world.donations[0], "commercial")
    # Granted after the generation: the second artist does not earn for this one.
    ledger.grant_consent(world.donations[1], "commercial")
    book(world, amount=10_000)
    first, second = (artist_account(a) for a in world.artists)
    assert balance_of(world, first) == 7500
    assert balance_of(world, second) == 0


def test_refunds_and_chargebacks_reverse_proportionally(ledger: MuseumLedger) -> None:
    world = make_world(ledger)
    book(world, amount=10_000)
    royalties = world.royalties
    report = royalties.refund("sale-1", refund_key="r1", amount_minor=3333, reason="returned")
    assert report.refunded_minor == 3333
    before = ledger.recorder.max_notification_id()
    royalties.refund("sale-1", refund_key="r1", amount_minor=3333, reason="returned")
    assert ledger.recorder.max_notification_id() == before
    with pytest.raises(Conflict, match="different refund"):
        royalties.refund("sale-1", refund_key="r1", amount_minor=1, reason="returned")
    with pytest.raises(InvalidInput, match="exceeds"):
        royalties.refund("sale-1", refund_key="r2", amount_minor=6668)
    with pytest.raises(NotFound):
        royalties.refund("no-such-sale", refund_key="r2", amount_minor=1)
    assert ledger.recorder.max_notification_id() == before
    royalties.refund("sale-1", refund_key="cb", amount_minor=6667, kind="chargeback")
    assert royalties.projection.totals() == {"EUR": 0}
    assert all(row.balance == 0 for row in royalties.balances())


# A key that differs from a booked one only by whitespace or a look-alike (Cyrillic а, fullwidth 1).
NEAR_KEYS = ["\n", "\r\n", " ", "\t", "\u00a0", "\u3000"]


def test_a_key_with_a_trailing_newline_is_refused_not_booked_twice(ledger: MuseumLedger) -> None:
    """Issue 14: `sale-1\n` once booked a second report and refunded twice; now it is refused."""
    world = make_world(ledger)
    royalties = world.royalties
    report = book(world, key="sale-1", amount=10_000)
    royalties.refund("sale-1", refund_key="r1", amount_minor=1000, reason="returned")
    before, rows = ledger.recorder.max_notification_id(), stored_rows(ledger)
    near = [f"sale-1{space}" for space in NEAR_KEYS] + [" sale-1", "s\u0430le-1", "sale-\uff11"]
    for key in near:
        with pytest.raises(InvalidInput, match="idempotency key"):
            book(world, key=key, amount=10_000)
        with pytest.raises(InvalidInput, match="idempotency key"):
            royalties.refund(key, refund_key="r2", amount_minor=1000, reason="returned")
        with pytest.raises(InvalidInput, match="refund key"):
            royalties.refund("sale-1", refund_key=key.replace("sale-1", "r1"), amount_minor=1000)
        with pytest.raises(InvalidInput, match="run key"):
            royalties.run_payouts(key.replace("sale-1", "2025-01"))
    assert ledger.recorder.max_notification_id() == before
    assert stored_rows(ledger) == rows
    again = royalties.get_report("sale-1")
    assert again.id == report.id
    assert again.refunded_minor == 1000
    assert len({r["notification_id"] for r in rows}) == 2, "one booking and one refund"


def test_payouts_thresholds_failures_and_erasure(ledger: MuseumLedger) -> None:
    world = make_world(ledger)
    royalties = world.royalties
    book(world, "eur", amount=10_000)
    book(world, "jpy", amount=300, currency="JPY")  # artists get ~105 JPY: below 500
    first, second = world.artists
    run = royalties.run_payouts("2025-01")
    paid = {(p.artist_id, p.currency): p for p in run.payouts}
    assert set(paid) == {(str(first), "EUR"), (str(second), "EUR")}
    assert balance_of(world, artist_account(first)) == 0
    assert balance_of(world, CASH) == 7500
    assert balance_of(world, artist_account(first), "JPY") > 0
    # Same run key: the first result, nothing paid twice.
    before = ledger.recorder.max_notification_id()
    assert royalties.run_payouts("2025-01").repeated is True
    assert ledger.recorder.max_notification_id() == before

    failed = paid[(str(first), "EUR")]
    royalties.fail_payout(UUID(failed.payout_id), "account closed")
    royalties.fail_payout(UUID(failed.payout_id), "account closed")  # once only
    assert balance_of(world, artist_account(first)) == failed.amount
    with pytest.raises(InvalidInput, match="why"):
        royalties.fail_payout(UUID(paid[(str(second), "EUR")].payout_id), " ")

    # An erased artist's balance is held, not paid; a release moves it to the community pool.
    ModelRecords(ledger).erase_artist(first, "leaving")
    run = royalties.run_payouts("2025-02")
    assert run.payouts == []
    assert [h.as_builtins() for h in run.held] == [
        {"artist_id": str(first), "currency": "EUR", "amount": failed.amount}
    ]
    held = [r for r in royalties.balances() if r.account == artist_account(first)]
    assert all(r.held and r.pseudonym == ERASED_DONOR for r in held)
    with pytest.raises(Conflict, match="not erased"):
        royalties.release_held(second, "EUR", "rel-1")
    released = royalties.release_held(first, "EUR", "rel-1")
    assert released.amount_minor == failed.amount
    assert balance_of(world, artist_account(first)) == 0
    assert balance_of(world, COMMUNITY_POOL) == failed.amount
    assert royalties.projection.totals() == {"EUR": 0, "JPY": 0}
    ledger.integrity.verify()


def test_statement_json_and_html(ledger: MuseumLedger) -> None:
    world = make_world(ledger)
    book(world, "a", amount=10_000)
    book(world, "b", amount=5_000)
    world.royalties.refund("b", refund_key="r", amount_minor=5_000)
    world.royalties.run_payouts("p1")
    first = world.artists[0]
    statement = world.royalties.statement(first, FAR_PAST, FAR_FUTURE)
    assert statement.artist.pseudonym == "Ink Moth"
    (eur,) = statement.currencies
    assert eur.opening_balance == 0
    assert len(eur.revenue_lines) == 4  # two reports × (share + founding bonus)
    assert eur.credits[0].generation_id == str(world.generation.id)
    assert eur.credits[0].reports == 2
    # Split by the generation's attribution, recorded without a measured agreement.
    latest = AttributionRecords(ledger).latest_for(world.generation.id)
    assert latest is not None
    assert eur.credits[0].attribution_id == str(latest.id)
    assert eur.credits[0].credit_stability is None
    assert eur.reversed > 0
    assert len(eur.reversals) >= 1
    assert eur.paid_out == eur.earned - eur.reversed
    assert eur.closing_balance == 0 == balance_of(world, artist_account(first))
    html = render_html(statement)
    for text in ("<svg", "<rect", "Ink Moth", "Closing balance", "founding artist", "not measured"):
        assert text in html
    # A period that starts later opens with what was booked before it.
    now = datetime.now(UTC)
    later = world.royalties.statement(first, now + timedelta(hours=1), FAR_FUTURE)
    assert later.currencies[0].opening_balance == 0
    assert later.currencies[0].revenue_lines == []
    with pytest.raises(InvalidInput, match="end after"):
        world.royalties.statement(first, FAR_FUTURE, FAR_PAST)
    with pytest.raises(InvalidInput, match="time zone"):
        world.royalties.statement(first, datetime(2020, 1, 1), FAR_FUTURE)
    with pytest.raises(NotFound):
        world.royalties.statement(uuid4(), FAR_PAST, FAR_FUTURE)


def test_projection_catches_up_and_rebuilds_identically(ledger: MuseumLedger) -> None:
    world = make_world(ledger)
    book(world, "a", amount=777)
    world.royalties.refund("a", refund_key="r", amount_minor=100)
    world.royalties.run_payouts("p")
    # An event saved by a process that died before projecting it is picked up by the next read.
    report = RevenueReport.book(
        idempotency_key="direct",
        body_sha256="0" * 64,
        generation_id=world.generation.id,
        attribution_id=None,
        currency="EUR",
        amount_minor=50,
        reference="r",
        terms=TERMS.terms(),
        contributors=[],
    )
    ledger.save(report)
    rows_before = len(stored_rows(ledger))
    balances = world.royalties.balances()
    assert len(stored_rows(ledger)) > rows_before
    rows = stored_rows(ledger)
    assert world.royalties.projection.rebuild() == len(rows)
    assert stored_rows(ledger) == rows
    assert world.royalties.balances() == balances
    assert world.royalties.projection.catch_up() == 0


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["report", "refund", "payout", "fail", "repeat"]),
            st.integers(min_value=1, max_value=50_000),
            st.sampled_from(["EUR", "JPY", "KWD"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_ledger_books_stay_balanced(ledger_world: World, steps: list[tuple[str, int, str]]) -> None:
    """Any sequence of reports, refunds, payouts and failures keeps the books exact."""
    world = ledger_world
    royalties = world.royalties
    keys: list[str] = []
    payouts: list[str] = []
    for action, amount, currency in steps:
        if action == "report" or not keys:
            keys.append(uuid4().hex)
            book(world, keys[-1], amount=amount, currency=currency)
        elif action == "repeat":
            report = royalties.get_report(keys[-1])
            before = world.ledger.recorder.max_notification_id()
            again = book(world, keys[-1], report.amount_minor, report.currency)
            assert again.postings == report.postings
            assert world.ledger.recorder.max_notification_id() == before
        elif action == "refund":
            report = royalties.get_report(keys[-1])
            left = report.amount_minor - report.refunded_minor
            if left:
                royalties.refund(keys[-1], refund_key=uuid4().hex, amount_minor=min(amount, left))
        elif action == "payout":
            payouts += [p.payout_id for p in royalties.run_payouts(uuid4().hex).payouts]
        elif payouts:
            royalties.fail_payout(UUID(payouts.pop()), "bounced")
    rows = stored_rows(world.ledger)
    assert all(value == 0 for value in royalties.projection.totals().values())
    by_txn: dict[str, int] = {}
    for row in rows:
        by_txn[row["txn_id"]] = by_txn.get(row["txn_id"], 0) + row["amount"]
    assert set(by_txn.values()) == {0}
    balances = royalties.balances()
    for currency in {row["currency"] for row in rows}:
        assert sum(b.balance for b in balances if b.currency == currency) == sum(
            row["amount"] for row in rows if row["currency"] == currency
        )


@pytest.fixture
def ledger_world(ledger: MuseumLedger) -> World:
    return make_world(ledger)
