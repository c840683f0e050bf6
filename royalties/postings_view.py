"""The postings read model's storage: eventsourcing tracking recorders that also hold the rows.

eventsourcing 9.5's way to materialise a view is a `TrackingRecorder` subclass: the view writes
its rows and the tracking record (the greatest notification id it has processed) in ONE
transaction, so a crash leaves both or neither. These two views do that on the ledger's own
datastore (the same connection pool as its events), for SQLite and PostgreSQL.

The tracking table is `royalty_postings_tracking` (migration 0004), as the library's PostgreSQL
factory names a projection's table, and single-row as the library makes it: a tracking insert
that does not move the position forward fails, so a second process projecting the same event
fails on it and rolls back its rows too. A page (several events, one transaction) also
re-reads the position it started from, inside the transaction, so a rebuild that reset it
meanwhile is noticed rather than written over.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresFactory, PostgresTrackingRecorder
from eventsourcing.sqlite import (
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)
from psycopg.sql import SQL, Identifier

from ledger.application import MuseumLedger
from ledger.errors import ConfigurationError, IntegrityViolation

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


class Raced(Exception):
    """Another process moved the position since this page started: read it again."""


@dataclass
class Page:
    """One open write transaction of a catch-up: the cursor, and what its events recorded.

    The rows and the latest tracking record wait here and go out together when the page
    closes (one multi-row INSERT, one tracking upsert), still in the page's transaction: with
    single-row tracking the last record says all the earlier ones would have said."""

    cursor: Any
    rows: int = 0
    pending: list[Mapping[str, Any]] = field(default_factory=list)
    tracking: Tracking | None = None


class PostingsView(TrackingRecorder, ABC):
    """What the postings projection writes through; the queries read the table with SQL."""

    _local: threading.local
    # Provided by the library's recorder classes each view also derives from (annotations only,
    # so they do not shadow the implementations further along the method resolution order).
    datastore: Any
    _insert_tracking: Callable[[Any, Tracking], None]

    def record(self, rows: Sequence[Mapping[str, Any]], tracking: Tracking) -> None:
        """Insert one event's rows and its tracking record together: in the open page's
        transaction when a catch-up holds one, else in a transaction of their own."""
        page: Page | None = getattr(self._local, "page", None)
        if page is None:
            with self.datastore.transaction(commit=True) as cursor:
                self._write(cursor, rows, tracking)
            return
        if page.tracking is not None and tracking.notification_id <= page.tracking.notification_id:
            raise IntegrityError(f"tracking {tracking.notification_id} does not move forward")
        page.pending += rows
        page.rows += len(rows)
        page.tracking = tracking

    @contextmanager
    def page(self, application_name: str, start: int) -> Iterator[Page]:
        """One transaction for several `record` calls, refused (`Raced`) unless the position is
        still `start` inside it."""
        with self.datastore.transaction(commit=True) as cursor:
            if (self._locked_position(cursor, application_name) or 0) != start:
                raise Raced
            page = Page(cursor)
            self._local.page = page
            try:
                yield page
                self._flush(page)
            finally:
                self._local.page = None

    def _flush(self, page: Page) -> None:
        if page.tracking is not None:
            self._write(page.cursor, page.pending, page.tracking)
        page.pending = []

    def clear(self, application_name: str) -> None:
        """Delete every row and the position, in one transaction (a rebuild starts here)."""
        with self.datastore.transaction(commit=True) as cursor:
            self._clear(cursor, application_name)

    def source_of(self, originator_id: UUID) -> dict[str, Any]:
        """Currency and generation of the report or payout a later event refers to, from the
        rows its first event projected (in the open page too): a projection run by the
        library's runner, with no ledger at hand, needs nothing else."""
        page: Page | None = getattr(self._local, "page", None)
        if page is not None:
            if page.pending:
                cursor = page.cursor
                cursor.executemany(self._insert_postings, [dict(r) for r in page.pending])
                page.pending = []
            row = self._first_row(page.cursor, str(originator_id))
        else:
            with self.datastore.transaction(commit=False) as cursor:
                row = self._first_row(cursor, str(originator_id))
        if row is None:
            raise IntegrityViolation(
                f"the postings read model holds no row of {originator_id}, which a later "
                "event refers to; rebuild it with `museum royalties rebuild`"
            )
        return row

    def _first_row(self, cursor: Any, source_id: str) -> dict[str, Any] | None:
        cursor.execute(self._select_source, {"source_id": source_id})
        row = cursor.fetchone()
        if row is None:
            return None
        return {"currency": row["currency"], "generation_id": row["generation_id"]}

    def _write(self, cursor: Any, rows: Sequence[Mapping[str, Any]], tracking: Tracking) -> None:
        if rows:
            cursor.executemany(self._insert_postings, [dict(row) for row in rows])
        self._insert_tracking(cursor, tracking)

    @property
    @abstractmethod
    def _insert_postings(self) -> Any:
        """The INSERT of one posting row, in the driver's parameter style."""

    @property
    @abstractmethod
    def _select_source(self) -> Any:
        """The first row of one source, by `source_id`, in the driver's parameter style."""

    @abstractmethod
    def _locked_position(self, cursor: Any, application_name: str) -> int | None:
        """The position, read so that no other writer can move it before this one commits."""

    @abstractmethod
    def _clear(self, cursor: Any, application_name: str) -> None:
        """Delete the rows and the application's tracking record."""


class SQLitePostingsView(PostingsView, SQLiteTrackingRecorder):
    """On SQLite the library's tracking table is always `tracking` (one file, one view); ours
    shares the ledger's file, so the statements name `royalty_postings_tracking` instead."""

    def __init__(self, datastore: SQLiteDatastore, *, tracking_table_name: str = TRACKING_TABLE):
        if not datastore.single_row_tracking:
            raise ConfigurationError("the postings view needs single-row tracking")
        self.tracking_table_name = tracking_table_name
        super().__init__(datastore)
        table = tracking_table_name
        self.insert_tracking_statement = (
            f"INSERT INTO {table} VALUES (:application_name, :notification_id) "  # noqa: S608
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
            f"WHERE {table}.notification_id < :notification_id RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {table} WHERE application_name=?"  # noqa: S608
        )
        self._local = threading.local()

    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.tracking_table_name} (application_name TEXT, "
            "notification_id INTEGER, PRIMARY KEY (application_name)) WITHOUT ROWID"
        ]

    @property
    def _insert_postings(self) -> str:
        names = ", ".join(COLUMNS)
        values = ", ".join(f":{name}" for name in COLUMNS)
        return f"INSERT INTO royalty_postings ({names}) VALUES ({values})"  # noqa: S608

    @property
    def _select_source(self) -> str:
        return (
            "SELECT currency, generation_id FROM royalty_postings WHERE source_id = :source_id "
            "ORDER BY notification_id, line LIMIT 1"
        )

    def _locked_position(self, cursor: SQLiteCursor, application_name: str) -> int | None:
        # SQLite (WAL): a read transaction that later writes fails if another writer committed
        # after the read, so this plain read is as good as a lock.
        return self._max_tracking_id(application_name, cursor)

    def _clear(self, cursor: SQLiteCursor, application_name: str) -> None:
        cursor.execute("DELETE FROM royalty_postings")
        cursor.execute(
            f"DELETE FROM {self.tracking_table_name} WHERE application_name = ?",  # noqa: S608
            (application_name,),
        )


class PostgresPostingsView(PostingsView, PostgresTrackingRecorder):
    """The library's PostgreSQL tracking recorder, with the rows beside it."""

    def __init__(
        self, datastore: PostgresDatastore, *, tracking_table_name: str = TRACKING_TABLE
    ) -> None:
        if not datastore.single_row_tracking:
            raise ConfigurationError("the postings view needs single-row tracking")
        super().__init__(datastore, tracking_table_name=tracking_table_name)
        self._local = threading.local()

    def _table(self) -> Any:
        return SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )

    @property
    def _insert_postings(self) -> Any:
        return SQL("INSERT INTO royalty_postings ({0}) VALUES ({1})").format(
            SQL(", ").join(Identifier(name) for name in COLUMNS),
            SQL(", ").join(SQL(f"%({name})s") for name in COLUMNS),
        )

    @property
    def _select_source(self) -> str:
        return (
            "SELECT currency, generation_id FROM royalty_postings "
            "WHERE source_id = %(source_id)s ORDER BY notification_id, line LIMIT 1"
        )

    def _locked_position(self, cursor: Any, application_name: str) -> int | None:
        cursor.execute(
            SQL("SELECT notification_id FROM {0} WHERE application_name = %s FOR UPDATE").format(
                self._table()
            ),
            (application_name,),
        )
        row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])

    def _clear(self, cursor: Any, application_name: str) -> None:
        cursor.execute("DELETE FROM royalty_postings")
        cursor.execute(
            SQL("DELETE FROM {0} WHERE application_name = %s").format(self._table()),
            (application_name,),
        )


def view_for(ledger: MuseumLedger) -> PostingsView:
    """The postings view on the ledger's own datastore (its tables come from migration 0004)."""
    factory = ledger.factory
    if isinstance(factory, SQLiteFactory):
        return SQLitePostingsView(factory.datastore)
    if isinstance(factory, PostgresFactory):
        return PostgresPostingsView(factory.datastore)
    raise ConfigurationError(f"no postings view for {type(factory).__name__}")
