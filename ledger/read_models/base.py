"""What the ledger's read models share: a row projection on a tracked view, pulled on demand,
rebuilt from the events, and checked against a rebuild made in memory.

A read model's rules are written once, as its projection's `process_event` (eventsourcing's
`Projection`, dispatched on the event class), which turns one event into row changes
(`Insert`, `Update`) and hands them with the event's tracking to its view. The view is the
SQL `TrackedView` in service, or `MemoryRows` when `compare` replays the events to check the
stored rows: the same rules both times, so the check cannot drift from what is projected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.popo import POPOTrackingRecorder
from eventsourcing.projection import Projection

from ledger import projection_runner
from ledger.application import MuseumLedger
from ledger.errors import Conflict, IntegrityViolation
from ledger.read_models.paging import after_key, decode_cursor, encode_cursor, paged
from ledger.tracked_view import (
    Change,
    Insert,
    PostgresTrackedView,
    RowWriter,
    SQLiteTrackedView,
    TrackedView,
    tracked_view,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SCAN_PAGE = 5000
STEADY_ATTEMPTS = 5
REPAIR = "rebuild the read models with `museum ledger rebuild`"

WriterT = TypeVar("WriterT", bound=RowWriter)
ItemT = TypeVar("ItemT")
Key = tuple[Any, ...]


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970 in integer arithmetic: the events' own precision, kept exactly."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def iso_us(microseconds: int) -> str:
    """The ISO 8601 time (UTC) of `epoch_us`, as the event's own timestamp prints."""
    return (EPOCH + timedelta(microseconds=microseconds)).isoformat()


class RowProjection(Projection[WriterT], Generic[WriterT]):
    """A projection whose rules turn events into row changes of its `tables`."""

    tables: ClassVar[tuple[sa.Table, ...]]


def primary_key(table: sa.Table, values: Any) -> Key:
    return tuple(values[column.name] for column in table.primary_key.columns)


class MemoryRows(POPOTrackingRecorder, RowWriter):
    """Row changes applied to dicts, as the SQL view applies them: an insert under a key
    already there is refused, an update of a row that is not there changes nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[Key, dict[str, Any]]] = defaultdict(dict)

    def write(self, changes: Sequence[Change], tracking: Tracking) -> None:
        for change in changes:
            rows = self.rows[change.table.name]
            if isinstance(change, Insert):
                key = primary_key(change.table, change.row)
                if key in rows:
                    raise IntegrityError(f"{change.table.name} already holds a row {key}")
                rows[key] = dict(change.row)
                continue
            row = rows.get(primary_key(change.table, change.key))
            if row is not None:
                row |= change.values
                for name, amount in change.add.items():
                    row[name] += amount
        self.insert_tracking(tracking)


class ReadModel:
    """One read model of a ledger: catch up, rebuild, check; listings are the subclass's."""

    projection_class: ClassVar[type[RowProjection[Any]]]
    page_size = projection_runner.PAGE

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine
        name = self.projection_class.name
        self.view: TrackedView = tracked_view(
            ledger, SQLiteTrackedView, PostgresTrackedView, f"{name}_tracking"
        )
        self.projection: RowProjection[TrackedView] = self.projection_class(self.view)

    @property
    def name(self) -> str:
        return self.projection_class.name

    @property
    def tables(self) -> tuple[sa.Table, ...]:
        return self.projection_class.tables

    def position(self) -> int:
        """The greatest notification id projected (0 for none)."""
        return projection_runner.position(self.ledger, self.view)

    def page(
        self,
        query: sa.Select[Any],
        order: Sequence[Any],
        after: str | None,
        cursor: tuple[str, Any],
        limit: int,
        read: Callable[[Any], ItemT],
    ) -> tuple[list[ItemT], str | None]:
        """One page of a listing in keyset `order`, after the cursor `after` (shaped as
        `cursor`: the listing's name and its key types), caught up first; and the next cursor
        (the key of the page's last row, read from the `order` columns' names)."""
        listing, shape = cursor
        if after is not None:
            _, *key = decode_cursor(after, shape)
            query = query.where(after_key(order, key))
        self.catch_up()
        with self.engine.connect() as c:
            rows = c.execute(query.order_by(*order).limit(limit + 1)).all()
        names = [column.name for column in order]
        return paged(
            rows,
            limit,
            read,
            lambda row: encode_cursor(listing, *(getattr(row, name) for name in names)),
        )

    def catch_up(self) -> int:
        """Project the events recorded since the position; returns the row changes written."""
        return projection_runner.catch_up(
            self.ledger, self.projection, page_size=self.page_size, what=self._what
        )

    def rebuild(self) -> int:
        """Drop the rows and the position, and project every event again from the start."""
        return projection_runner.rebuild(
            self.ledger, self.projection, self.tables, page_size=self.page_size, what=self._what
        )

    @property
    def _what(self) -> str:
        return f"the {self.name.replace('_', ' ')} read model"

    def compare(self) -> dict[str, Any]:
        """Every stored row against a rebuild in memory from the events up to the position;
        the first difference raises IntegrityViolation naming the row and the column."""
        position, stored = self._steady_rows()
        replay = self.projection_class(MemoryRows())
        for notification in self._notifications(0, position):
            replay.process_event(
                self.ledger.mapper.to_domain_event(notification),
                Tracking(self.ledger.name, notification.id),
            )
        expected = replay.view.rows
        count = 0
        for table in self.tables:
            have, want = stored[table.name], expected.get(table.name, {})
            for key in sorted(set(have) | set(want), key=repr):
                self._check_row(table, key, have.get(key), want.get(key))
            count += len(have)
        behind = sum(1 for _ in self._notifications(position, None))
        return {"rows": count, "position": position, "events_not_projected": behind}

    def _steady_rows(self) -> tuple[int, dict[str, dict[Key, dict[str, Any]]]]:
        """The stored rows at one position: read again while another process moves it."""
        for _ in range(STEADY_ATTEMPTS):
            before = self.position()
            with self.engine.connect() as c:
                stored = {
                    table.name: {
                        primary_key(table, row): dict(row)
                        for row in c.execute(sa.select(table)).mappings()
                    }
                    for table in self.tables
                }
            if self.position() == before:
                return before, stored
        raise Conflict(f"{self._what} kept moving while it was checked; try again")

    def _check_row(
        self, table: sa.Table, key: Key, have: dict[str, Any] | None, want: dict[str, Any] | None
    ) -> None:
        where = f"{table.name} row {', '.join(map(str, key))}"
        if want is None:
            raise IntegrityViolation(f"{where} has no event behind it (a row was added); {REPAIR}")
        if have is None:
            raise IntegrityViolation(f"{where} is missing from the read model; {REPAIR}")
        for column in table.columns:
            if have[column.name] != want[column.name]:
                raise IntegrityViolation(
                    f"{where} differs from the events: {column.name} is "
                    f"{have[column.name]!r} in the table, {want[column.name]!r} from the events; "
                    + REPAIR
                )

    def _notifications(self, after: int, upto: int | None) -> Iterator[Any]:
        start = after
        topics = list(self.projection_class.topics)
        while (upto is None or start < upto) and (
            page := self.ledger.recorder.select_notifications(
                start, SCAN_PAGE, stop=upto, topics=topics, inclusive_of_start=False
            )
        ):
            yield from page
            start = page[-1].id
