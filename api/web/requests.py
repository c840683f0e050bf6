"""What the pages read off a request: a form body, a day in a query, whether htmx asked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import Body, QueryParameter

# A form posted the plain way (every page form but the donation's multipart one).
Form = Body(media_type=RequestEncodingType.URL_ENCODED)
Day = Annotated[date, QueryParameter(description="A day, YYYY-MM-DD (from its UTC midnight).")]
OptionalDay = Annotated[
    date | None, QueryParameter(description="A day, YYYY-MM-DD (from its UTC midnight).")
]


def midnight(day: date) -> datetime:
    """The start of `day` in UTC: periods on the pages run from midnight to midnight, UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """htmx asked (`HX-Request: true`): answer the fragment it swaps, not the whole page."""
    return request.headers.get("hx-request") == "true"
