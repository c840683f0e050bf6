"""Read models of the royalty service: reports, payout runs, releases, balances, statements.

Frozen msgspec Structs (see `ledger.views`): field names and order are the JSON keys the CLI has
always printed; money is integer minor units. Artists appear by id and pseudonym, never identity.
Views are made with `msgspec.convert` from the rows the service assembles, so a row of the wrong
shape is caught here rather than in a front end.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from ledger.model_views import CreditStabilityRead
from ledger.views import View

ViewT = TypeVar("ViewT", bound=View)


def as_view(data: Any, kind: type[ViewT]) -> ViewT:
    """Plain rows (dicts and lists) as a typed view; a row of the wrong shape is a bug here."""
    return msgspec.convert(data, kind)


# --- revenue reports -----------------------------------------------------------------------


class TermsRead(View, frozen=True, kw_only=True):
    platform_bps: int
    founding_bonus_bps: int


class ContributorRead(View, frozen=True, kw_only=True):
    """An artist credited by the report and the attribution ppm that could earn."""

    artist_id: str
    eligible_ppm: int
    founding: bool


class PostingRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """One line of a balanced transaction; `share_ppm` and `line` only where they apply."""

    account: str
    amount: int
    kind: str
    share_ppm: int | None = None
    line: int | None = None


class ReversalRead(View, frozen=True, kw_only=True):
    """A refund or chargeback of part of a report, with its own balanced postings."""

    refund_key: str
    kind: str
    amount_minor: int
    reason: str
    body_sha256: str
    postings: list[PostingRead]


class RevenueReportRead(View, frozen=True, kw_only=True):
    report_id: str
    idempotency_key: str
    generation_id: str
    attribution_id: str
    currency: str
    amount_minor: int
    refunded_minor: int
    reference: str
    terms: TermsRead
    contributors: list[ContributorRead]
    postings: list[PostingRead]
    reversals: list[ReversalRead]


# --- payouts -------------------------------------------------------------------------------


class PaidRead(View, frozen=True, kw_only=True):
    payout_id: str
    artist_id: str
    currency: str
    amount: int


class HeldRead(View, frozen=True, kw_only=True):
    """A balance not paid because its artist was erased."""

    artist_id: str
    currency: str
    amount: int


class PayoutRunRead(View, frozen=True, kw_only=True):
    run_key: str
    repeated: bool
    thresholds: dict[str, int]
    payouts: list[PaidRead]
    held: list[HeldRead]


class ReleaseRead(View, frozen=True, kw_only=True):
    """An erased artist's held balance moved to the community pool."""

    release_key: str
    artist_id: str
    currency: str
    amount_minor: int


# --- reading -------------------------------------------------------------------------------


class BalanceRead(View, frozen=True, kw_only=True, omit_defaults=True):
    """One account's balance in one currency; artist accounts add pseudonym and held."""

    account: str
    currency: str
    balance: int
    postings: int
    pseudonym: str | None = None
    held: bool | None = None


class ArtistBalanceRead(View, frozen=True, kw_only=True):
    """One artist's balances, one per currency they have postings in."""

    artist_id: str
    balances: list[BalanceRead]


class StatementArtistRead(View, frozen=True, kw_only=True):
    artist_id: str
    pseudonym: str
    founding: bool
    erased: bool


class PeriodRead(View, frozen=True, kw_only=True):
    start: str
    end: str


class StatementCreditRead(View, frozen=True, kw_only=True):
    """What one generation earned the artist in the period, and how stable that credit is:
    the attribution its first report in the period was split by (whose share is `share_ppm`)
    and the credit agreement across projection seeds recorded with it (None: not recorded)."""

    generation_id: str | None
    reports: int
    share_ppm: int | None
    earned: int
    attribution_id: str | None = None
    credit_stability: CreditStabilityRead | None = None


class RevenueLineRead(View, frozen=True, kw_only=True):
    at: str
    kind: str
    amount: int
    source_id: str
    generation_id: str | None
    gross: int | None
    share_ppm: int | None


class ReversalLineRead(View, frozen=True, kw_only=True):
    at: str
    kind: str
    amount: int
    source_id: str
    generation_id: str | None
    share_ppm: int | None


class PayoutLineRead(View, frozen=True, kw_only=True):
    at: str
    kind: str
    amount: int
    source_id: str


class DailyRead(View, frozen=True, kw_only=True):
    day: str
    earned: int


class CurrencyStatementRead(View, frozen=True, kw_only=True):
    """One currency of a statement: opening, movements and closing balance."""

    currency: str
    opening_balance: int
    earned: int
    reversed: int
    paid_out: int
    credits: list[StatementCreditRead]
    revenue_lines: list[RevenueLineRead]
    reversals: list[ReversalLineRead]
    payouts: list[PayoutLineRead]
    daily: list[DailyRead]
    closing_balance: int


class StatementRead(View, frozen=True, kw_only=True):
    artist: StatementArtistRead
    period: PeriodRead
    currencies: list[CurrencyStatementRead]
