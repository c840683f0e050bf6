"""The postings read model checked against the royalty events it is projected from.

Money must follow only numbers the ledger recorded. A payout run therefore recomputes, from the
events, the balances it is about to pay, and a statement the opening balances and a digest of
the lines it prints; either refuses with IntegrityViolation on a mismatch, before anything is
recorded. Both read the events' stored JSON directly (one pass, no domain objects), so the check
costs about one scan of the royalty events. `compare` is the full row-by-row rebuild comparison
behind `museum ledger verify --projections`.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa

from ledger.application import MuseumLedger
from ledger.errors import Conflict, IntegrityViolation
from royalties.projection import (
    PAGE,
    PAID,
    REPORTED,
    TOPICS,
    PostingsProjection,
    epoch_ms,
    postings_table,
    rows_of,
)

T = TypeVar("T")
MASK = 2**64 - 1
SCAN_PAGE = max(PAGE, 5000)
ATTEMPTS = 5
FIRST_EVENTS = {REPORTED.__qualname__.split(".")[-1], PAID.__qualname__.split(".")[-1]}
CURRENCY = re.compile(rb'"currency":\s*"([A-Z]{3})"')
REBUILD_HINT = "nothing was recorded; rebuild the read model with `museum royalties rebuild`"


def _notifications(ledger: MuseumLedger, upto: int) -> Iterator[Any]:
    start = 0
    while start < upto and (
        page := ledger.recorder.select_notifications(
            start, SCAN_PAGE, stop=upto, topics=TOPICS, inclusive_of_start=False
        )
    ):
        yield from page
        start = page[-1].id


def _raw_events(ledger: MuseumLedger, upto: int) -> Iterator[tuple[int, str, str, bytes]]:
    """(notification id, originator id, topic, state) of the royalty events up to `upto`, read
    with plain SQL: no Notification objects or UUIDs, the bulk of a scan's cost otherwise."""
    table = '"' + ledger.events_table.replace('"', '""') + '"'
    last = 0
    if ledger.engine.dialect.name == "sqlite":
        query = sa.text(
            f"SELECT rowid, originator_id, topic, state FROM {table} "  # noqa: S608
            "WHERE rowid > :last AND rowid <= :upto AND topic IN :topics ORDER BY rowid LIMIT :n"
        ).bindparams(sa.bindparam("topics", expanding=True))
        with ledger.engine.connect() as c:
            while rows := c.execute(
                query, {"last": last, "upto": upto, "topics": TOPICS, "n": SCAN_PAGE}
            ).all():
                for row in rows:
                    yield int(row[0]), str(row[1]), str(row[2]), bytes(row[3])
                last = int(rows[-1][0])
        return
    # PostgreSQL: a binary cursor, so bytea arrives as bytes rather than hex text.
    statement = (
        f"SELECT notification_id, originator_id, topic, state FROM {table} "  # noqa: S608
        "WHERE notification_id > %(last)s AND notification_id <= %(upto)s "
        "AND topic = ANY(%(topics)s) ORDER BY notification_id LIMIT %(n)s"
    )
    raw = ledger.engine.raw_connection()
    try:
        with raw.driver_connection.cursor(binary=True) as cursor:  # type: ignore[union-attr]
            while True:
                cursor.execute(
                    statement, {"last": last, "upto": upto, "topics": TOPICS, "n": SCAN_PAGE}
                )
                page = cursor.fetchall()
                if not page:
                    break
                for row in page:
                    yield int(row[0]), str(row[1]), str(row[2]), bytes(row[3])
                last = int(page[-1][0])
        raw.commit()
    finally:
        raw.close()


def line_digest(notification_id: int, line: int, currency: str, amount: int) -> int:
    """One line's share of an order-free multiset digest (sum modulo 2**64).

    Python's own tuple hash: both sides are hashed in this process, and its per-process salt
    keeps the digest unpredictable to whoever edits the table.
    """
    return hash((notification_id, line, currency, amount)) & MASK


class _Posting(msgspec.Struct):
    account: str
    amount: int


class _Stamp(msgspec.Struct):
    iso: str = msgspec.field(name="_data_")


class _Royalty(msgspec.Struct):
    """The only fields of a royalty event's stored JSON the checks read (the rest is skipped)."""

    postings: list[_Posting]
    timestamp: _Stamp
    currency: str | None = None


DECODE = msgspec.json.Decoder(_Royalty).decode


@dataclass
class AccountFigures:
    """What the events say about one account up to a position."""

    balances: dict[str, int] = field(default_factory=dict)  # per currency, all time
    opening: dict[str, int] = field(default_factory=dict)  # per currency, before the period
    lines: int = 0  # postings in the period
    digest: int = 0


def event_figures(
    ledger: MuseumLedger,
    upto: int,
    accounts: Iterable[str] | None = None,
    period: tuple[int, int] | None = None,
) -> dict[str, AccountFigures]:
    """Per account, the figures the royalty events up to notification `upto` give."""
    wanted = None if accounts is None else set(accounts)
    needles = None if wanted is None else [a.encode() for a in wanted]
    currencies: dict[str, str] = {}
    figures: dict[str, AccountFigures] = {}
    for notification_id, originator_id, topic, raw in _raw_events(ledger, upto):
        first = topic.rsplit(".", 1)[-1] in FIRST_EVENTS
        if needles is not None and not any(n in raw for n in needles):
            if first and (found := CURRENCY.search(raw)):
                currencies[originator_id] = found.group(1).decode()
            continue
        state = DECODE(raw)
        currency = state.currency or currencies.get(originator_id, "")
        if first:
            currencies[originator_id] = currency
        at_ms: int | None = None
        for index, posting in enumerate(state.postings):
            account = posting.account
            if wanted is not None and account not in wanted:
                continue
            mine = figures.setdefault(account, AccountFigures())
            amount = posting.amount
            mine.balances[currency] = mine.balances.get(currency, 0) + amount
            if period is None:
                continue
            if at_ms is None:
                at_ms = epoch_ms(datetime.fromisoformat(state.timestamp.iso))
            if at_ms < period[0]:
                mine.opening[currency] = mine.opening.get(currency, 0) + amount
            elif at_ms < period[1]:
                mine.lines += 1
                mine.digest = (
                    mine.digest + line_digest(notification_id, index, currency, amount)
                ) & MASK
    return figures


def _steady(projection: PostingsProjection, read: Callable[[], T]) -> tuple[int, T]:
    """Read the model at one position: retried while another process moves it meanwhile."""
    for _ in range(ATTEMPTS):
        before = projection.position()
        value = read()
        if projection.position() == before:
            return before, value
    raise Conflict("the postings projection kept moving while it was checked; try again")


def checked_balances(projection: PostingsProjection, accounts_prefix: str) -> list[dict[str, Any]]:
    """The read model's balances, refused unless the events give the same for every account
    under the prefix (an account missing from either side counts as a mismatch too)."""
    position, rows = _steady(projection, projection.balances)
    stored = {(r["account"], r["currency"]): int(r["balance"]) for r in rows}
    events = event_figures(projection.ledger, position)
    derived = {
        (account, currency): balance
        for account, mine in events.items()
        for currency, balance in mine.balances.items()
    }
    for key in sorted(set(stored) | set(derived)):
        if not key[0].startswith(accounts_prefix):
            continue
        if stored.get(key, 0) != derived.get(key, 0):
            raise IntegrityViolation(
                f"account {key[0]} ({key[1]}): the postings read model holds "
                f"{stored.get(key, 0)} but the ledger's events give {derived.get(key, 0)}; "
                + REBUILD_HINT
            )
    return rows


# The events up to a position never change (`museum ledger verify` proves it), so what they say
# of one account and period is worked out once per position and process; the read model's rows
# are still compared with it on every statement.
_FIGURES: weakref.WeakKeyDictionary[
    PostingsProjection, OrderedDict[tuple[int, str, tuple[int, int]], AccountFigures]
] = weakref.WeakKeyDictionary()
_FIGURES_KEPT = 256
_FIGURES_LOCK = threading.Lock()


def _statement_figures(
    projection: PostingsProjection, position: int, account: str, period: tuple[int, int]
) -> AccountFigures:
    key = (position, account, period)
    with _FIGURES_LOCK:
        memo = _FIGURES.setdefault(projection, OrderedDict())
        known = memo.get(key)
        if known is not None:
            memo.move_to_end(key)
            return known
    found = event_figures(projection.ledger, position, [account], period).get(
        account, AccountFigures()
    )
    with _FIGURES_LOCK:
        memo[key] = found
        while len(memo) > _FIGURES_KEPT:
            memo.popitem(last=False)
    return found


def check_statement(
    projection: PostingsProjection,
    account: str,
    period: tuple[int, int],
    read: Callable[[], tuple[Mapping[str, int], Sequence[Mapping[str, Any]]]],
) -> tuple[Mapping[str, int], Sequence[Mapping[str, Any]]]:
    """Opening balances and lines of a statement, refused unless the events agree with them."""
    position, (opening, lines) = _steady(projection, read)
    mine = _statement_figures(projection, position, account, period)
    stored_opening = {c: int(v) for c, v in opening.items() if int(v)}
    derived_opening = {c: v for c, v in mine.opening.items() if v}
    if stored_opening != derived_opening:
        raise IntegrityViolation(
            f"account {account}: the read model's opening balances {stored_opening} differ "
            f"from the events' {derived_opening}; " + REBUILD_HINT
        )
    digest = 0
    for row in lines:
        line_no = row.get("line")
        if line_no is None:
            raise IntegrityViolation("statement lines carry no line number to check")
        digest += line_digest(row["notification_id"], line_no, row["currency"], row["amount"])
    if len(lines) != mine.lines or digest & MASK != mine.digest:
        raise IntegrityViolation(
            f"account {account}: the read model's {len(lines)} statement lines differ from "
            f"the events' {mine.lines} (an amount, a line or a currency changed); " + REBUILD_HINT
        )
    return opening, lines


COLUMNS = [column.name for column in postings_table.columns]


def compare(projection: PostingsProjection) -> dict[str, Any]:
    """Every stored posting row against a rebuild from the events, up to the model's position."""
    ledger = projection.ledger
    position = projection.position()
    fresh = PostingsProjection(ledger)
    expected: Iterator[dict[str, Any]] = (
        row
        for n in _notifications(ledger, position)
        for row in rows_of(n.id, ledger.mapper.to_domain_event(n), fresh.source_of)  # type: ignore[arg-type]
    )
    with ledger.engine.connect() as c:
        stored = c.execute(
            sa.select(postings_table)
            .where(postings_table.c.notification_id <= position)
            .order_by(postings_table.c.notification_id, postings_table.c.line)
        ).mappings()
        count = 0
        for want in expected:
            have = next(stored, None)
            where = f"notification {want['notification_id']} line {want['line']}"
            if have is None:
                raise IntegrityViolation(f"postings read model: the row of {where} is missing")
            if (have["notification_id"], have["line"]) != (want["notification_id"], want["line"]):
                raise IntegrityViolation(
                    f"postings read model: found notification {have['notification_id']} line "
                    f"{have['line']} where the events give {where} (a row added or removed)"
                )
            for column in COLUMNS:
                if have[column] != want[column]:
                    raise IntegrityViolation(
                        f"postings read model differs from the events at {where}: {column} is "
                        f"{have[column]!r} in the table, {want[column]!r} from the events"
                    )
            count += 1
        extra = next(stored, None)
        if extra is not None:
            raise IntegrityViolation(
                f"postings read model: notification {extra['notification_id']} line "
                f"{extra['line']} has no royalty event behind it (a row was added)"
            )
    behind = sum(1 for _ in _notifications_after(ledger, position))
    return {"rows": count, "position": position, "events_not_projected": behind}


def _notifications_after(ledger: MuseumLedger, position: int) -> Iterator[Any]:
    start = position
    while page := ledger.recorder.select_notifications(
        start, SCAN_PAGE, topics=TOPICS, inclusive_of_start=False
    ):
        yield from page
        start = page[-1].id
