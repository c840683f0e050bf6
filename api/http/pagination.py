"""Lists are pages with an opaque cursor: `?cursor=…&limit=…` in, a `Page`
out (`items`, `results_per_page`, `cursor` of the next page or null).

A cursor is whatever the service's keyset query hands back (ledger read models make them);
a cursor the service cannot read is its `InvalidInput`, a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from litestar.params import QueryParameter

T = TypeVar("T")

MAX_PAGE = 500

Cursor = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        description="The `cursor` of the previous page; absent for the first page.",
        max_length=512,
    ),
]
Limit = Annotated[
    int,
    QueryParameter(name="limit", ge=1, le=MAX_PAGE, description="Items per page (at most 500)."),
]


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a list: Litestar's `CursorPagination` shape, with the last page's cursor
    null (its own type says a cursor is always a string)."""

    items: list[T]
    results_per_page: int
    cursor: str | None


def page(items: list[T], limit: int, next_cursor: str | None) -> Page[T]:
    return Page(items=items, results_per_page=limit, cursor=next_cursor)
