"""The postings read model: a SQL projection of the royalty events, rebuilt from them at will.

This is the one adapter in `royalties/` that does I/O. Each royalty event carries its own
balanced postings; the projection copies them, one row per line, keyed by (notification id,
line), and moves its tracking position in the same transaction. A crash between an event's save
and its projection loses nothing: the next catch-up (every read does one) picks it up. Two
processes catching up at once cannot both write a page: the position update is conditional.

Balances and statements are plain indexed SQL over these rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.domain import DomainEvent

from ledger.application import MuseumLedger
from ledger.errors import Conflict
from ledger.topics import stored_topics
from royalties.domain import Payout, PayoutDesk, RevenueReport

NAME = "royalty_postings"
PAGE = 1000
ATTEMPTS = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

metadata = sa.MetaData()
postings_table = sa.Table(
    "royalty_postings",
    metadata,
    sa.Column("notification_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("txn_id", sa.String(48), nullable=False),
    sa.Column("txn_kind", sa.String(24), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("share_ppm", sa.Integer, nullable=True),
    sa.Column("generation_id", sa.String(36), nullable=True),
    sa.Column("source_id", sa.String(36), nullable=False),
    sa.Column("gross", sa.BigInteger, nullable=True),
    sa.Column("at_ms", sa.BigInteger, nullable=False),
)
position_table = sa.Table(
    "royalty_projection",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)


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


class PostingsProjection:
    """Catch up, rebuild and query the postings read model of one ledger."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine
        self._context: dict[UUID, dict[str, Any]] = {}

    def position(self) -> int:
        with self.engine.connect() as c:
            value = c.execute(
                sa.select(position_table.c.position).where(position_table.c.name == NAME)
            ).scalar_one()
        return int(value)

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
        written = 0
        attempts = 0
        while True:
            start = self.position()
            page = self.ledger.recorder.select_notifications(
                start, PAGE, topics=TOPICS, inclusive_of_start=False
            )
            if not page:
                return written
            rows: list[dict[str, Any]] = []
            for notification in page:
                domain_event = self.ledger.mapper.to_domain_event(notification)
                rows += rows_of(notification.id, domain_event, self.source_of)  # type: ignore[arg-type]
            try:
                with self.engine.begin() as c:
                    moved = c.execute(
                        position_table.update()
                        .where(position_table.c.name == NAME, position_table.c.position == start)
                        .values(position=page[-1].id)
                    ).rowcount
                    if moved != 1:
                        raise _Raced
                    if rows:
                        c.execute(postings_table.insert(), rows)
            except (_Raced, sa.exc.OperationalError, sa.exc.IntegrityError):
                attempts += 1
                if attempts >= ATTEMPTS:
                    raise Conflict("the postings projection is busy; try again") from None
                continue
            written += len(rows)

    def rebuild(self) -> int:
        """Drop the read model's rows and project every royalty event again, from the start."""
        with self.engine.begin() as c:
            c.execute(
                position_table.update().where(position_table.c.name == NAME).values(position=0)
            )
            c.execute(postings_table.delete())
        return self.catch_up()

    # --- queries ----------------------------------------------------------------------------

    def balances(self, accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Balance of every (account, currency): the sum of its postings."""
        query = sa.select(
            postings_table.c.account,
            postings_table.c.currency,
            sa.func.sum(postings_table.c.amount),
            sa.func.count(),
        ).group_by(postings_table.c.account, postings_table.c.currency)
        if accounts is not None:
            query = query.where(postings_table.c.account.in_(list(accounts)))
        with self.engine.connect() as c:
            result = c.execute(query.order_by(postings_table.c.account, postings_table.c.currency))
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


class _Raced(Exception):
    """Another process projected this page first."""
