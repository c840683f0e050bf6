"""The postings read model's storage: the ledger's tracked views, holding the posting rows.

`ledger.tracked_view` writes rows and the tracking record (the greatest notification id
processed) in ONE transaction on the ledger's own datastore, for SQLite and PostgreSQL, with
single-row tracking and pages that re-check their position; this module adds what is the
postings' own: the table, one `Insert` per posting line, and the look-up of a report's or
payout's first rows that a later event (a refund, a failed payout) refers to.

The tracking table is `royalty_postings_tracking` (migration 0004), as the library's PostgreSQL
factory names a projection's table.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import Tracking

from ledger.application import MuseumLedger
from ledger.errors import IntegrityViolation
from ledger.tracked_view import (
    Insert,
    PostgresTrackedView,
    Raced,
    SQLiteTrackedView,
    TrackedView,
    tracked_view,
)

__all__ = [
    "TRACKING_TABLE",
    "PostgresPostingsView",
    "PostingsView",
    "Raced",
    "SQLitePostingsView",
    "postings_table",
    "view_for",
]

TRACKING_TABLE = "royalty_postings_tracking"

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
COLUMNS = [column.name for column in postings_table.columns]


FIRST_ROW = (
    sa.select(postings_table.c.currency, postings_table.c.generation_id)
    .where(postings_table.c.source_id == sa.bindparam("source_id"))
    .order_by(postings_table.c.notification_id, postings_table.c.line)
    .limit(1)
)


class PostingsView(TrackedView, ABC):
    """What the postings projection writes through; the queries read the table with SQL."""

    tracking_table = TRACKING_TABLE

    def record(self, rows: Sequence[Mapping[str, Any]], tracking: Tracking) -> None:
        """Insert one event's rows and its tracking record together: in the open page's
        transaction when a catch-up holds one, else in a transaction of their own."""
        self.write([Insert(postings_table, row) for row in rows], tracking)

    def clear(self, application_name: str, tables: Sequence[sa.Table] = (postings_table,)) -> None:
        """Delete every posting row and the position, in one transaction (a rebuild)."""
        super().clear(application_name, tables)

    def source_of(self, originator_id: UUID) -> dict[str, Any]:
        """Currency and generation of the report or payout a later event refers to, from the
        rows its first event projected (in the open page too): a projection run by the
        library's runner, with no ledger at hand, needs nothing else."""
        row = self.fetch_one(FIRST_ROW, {"source_id": str(originator_id)})
        if row is None:
            raise IntegrityViolation(
                f"the postings read model holds no row of {originator_id}, which a later "
                "event refers to; rebuild it with `museum royalties rebuild`"
            )
        return {"currency": row["currency"], "generation_id": row["generation_id"]}


class SQLitePostingsView(PostingsView, SQLiteTrackedView):
    """The postings on SQLite, in the ledger's file."""


class PostgresPostingsView(PostingsView, PostgresTrackedView):
    """The postings on PostgreSQL, beside the library's tracking table."""


def view_for(ledger: MuseumLedger) -> PostingsView:
    """The postings view on the ledger's own datastore (its tables come from migration 0004)."""
    view = tracked_view(ledger, SQLitePostingsView, PostgresPostingsView)
    assert isinstance(view, PostingsView)
    return view
