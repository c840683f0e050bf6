"""Ledger service for royalties: revenue reports, refunds, payout runs, balances and statements.

Every command is get → command → save, then the postings read model catches up. Each report is
keyed by the integrator's idempotency key (the aggregate id is derived from it), so a retried
request returns the first result and a different body under the same key is refused.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.cursors import decode_cursor, encode_cursor
from ledger.domain import Donation
from ledger.domain.attribution import Attribution
from ledger.domain.donation import consent_at
from ledger.domain.model import Generation
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.validation import aware, text
from ledger.validation import key as _key
from ledger.vocabulary import Purpose
from royalties.audit import check_statement, checked_balances
from royalties.credited import credited_by
from royalties.currency import check_amount, currency_code
from royalties.domain import Payout, PayoutDesk, RevenueReport
from royalties.projection import PostingsProjection, epoch_ms
from royalties.settings import RoyaltySettings, get_royalty_settings
from royalties.split import ARTIST_PREFIX, REVERSAL_KINDS, Contributor, artist_account, artist_of
from royalties.statement import build_statement
from royalties.views import (
    ArtistBalanceRead,
    BalanceRead,
    PayoutRunRead,
    ReleaseRead,
    RevenueReportRead,
    StatementRead,
    as_view,
)

MAX_REFERENCE = 200
MAX_REASON = 500


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Booking:
    """A report after a keyed command; `replayed`: the key was booked before (by this caller's
    earlier try or a concurrent one) and nothing new was recorded. HTTP says so in a header."""

    report: RevenueReport
    replayed: bool


class RoyaltyService:
    """Thin service over the ledger application; its only state is the read model's cache."""

    def __init__(self, ledger: MuseumLedger, settings: RoyaltySettings | None = None) -> None:
        self.ledger = ledger
        self.settings = settings or get_royalty_settings()
        self.projection = PostingsProjection(ledger)

    # --- revenue ----------------------------------------------------------------------------

    def report_revenue(
        self,
        *,
        generation_id: UUID,
        amount_minor: int,
        currency: str,
        reference: str,
        idempotency_key: str,
        attribution_id: UUID | None = None,
    ) -> RevenueReport:
        """Book commercial use of a generation (see `book_revenue`); the report alone."""
        return self.book_revenue(
            generation_id=generation_id,
            amount_minor=amount_minor,
            currency=currency,
            reference=reference,
            idempotency_key=idempotency_key,
            attribution_id=attribution_id,
        ).report

    def book_revenue(
        self,
        *,
        generation_id: UUID,
        amount_minor: int,
        currency: str,
        reference: str,
        idempotency_key: str,
        attribution_id: UUID | None = None,
    ) -> Booking:
        """Book commercial use of a generation; the same key and body return the first result.

        The split follows the attribution given, or the generation's latest one. Only donations
        whose `commercial` consent held when the generation was made earn; if none did, the
        artists' part goes to the community pool.
        """
        key = _key(idempotency_key, "idempotency key")
        amount = check_amount(amount_minor)
        code = currency_code(currency)
        reference = text(reference, "reference", limit=MAX_REFERENCE)
        body = _digest(
            {
                "generation_id": str(generation_id),
                "amount_minor": amount,
                "currency": code,
                "reference": reference,
                "attribution_id": None if attribution_id is None else str(attribution_id),
            }
        )
        existing = self.ledger.find(RevenueReport.create_id(key), RevenueReport)
        if existing is not None:
            existing.check_same_body(body)
            return Booking(existing, replayed=True)
        generation = self.ledger.get_aggregate(generation_id, Generation, "generation")
        attribution = self._attribution(generation_id, attribution_id)
        contributors = self._contributors(attribution, generation.created_on)

        tries = itertools.count()

        def book() -> Booking:
            if next(tries):  # a retry: if the same key was booked meanwhile, answer as a repeat
                winner = self.ledger.find(RevenueReport.create_id(key), RevenueReport)
                if winner is not None:
                    winner.check_same_body(body)
                    return Booking(winner, replayed=True)
            report = RevenueReport.book(
                idempotency_key=key,
                body_sha256=body,
                generation_id=generation_id,
                attribution_id=attribution.id,
                currency=code,
                amount_minor=amount,
                reference=reference,
                terms=self.settings.terms(),
                contributors=contributors,
            )
            self.ledger.save(report)
            return Booking(report, replayed=False)

        booking = self.ledger.retry(book, f"revenue report {key!r}")
        self.projection.catch_up()
        return booking

    def _attribution(self, generation_id: UUID, attribution_id: UUID | None) -> Attribution:
        if attribution_id is not None:
            attribution = self.ledger.get_aggregate(attribution_id, Attribution, "attribution")
            if attribution.generation_id != generation_id:
                raise InvalidInput(
                    f"attribution {attribution_id} is of another generation, not {generation_id}"
                )
            return attribution
        found = AttributionRecords(self.ledger).for_generation(generation_id)
        if not found:
            raise InvalidInput(
                f"generation {generation_id} has no attribution yet: revenue cannot be split "
                "until it is attributed (museum attribute)"
            )
        return found[-1]

    def _contributors(self, attribution: Attribution, made_at: datetime) -> list[Contributor]:
        """Per artist, the ppm of their donations whose commercial consent held at `made_at`."""
        eligible: dict[str, int] = {}
        for line in attribution.per_donation:
            donation_id = UUID(line["key"])
            events = list(self.ledger.events.get(donation_id))  # one read: creator and consents
            made = events[0] if events else None
            if not isinstance(made, Donation.DonationMade):
                raise NotFound(f"no donation {donation_id}")
            artist = str(made.artist_id)
            held = consent_at(events, Purpose.COMMERCIAL, made_at)  # type: ignore[arg-type]
            eligible[artist] = eligible.get(artist, 0) + (int(line["ppm"]) if held else 0)
        return [
            Contributor(artist, ppm, self.ledger.get_artist(UUID(artist)).founding)
            for artist, ppm in sorted(eligible.items())
        ]

    def get_report(self, idempotency_key: str) -> RevenueReport:
        key = _key(idempotency_key, "idempotency key")
        return self.ledger.get_aggregate(
            RevenueReport.create_id(key), RevenueReport, f"revenue report with key {key!r}:"
        )

    def refund(
        self,
        idempotency_key: str,
        *,
        refund_key: str,
        amount_minor: int,
        kind: str = "refund",
        reason: str = "",
    ) -> RevenueReport:
        """Reverse part or all of a report (see `book_refund`); the report alone."""
        booking = self.book_refund(
            idempotency_key,
            refund_key=refund_key,
            amount_minor=amount_minor,
            kind=kind,
            reason=reason,
        )
        return booking.report

    def book_refund(
        self,
        idempotency_key: str,
        *,
        refund_key: str,
        amount_minor: int,
        kind: str = "refund",
        reason: str = "",
    ) -> Booking:
        """Reverse part or all of a report, proportionally; a repeated refund key is a no-op."""
        key = _key(refund_key, "refund key")
        amount = check_amount(amount_minor, "refund amount")
        if kind not in REVERSAL_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(REVERSAL_KINDS)}")
        reason = text(reason, "refund reason", limit=MAX_REASON, required=False)
        body = _digest({"amount_minor": amount, "kind": kind, "reason": reason})

        def reverse() -> Booking:
            report = self.get_report(idempotency_key)
            booked = report.reverse(key, amount, kind, reason, body)
            if booked:
                self.ledger.save(report)
            return Booking(report, replayed=not booked)

        booking = self.ledger.retry(reverse, f"revenue report {idempotency_key!r}")
        self.projection.catch_up()
        return booking

    @staticmethod
    def report_view(report: RevenueReport) -> RevenueReportRead:
        row = {
            "report_id": str(report.id),
            "idempotency_key": report.idempotency_key,
            "generation_id": str(report.generation_id),
            "attribution_id": str(report.attribution_id),
            "currency": report.currency,
            "amount_minor": report.amount_minor,
            "refunded_minor": report.refunded_minor,
            "reference": report.reference,
            "terms": report.terms,
            "contributors": report.contributors,
            "postings": report.postings,
            "reversals": [{"refund_key": k} | v for k, v in report.reversals.items()],
        }
        return as_view(row, RevenueReportRead)

    # --- payouts ----------------------------------------------------------------------------

    def run_payouts(self, run_key: str) -> PayoutRunRead:
        """Pay every artist balance at or above its currency's threshold; idempotent by run key.

        Erased artists are not paid (nobody can be reached, their identity is destroyed): their
        balance is listed as held and stays on their account until a release.
        """
        key = _key(run_key, "run key")
        # A lost race means another run paid meanwhile: balances are read afresh on each try.
        result = self.ledger.retry(lambda: self._pay(key), "the payout desk")
        self.projection.catch_up()
        return as_view(result, PayoutRunRead)

    def _pay(self, key: str) -> dict[str, Any]:
        """One try of a payout run, from a fresh read of the desk and the balances."""
        desk = self.ledger.find(PayoutDesk.DESK_ID, PayoutDesk) or PayoutDesk()
        if key in desk.runs:
            return {"run_key": key, "repeated": True} | desk.runs[key]
        self.projection.catch_up()
        payouts: list[Payout] = []
        held: list[dict[str, Any]] = []
        thresholds: dict[str, int] = {}
        for row in checked_balances(self.projection, ARTIST_PREFIX):
            if not row["account"].startswith(ARTIST_PREFIX):
                continue
            currency, balance = row["currency"], row["balance"]
            thresholds[currency] = self.settings.threshold(currency)
            if balance < thresholds[currency]:
                continue
            artist_id = artist_of(row["account"])
            if self.ledger.get_artist(artist_id).erased:
                held.append({"artist_id": str(artist_id), "currency": currency, "amount": balance})
                continue
            payouts.append(Payout.make(key, artist_id, currency, balance))
        summary = [
            {
                "payout_id": str(p.id),
                "artist_id": str(p.artist_id),
                "currency": p.currency,
                "amount": p.amount_minor,
            }
            for p in payouts
        ]
        desk.record_run(key, thresholds, summary, held)
        self.ledger.save(desk, *payouts)
        return {"run_key": key, "repeated": False} | desk.runs[key]

    def fail_payout(self, payout_id: UUID, reason: str) -> Payout:
        """The payment rail could not deliver: reverse the payout, restoring the balance."""
        reason = text(reason, "payout failure reason", limit=MAX_REASON, required=False)

        def fail() -> Payout:
            payout = self.ledger.get_aggregate(payout_id, Payout, "payout")
            if payout.fail(reason):
                self.ledger.save(payout)
            return payout

        payout = self.ledger.retry(fail, f"payout {payout_id}")
        self.projection.catch_up()
        return payout

    def release_held(self, artist_id: UUID, currency: str, release_key: str) -> ReleaseRead:
        """Move an erased artist's whole held balance in `currency` to the community pool."""
        key = _key(release_key, "release key")
        code = currency_code(currency)
        artist = self.ledger.get_artist(artist_id)
        if not artist.erased:
            raise Conflict(f"artist {artist_id} is not erased: their balance is paid, not released")

        def release() -> dict[str, Any]:
            desk = self.ledger.find(PayoutDesk.DESK_ID, PayoutDesk) or PayoutDesk()
            if key not in desk.releases:
                self.projection.catch_up()  # afresh on each try: a lost race moved balances
                account = artist_account(str(artist_id))
                balance = sum(
                    r["balance"]
                    for r in checked_balances(self.projection, account)
                    if r["account"] == account and r["currency"] == code
                )
                if balance <= 0:
                    raise InvalidInput(f"artist {artist_id} holds no {code} balance to release")
                desk.release_held(key, artist_id, code, balance)
                self.ledger.save(desk)
            elif desk.releases[key]["artist_id"] != str(artist_id):
                raise Conflict(f"release key {key!r} was used for another balance")
            released: dict[str, Any] = desk.releases[key]
            return released

        released = self.ledger.retry(release, "the payout desk")
        self.projection.catch_up()
        return as_view({"release_key": key} | released, ReleaseRead)

    # --- reading ----------------------------------------------------------------------------

    def balances(self) -> list[BalanceRead]:
        """Every account's balance per currency; artists shown by pseudonym, erased ones as held."""
        self.projection.catch_up()
        return self._balance_views(self.projection.balances())

    def balance_page(self, cursor: str | None, limit: int) -> tuple[list[BalanceRead], str | None]:
        """A page of `balances` in (account, currency) order, and the cursor of the next page
        (None on the last). A cursor is opaque to callers; one this cannot read is refused."""
        self.projection.catch_up()
        after = decode_cursor(cursor, 2)
        rows = self.projection.balances(
            after=None if after is None else (str(after[0]), str(after[1])), limit=limit + 1
        )
        page, more = rows[:limit], len(rows) > limit
        last = encode_cursor((page[-1]["account"], page[-1]["currency"])) if more else None
        return self._balance_views(page), last

    def artist_balance(self, artist_id: UUID) -> ArtistBalanceRead:
        """One artist's balance per currency (none before their first earning)."""
        self.ledger.artist_view(artist_id)  # an unknown artist is a NotFound, not an empty list
        self.projection.catch_up()
        rows = self.projection.balances([artist_account(str(artist_id))])
        return ArtistBalanceRead(artist_id=str(artist_id), balances=self._balance_views(rows))

    def _balance_views(self, rows: list[dict[str, Any]]) -> list[BalanceRead]:
        for row in rows:
            if row["account"].startswith(ARTIST_PREFIX):
                view = self.ledger.artist_view(artist_of(row["account"]))
                row["pseudonym"] = view.pseudonym
                row["held"] = view.erased
        return [as_view(row, BalanceRead) for row in rows]

    def statement(self, artist_id: UUID, start: datetime, end: datetime) -> StatementRead:
        """Credits, revenue lines, reversals, payouts and balances of one artist in [start, end)."""
        start, end = aware(start, "period start"), aware(end, "period end")
        if end <= start:
            raise InvalidInput("the period must end after it starts")
        view = self.ledger.artist_view(artist_id)
        self.projection.catch_up()
        account = artist_account(str(artist_id))
        start_ms, end_ms = epoch_ms(start), epoch_ms(end)
        opening, lines = check_statement(
            self.projection,
            account,
            (start_ms, end_ms),
            lambda: (
                self.projection.opening(account, start_ms),
                self.projection.lines(account, start_ms, end_ms),
            ),
        )
        return build_statement(
            credited_by=credited_by(self.ledger, lines),
            artist={
                "artist_id": str(artist_id),
                "pseudonym": view.pseudonym,
                "founding": view.founding,
                "erased": view.erased,
            },
            start=start,
            end=end,
            opening=opening,
            lines=lines,
        )
