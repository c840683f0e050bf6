"""Royalties over HTTP: revenue reports (idempotent by key), refunds, payout runs, balances and
statements (JSON, HTML, CSV). Thin: each handler parses, checks the principal, calls
`RoyaltyService` and returns its view.

Idempotency: `POST /revenue` and `POST /revenue/{key}/refunds` need an `Idempotency-Key` header,
refused (never trimmed or normalised) unless it is a key by `ledger.validation.key`. The first
call books and answers 201; a repeat with the same key and the same body answers the same 201
and the same report, with `Idempotent-Replayed: true`, and books nothing; the same key with
another body is a 409. HTTP itself drops spaces and tabs around a header's value before the
app sees it (RFC 9110, 5.5), so those never reach the key rule; anything else is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from api.http.auth.access import allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.pagination import MAX_PAGE, Cursor, Page, page
from api.http.royalties.schemas import PayoutRunCreate, RefundCreate, RevenueCreate
from royalties.service import Booking
from royalties.statement import render_csv, render_html
from royalties.views import (
    ArtistBalanceRead,
    BalanceRead,
    PayoutRunRead,
    RevenueReportRead,
    StatementRead,
)

REPLAYED = "Idempotent-Replayed"
IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        description="1-128 ASCII letters, digits, '.', '_', ':', '-' (first a letter or digit); "
        "one key names one booking, so a retry sends it byte for byte.",
    ),
]
ReportKey = Annotated[
    str, PathParameter(description="The Idempotency-Key the report was made with.")
]
PageLimit = Annotated[
    int | None,
    QueryParameter(
        name="limit",
        ge=1,
        le=MAX_PAGE,
        description="Items per page (default: the server's page size, 50).",
    ),
]
Start = Annotated[
    datetime, QueryParameter(name="start", description="Period start, ISO 8601 with a zone.")
]
End = Annotated[
    datetime,
    QueryParameter(name="end", description="Period end (exclusive), ISO 8601 with a zone."),
]
REPLAY_HEADERS = [
    ResponseHeader(
        name=REPLAYED,
        description="`true` when this answer repeats the first booking under the key.",
        documentation_only=True,
        required=False,
    )
]


def _booked(museum: Museum, booking: Booking) -> Response[RevenueReportRead]:
    view = museum.royalties.report_view(booking.report)
    headers = {REPLAYED: "true"} if booking.replayed else {}
    return Response(view, status_code=HTTP_201_CREATED, headers=headers)


class RevenueController(Controller):
    path = "/revenue"
    tags = ("royalties",)

    @post(
        "/",
        opt=allow(Role.INTEGRATOR),
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        response_headers=REPLAY_HEADERS,
    )
    def report(
        self, data: JSONBody[RevenueCreate], idempotency_key: IdempotencyKey, museum: Museum
    ) -> Response[RevenueReportRead]:
        """Report commercial use of a generation: the amount is split by its attribution and
        booked at once. Same key and body again: the first answer (201, `Idempotent-Replayed:
        true`), nothing booked; same key, other body: 409."""
        booking = museum.royalties.book_revenue(
            generation_id=data.generation(),
            amount_minor=data.amount_minor,
            currency=data.currency,
            reference=data.reference,
            idempotency_key=idempotency_key,
            attribution_id=data.attribution(),
        )
        return _booked(museum, booking)

    @get("/{key:str}", opt=allow(Role.INTEGRATOR, Role.COMPLIANCE), sync_to_thread=True)
    def get_report(self, key: ReportKey, museum: Museum) -> RevenueReportRead:
        """A revenue report by its idempotency key, with its postings and any reversals.
        Integrators read every integrator's reports (the museum does not record which key
        reported one); reports hold artist ids, never personal data."""
        return museum.royalties.report_view(museum.royalties.get_report(key))

    @post(
        "/{key:str}/refunds",
        opt=allow(Role.INTEGRATOR),
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        response_headers=REPLAY_HEADERS,
    )
    def refund(
        self,
        key: ReportKey,
        data: JSONBody[RefundCreate],
        idempotency_key: IdempotencyKey,
        museum: Museum,
    ) -> Response[RevenueReportRead]:
        """Reverse part or all of a report in proportion to its lines (never more than was
        booked); the `Idempotency-Key` header keys the refund itself. Answers the report."""
        booking = museum.royalties.book_refund(
            key,
            refund_key=idempotency_key,
            amount_minor=data.amount_minor,
            kind=data.kind,
            reason=data.reason,
        )
        return _booked(museum, booking)


class PayoutController(Controller):
    path = "/payout-runs"
    tags = ("royalties",)

    @post(
        "/",
        opt=allow(Role.CURATOR),
        sync_to_thread=True,
        status_code=HTTP_201_CREATED,
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=PayoutRunRead, description="The run of a key used before."
            )
        },
    )
    def run(self, data: JSONBody[PayoutRunCreate], museum: Museum) -> Response[PayoutRunRead]:
        """Pay every artist balance at or above its currency's threshold (erased donors' are
        held). 201 for a new run; a run key used before answers that run with 200 and
        `repeated: true`."""
        result = museum.royalties.run_payouts(data.run_key)
        return Response(result, status_code=HTTP_200_OK if result.repeated else HTTP_201_CREATED)


class BalanceController(Controller):
    tags = ("royalties",)

    @get("/balances", opt=allow(Role.COMPLIANCE), sync_to_thread=True)
    def balances(
        self, museum: Museum, cursor: Cursor = None, limit: PageLimit = None
    ) -> Page[BalanceRead]:
        """Every account's balance per currency (artists by pseudonym, erased donors' held),
        in account order, a page at a time."""
        size = limit or museum.http.page_size
        items, next_cursor = museum.royalties.balance_page(cursor, size)
        return page(items, size, next_cursor)

    @get(
        "/artists/{artist_id:uuid}/balance",
        opt=allow(Role.ARTIST, Role.COMPLIANCE),
        sync_to_thread=True,
    )
    def artist_balance(
        self, artist_id: FromPath[UUID], museum: Museum, principal: Caller
    ) -> ArtistBalanceRead:
        """An artist's balance per currency: their own, or anyone's for compliance."""
        principal.require_artist(artist_id)
        return museum.royalties.artist_balance(artist_id)


class StatementController(Controller):
    path = "/artists/{artist_id:uuid}"
    tags = ("royalties",)

    @staticmethod
    def _statement(
        museum: Museum,
        principal: Caller,
        artist_id: FromPath[UUID],
        start: datetime,
        end: datetime,
    ) -> StatementRead:
        principal.require_artist(artist_id)
        return museum.royalties.statement(artist_id, start, end)

    @get("/statement", opt=allow(Role.ARTIST, Role.COMPLIANCE), sync_to_thread=True)
    def statement(
        self, artist_id: FromPath[UUID], start: Start, end: End, museum: Museum, principal: Caller
    ) -> StatementRead:
        """An artist's statement for [start, end): per currency the opening balance, credits
        per generation, revenue lines, reversals, payouts and the closing balance."""
        return self._statement(museum, principal, artist_id, start, end)

    @get(
        "/statement.html",
        opt=allow(Role.ARTIST, Role.COMPLIANCE),
        sync_to_thread=True,
        media_type=MediaType.HTML,
    )
    def statement_html(
        self, artist_id: FromPath[UUID], start: Start, end: End, museum: Museum, principal: Caller
    ) -> str:
        """The same statement as one self-contained HTML page (no scripts, no outside assets)."""
        return render_html(self._statement(museum, principal, artist_id, start, end))

    @get(
        "/statement.csv",
        opt=allow(Role.ARTIST, Role.COMPLIANCE),
        sync_to_thread=True,
        media_type="text/csv",
    )
    def statement_csv(
        self, artist_id: FromPath[UUID], start: Start, end: End, museum: Museum, principal: Caller
    ) -> Response[str]:
        """The statement's lines for accounting (RFC 4180): a header row, then one row per
        revenue line, reversal and payout, amounts in minor units beside their currency."""
        found = self._statement(museum, principal, artist_id, start, end)
        name = f"statement-{artist_id}-{found.period.start[:10]}-{found.period.end[:10]}.csv"
        return Response(
            render_csv(found), headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
