"""Read-model storage on eventsourcing's tracking recorders: rows and position in one transaction.

eventsourcing 9.5 materialises a view as a `TrackingRecorder` subclass that writes its rows and
the tracking record (the greatest notification id processed) in ONE transaction, so a crash
leaves both or neither. `TrackedView` does that on the ledger's own datastore (the connection
pool of its events), for SQLite and PostgreSQL, for any read model: a projection hands it row
changes (`Insert`, `Update`) with the event's `Tracking`. The statements are SQLAlchemy Core,
compiled once per dialect into the driver's own SQL, so a read model states each write once.

Tracking is single-row, as the library makes it: a tracking insert that does not move the
position forward fails, so a second process projecting the same event fails on it and rolls
its rows back too. A page (several events, one transaction; see `ledger.projection_runner`)
also re-reads its starting position inside the transaction, locked, so a position moved by
another process or reset by a rebuild meanwhile is noticed (`Raced`) rather than written over.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from typing import Any, ClassVar

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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from ledger.application import MuseumLedger
from ledger.errors import ConfigurationError


@dataclass(frozen=True)
class Insert:
    """A new row (a row already there under its key is an IntegrityError: someone raced us)."""

    table: sa.Table
    row: Mapping[str, Any]


@dataclass(frozen=True)
class Update:
    """Set, or add to, columns of the row with this primary key; no such row, no change."""

    table: sa.Table
    key: Mapping[str, Any]
    values: Mapping[str, Any] = field(default_factory=dict)
    add: Mapping[str, int] = field(default_factory=dict)


Change = Insert | Update


class Raced(Exception):
    """Another process moved the position since this page started: read it again."""


@dataclass
class Page:
    """One open write transaction of a catch-up: the cursor, and what its events recorded.

    The changes and the latest tracking record wait here and go out together when the page
    closes (runs of like statements as one `executemany`, one tracking upsert), still in the
    page's transaction: with single-row tracking the last record says all the earlier would."""

    cursor: Any
    rows: int = 0
    pending: list[Change] = field(default_factory=list)
    tracking: Tracking | None = None


class RowWriter(TrackingRecorder, ABC):
    """What a row projection writes through: a SQL view, or the audit's rows in memory."""

    @abstractmethod
    def write(self, changes: Sequence[Change], tracking: Tracking) -> None:
        """Apply one event's changes and record its tracking, together."""


def _statement(
    change: Change,
) -> tuple[sa.Table, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    if isinstance(change, Insert):
        return change.table, (), (), ()
    return change.table, tuple(change.key), tuple(change.values), tuple(change.add)


def _parameters(change: Change) -> dict[str, Any]:
    if isinstance(change, Insert):
        return dict(change.row)
    return (
        {f"k_{name}": value for name, value in change.key.items()}
        | {f"v_{name}": value for name, value in change.values.items()}
        | {f"a_{name}": value for name, value in change.add.items()}
    )


def _construct(shape: tuple[sa.Table, tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> Any:
    table, key, values, add = shape
    if not key:
        return sa.insert(table)
    columns: dict[Any, Any] = {table.c[n]: sa.bindparam(f"v_{n}") for n in values}
    columns |= {table.c[n]: table.c[n] + sa.bindparam(f"a_{n}") for n in add}
    where = [table.c[n] == sa.bindparam(f"k_{n}") for n in key]
    return sa.update(table).where(*where).values(columns)


@cache
def _compiled(statement: Any, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The driver's SQL of a Core statement, and the values of its own bound literals (cached
    per statement object: pass module-level statements, never ones built per call)."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


@cache
def _change_sql(
    shape: tuple[sa.Table, tuple[str, ...], tuple[str, ...], tuple[str, ...]], dialect: Dialect
) -> str:
    return _compiled(_construct(shape), dialect)[0]


@cache
def _delete_sql(table: sa.Table, dialect: Dialect) -> str:
    return _compiled(sa.delete(table), dialect)[0]


class TrackedView(RowWriter, ABC):
    """Rows and tracking on the ledger's datastore; queries read the tables with SQLAlchemy."""

    dialect: ClassVar[Dialect]
    tracking_table: ClassVar[str] = ""  # a subclass's default; else named at construction
    _local: threading.local
    # Provided by the library's recorder classes each view also derives from (annotations only,
    # so they do not shadow the implementations further along the method resolution order).
    datastore: Any
    tracking_table_name: str
    _insert_tracking: Callable[[Any, Tracking], None]

    def write(self, changes: Sequence[Change], tracking: Tracking) -> None:
        """Apply one event's changes and its tracking record together: in the open page's
        transaction when a catch-up holds one, else in a transaction of their own."""
        page: Page | None = getattr(self._local, "page", None)
        if page is None:
            with self.datastore.transaction(commit=True) as cursor:
                self._apply(cursor, changes)
                self._insert_tracking(cursor, tracking)
            return
        if page.tracking is not None and tracking.notification_id <= page.tracking.notification_id:
            raise IntegrityError(f"tracking {tracking.notification_id} does not move forward")
        page.pending += changes
        page.rows += len(changes)
        page.tracking = tracking

    @contextmanager
    def page(self, application_name: str, start: int) -> Iterator[Page]:
        """One transaction for several `write` calls, refused (`Raced`) unless the position is
        still `start` inside it."""
        with self.datastore.transaction(commit=True) as cursor:
            if (self._locked_position(cursor, application_name) or 0) != start:
                raise Raced
            page = Page(cursor)
            self._local.page = page
            try:
                yield page
                if page.tracking is not None:
                    self._apply(cursor, page.pending)
                    self._insert_tracking(cursor, page.tracking)
            finally:
                self._local.page = None

    def fetch_one(self, query: sa.Select[Any], parameters: Mapping[str, Any]) -> Any:
        """The first row of a query, seeing what the open page has written so far (its pending
        changes go out first), or in a read transaction of its own."""
        sql, defaults = _compiled(query, self.dialect)
        page: Page | None = getattr(self._local, "page", None)
        if page is not None:
            self._apply(page.cursor, page.pending)
            page.pending = []
            page.cursor.execute(sql, defaults | dict(parameters))
            return page.cursor.fetchone()
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, defaults | dict(parameters))
            return cursor.fetchone()

    def clear(self, application_name: str, tables: Sequence[sa.Table]) -> None:
        """Delete every row of the tables and the position, in one transaction (a rebuild)."""
        with self.datastore.transaction(commit=True) as cursor:
            for table in tables:
                cursor.execute(_delete_sql(table, self.dialect))
            self._clear_tracking(cursor, application_name)

    def _apply(self, cursor: Any, changes: Sequence[Change]) -> None:
        """Runs of changes with the same statement go out as one `executemany`, in order."""
        for shape, run in groupby(changes, key=_statement):
            cursor.executemany(_change_sql(shape, self.dialect), [_parameters(c) for c in run])

    @abstractmethod
    def _locked_position(self, cursor: Any, application_name: str) -> int | None:
        """The position, read so that no other writer can move it before this one commits."""

    @abstractmethod
    def _clear_tracking(self, cursor: Any, application_name: str) -> None:
        """Delete the application's tracking record."""


def _tracking_name(view: type[TrackedView], given: str | None) -> str:
    name = given or view.tracking_table
    if not name:
        raise ConfigurationError(f"{view.__name__} needs the name of its tracking table")
    return name


class SQLiteTrackedView(TrackedView, SQLiteTrackingRecorder):
    """On SQLite the library's tracking table is always `tracking` (one file, one view); the
    read models share the ledger's file, so each view's statements name its own table."""

    dialect = sqlite.dialect(paramstyle="named")

    def __init__(self, datastore: SQLiteDatastore, *, tracking_table_name: str | None = None):
        if not datastore.single_row_tracking:
            raise ConfigurationError("a tracked view needs single-row tracking")
        self.tracking_table_name = table = _tracking_name(type(self), tracking_table_name)
        super().__init__(datastore)
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

    def _locked_position(self, cursor: SQLiteCursor, application_name: str) -> int | None:
        # SQLite (WAL): a read transaction that later writes fails if another writer committed
        # after the read, so this plain read is as good as a lock.
        return self._max_tracking_id(application_name, cursor)

    def _clear_tracking(self, cursor: SQLiteCursor, application_name: str) -> None:
        cursor.execute(
            f"DELETE FROM {self.tracking_table_name} WHERE application_name = ?",  # noqa: S608
            (application_name,),
        )


class PostgresTrackedView(TrackedView, PostgresTrackingRecorder):
    """The library's PostgreSQL tracking recorder, with the rows beside it. The library's
    `ProjectionRunner` builds it as it builds its own (`tracking_table_name` given)."""

    dialect = postgresql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]

    def __init__(
        self, datastore: PostgresDatastore, *, tracking_table_name: str | None = None
    ) -> None:
        if not datastore.single_row_tracking:
            raise ConfigurationError("a tracked view needs single-row tracking")
        super().__init__(
            datastore, tracking_table_name=_tracking_name(type(self), tracking_table_name)
        )
        self._local = threading.local()

    def _table(self) -> Any:
        return SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(self.tracking_table_name)
        )

    def _locked_position(self, cursor: Any, application_name: str) -> int | None:
        """The tracking row, locked. A missing row (nothing projected yet, or just rebuilt) is
        first made at 0, so a second writer waits on it here too instead of slipping past."""
        select = SQL("SELECT notification_id FROM {0} WHERE application_name = %s FOR UPDATE")
        cursor.execute(select.format(self._table()), (application_name,))
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                SQL("INSERT INTO {0} VALUES (%s, 0) ON CONFLICT DO NOTHING").format(self._table()),
                (application_name,),
            )
            cursor.execute(select.format(self._table()), (application_name,))
            row = cursor.fetchone()
        return None if row is None else int(row["notification_id"])

    def _clear_tracking(self, cursor: Any, application_name: str) -> None:
        cursor.execute(
            SQL("DELETE FROM {0} WHERE application_name = %s").format(self._table()),
            (application_name,),
        )


def tracked_view(
    ledger: MuseumLedger,
    sqlite_view: type[SQLiteTrackedView],
    postgres_view: type[PostgresTrackedView],
    tracking_table_name: str | None = None,
) -> TrackedView:
    """The view of the ledger's backend on its own datastore (tables from the migrations)."""
    factory = ledger.factory
    if isinstance(factory, SQLiteFactory):
        return sqlite_view(factory.datastore, tracking_table_name=tracking_table_name)
    if isinstance(factory, PostgresFactory):
        return postgres_view(factory.datastore, tracking_table_name=tracking_table_name)
    raise ConfigurationError(f"no tracked view for {type(factory).__name__}")
