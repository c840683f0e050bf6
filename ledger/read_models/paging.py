"""Keyset pages of the read models: a limit, and an opaque cursor that names where a page ended.

A cursor is the listing's name and the last row's sort key, as JSON in unpadded base64url, so a
caller can pass it back in a query string untouched. It positions, never filters: the filters
of each request are its own, so a cursor cannot widen what a caller may see. Decoding checks
the listing's name and every value's type and range, so a cursor that was altered, cut short
or given out by another listing is `InvalidInput`, never a database error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import msgspec
import sqlalchemy as sa

from ledger.errors import InvalidInput

MAX_LIMIT = 500
MAX_CURSOR = 256
INT64 = 2**63 - 1

# Types of a cursor's values, checked as it is decoded.
NotificationId = Annotated[int, msgspec.Meta(ge=0, le=INT64)]
ShortKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

RowT = TypeVar("RowT")
ItemT = TypeVar("ItemT")


def page_limit(limit: object) -> int:
    """A page size from 1 to `MAX_LIMIT`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def encode_cursor(listing: str, *key: int | str) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode([listing, *key])).rstrip(b"=").decode()


def decode_cursor(text: object, shape: Any) -> tuple[Any, ...]:
    """The listing's name and sort key in a cursor, checked against `shape` (a tuple type whose
    first item is the listing's name as a Literal)."""
    if not isinstance(text, str) or not text or len(text) > MAX_CURSOR or not text.isascii():
        raise _invalid()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        key: tuple[Any, ...] = msgspec.json.decode(raw, type=shape)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise _invalid() from None
    return key


def _invalid() -> InvalidInput:
    return InvalidInput("invalid cursor: pass back the `next` of the page before, unchanged")


def paged(
    rows: Sequence[RowT],
    limit: int,
    item: Callable[[RowT], ItemT],
    cursor: Callable[[RowT], str],
) -> tuple[list[ItemT], str | None]:
    """The items of a page fetched with `limit + 1` rows, and the cursor after its last row
    (None when no row follows)."""
    shown = rows[:limit]
    more = len(rows) > limit
    return [item(row) for row in shown], cursor(shown[-1]) if more and shown else None


def after_key(columns: Sequence[Any], key: Sequence[Any]) -> Any:
    """The keyset condition: rows whose sort key comes after `key`. A row-value comparison,
    with the leading column's bound spelled out as well, so an index that holds it after a
    filtered column (an artist's rows) is entered at the key rather than scanned from its start."""
    return sa.and_(columns[0] >= key[0], sa.tuple_(*columns) > sa.tuple_(*key))
