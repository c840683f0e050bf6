"""The postings read model: a SQL projection of the royalty events, rebuilt from them at will.

Built on eventsourcing 9.5's projection pieces. `RoyaltyPostings` is an
`eventsourcing.projection.Projection`: its `process_event` (dispatched on the event class) turns
one royalty event into its posting rows, one per line keyed by (notification id, line), and
hands them with the event's `Tracking` to the view (`royalties.postings_view`), which writes
both in one transaction. The library's tracking record is the position.

`PostingsProjection.catch_up` runs it with the ledger's pull runner
(`ledger.projection_runner.catch_up`, which explains why the library's `ProjectionRunner` is
not used in commands, and how two processes catching up at once stay correct): commands call it
for read-your-writes, and every read does one.

A live feed (the Atelier's) would, on PostgreSQL only, iterate
`ApplicationSubscription(app, gt=view.max_tracking_id(app.name), topics=RoyaltyPostings.topics)`
(LISTEN/NOTIFY: it blocks until events arrive) and call `process_event(domain_event, tracking)`
for each pair, on a `RoyaltyPostings` over a `PostgresPostingsView`, the same code as here. The
library's `ProjectionRunner` runs this class unchanged there (tested) when it is handed an
application class that reads the ledger without its keys: a plain `Application` subclass named
"museum", on the ledger's environment (the events are stored without a cipher), with
`view_class=PostgresPostingsView`. Feed and commands then share one tracking record.

Balances and statements are plain indexed SQL over these rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from ledger import projection_runner
from ledger.application import MuseumLedger
from ledger.topics import stored_topics
from royalties.domain import Payout, PayoutDesk, RevenueReport
from royalties.postings_view import TRACKING_TABLE, PostingsView, postings_table, view_for

__all__ = ["TRACKING_TABLE", "PostingsProjection", "RoyaltyPostings", "postings_table", "rows_of"]

NAME = "royalty_postings"
PAGE = projection_runner.PAGE  # read at each catch-up: a test may set smaller pages
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _event_class(owner: type, name: str) -> type:
    found: type = getattr(owner, name)
    return found


REPORTED = RevenueReport.RevenueReported
REVERSED = _event_class(RevenueReport, "RevenueReversed")
PAID = Payout.PayoutMade
FAILED = _event_class(Payout, "PayoutFailed")
RELEASED = _event_class(PayoutDesk, "HeldBalanceReleased")
TOPICS = stored_topics(REPORTED, REVERSED, PAID, FAILED, RELEASED)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970 in integer arithmetic (timestamps never go through a float)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def rows_of(
    notification_id: int, domain_event: DomainEvent, currency_of: Any
) -> list[dict[str, Any]]:
    """The posting rows of one royalty event: the projection's whole logic."""
    source = str(domain_event.originator_id)
    base: dict[str, Any] = {
        "notification_id": notification_id,
        "txn_id": f"{UUID(source).hex}:{domain_event.originator_version}",
        "source_id": source,
        "at_ms": epoch_ms(domain_event.timestamp),
        "generation_id": None,
        "gross": None,
    }
    lines: list[dict[str, Any]] = domain_event.postings  # type: ignore[attr-defined]
    if isinstance(domain_event, REPORTED):
        base |= {
            "txn_kind": "revenue",
            "currency": domain_event.currency,
            "generation_id": str(domain_event.generation_id),
            "gross": domain_event.amount_minor,
        }
    elif isinstance(domain_event, REVERSED):
        report = currency_of(domain_event.originator_id)
        base |= {
            "txn_kind": domain_event.kind,  # type: ignore[attr-defined]
            "currency": report["currency"],
            "generation_id": report["generation_id"],
            "gross": -domain_event.amount_minor,  # type: ignore[attr-defined]
        }
    elif isinstance(domain_event, PAID):
        base |= {"txn_kind": "payout", "currency": domain_event.currency}
    elif isinstance(domain_event, FAILED):
        base |= {
            "txn_kind": "payout_failed",
            "currency": currency_of(domain_event.originator_id)["currency"],
        }
    else:
        base |= {"txn_kind": "held_release", "currency": domain_event.currency}  # type: ignore[attr-defined]
    return [
        base
        | {
            "line": index,
            "kind": line["kind"],
            "account": line["account"],
            "amount": int(line["amount"]),
            "share_ppm": line.get("share_ppm"),
        }
        for index, line in enumerate(lines)
    ]


SourceOf = Callable[[UUID], dict[str, Any]]


class RoyaltyPostings(Projection[PostingsView]):
    """The library's projection shape: one `process_event` per royalty event class."""

    name = NAME
    topics = tuple(TOPICS)

    def __init__(self, view: PostingsView, source_of: SourceOf | None = None) -> None:
        """`source_of` answers a later event's report or payout (currency, generation); by
        default the view reads it from its own rows, so the library's `ProjectionRunner`,
        which builds a projection from its view alone, can run this class as it is."""
        super().__init__(view)
        self.source_of = view.source_of if source_of is None else source_of

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of no royalty class (none is selected by topic): only the position moves."""
        self.view.record([], tracking)

    @process_event.register(REPORTED)
    @process_event.register(REVERSED)
    @process_event.register(PAID)
    @process_event.register(FAILED)
    @process_event.register(RELEASED)
    def _postings(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        self.view.record(rows_of(tracking.notification_id, domain_event, self.source_of), tracking)


class PostingsProjection:
    """Catch up, rebuild and query the postings read model of one ledger."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine
        self._context: dict[UUID, dict[str, Any]] = {}
        self.view = view_for(ledger)
        self.postings = RoyaltyPostings(self.view, self.source_of)

    def position(self) -> int:
        """The greatest notification id projected: the view's tracking record (0 for none)."""
        return projection_runner.position(self.ledger, self.view)

    def source_of(self, originator_id: UUID) -> dict[str, Any]:
        """Currency and generation of the report or payout a later event refers to (cached)."""
        known = self._context.get(originator_id)
        if known is None:
            first = next(iter(self.ledger.events.get(originator_id, lte=1)))
            known = {
                "currency": first.currency,  # type: ignore[attr-defined]
                "generation_id": str(getattr(first, "generation_id", "")) or None,
            }
            self._context[originator_id] = known
        return known

    def catch_up(self) -> int:
        """Project every royalty event recorded since the position; returns rows written."""
        return projection_runner.catch_up(
            self.ledger, self.postings, page_size=PAGE, what="the postings projection"
        )

    def rebuild(self) -> int:
        """Drop the read model's rows and project every royalty event again, from the start."""
        self.view.clear(self.ledger.name)
        return self.catch_up()

    # --- queries ----------------------------------------------------------------------------

    def balances(
        self,
        accounts: Sequence[str] | None = None,
        *,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Balance of every (account, currency): the sum of its postings, in (account, currency)
        order; a page of them from the keyset `after` (exclusive), at most `limit` rows."""
        account, currency = postings_table.c.account, postings_table.c.currency
        query = sa.select(
            account, currency, sa.func.sum(postings_table.c.amount), sa.func.count()
        ).group_by(account, currency)
        if accounts is not None:
            query = query.where(account.in_(list(accounts)))
        if after is not None:
            query = query.where(
                sa.or_(account > after[0], sa.and_(account == after[0], currency > after[1]))
            )
        query = query.order_by(account, currency)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as c:
            result = c.execute(query)
            return [
                {"account": r[0], "currency": r[1], "balance": int(r[2]), "postings": int(r[3])}
                for r in result
            ]

    def totals(self) -> dict[str, int]:
        """Sum of all postings per currency: zero whenever every transaction balances."""
        with self.engine.connect() as c:
            result = c.execute(
                sa.select(postings_table.c.currency, sa.func.sum(postings_table.c.amount)).group_by(
                    postings_table.c.currency
                )
            )
            return {r[0]: int(r[1]) for r in result}

    def opening(self, account: str, before_ms: int) -> dict[str, int]:
        with self.engine.connect() as c:
            result = c.execute(
                sa.select(postings_table.c.currency, sa.func.sum(postings_table.c.amount))
                .where(postings_table.c.account == account, postings_table.c.at_ms < before_ms)
                .group_by(postings_table.c.currency)
            )
            return {r[0]: int(r[1]) for r in result}

    def lines(self, account: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """Every posting of the account in [start, end), in ledger order."""
        columns = [
            postings_table.c.notification_id,
            postings_table.c.line,
            postings_table.c.txn_kind,
            postings_table.c.kind,
            postings_table.c.currency,
            postings_table.c.amount,
            postings_table.c.share_ppm,
            postings_table.c.generation_id,
            postings_table.c.source_id,
            postings_table.c.gross,
            postings_table.c.at_ms,
        ]
        names = [column.name for column in columns]
        with self.engine.connect() as c:
            result = c.execute(
                sa.select(*columns)
                .where(
                    postings_table.c.account == account,
                    postings_table.c.at_ms >= start_ms,
                    postings_table.c.at_ms < end_ms,
                )
                .order_by(postings_table.c.notification_id, postings_table.c.line)
            )
            return [dict(zip(names, row, strict=True)) for row in result]

    def rows_for(self, sources: Iterable[UUID]) -> list[dict[str, Any]]:
        """Every row projected from the given reports or payouts (tests and audits)."""
        ids = [str(s) for s in sources]
        with self.engine.connect() as c:
            result = c.execute(
                sa.select(postings_table)
                .where(postings_table.c.source_id.in_(ids))
                .order_by(postings_table.c.notification_id, postings_table.c.line)
            )
            return [dict(row._mapping) for row in result]
