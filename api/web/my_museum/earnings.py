"""Earnings per month for the artist's chart, from the royalty statement of the months shown.

The statement (`RoyaltyService.statement`) already sums each day's earnings per currency; this
only adds the days up by calendar month (UTC, as the statement's days are) and draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from markupsafe import Markup

from api.web.charts import Bar, bar_chart
from royalties.currency import format_minor
from royalties.views import StatementRead

MONTHS_SHOWN = 12


def month_starts(today: date, months: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the `months` calendar months up to `today`'s, oldest first, and the
    first day of the month after (the end of the period, exclusive)."""
    if months < 1:
        raise ValueError("at least one month")
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 2)]


@dataclass(frozen=True)
class MonthRead:
    start: date
    end: date
    earned: int
    text: str


@dataclass(frozen=True)
class CurrencyEarnings:
    """One currency's months, their total and the chart of them."""

    currency: str
    months: list[MonthRead]
    total: str
    chart: Markup


def by_month(statement: StatementRead, starts: list[date]) -> list[CurrencyEarnings]:
    """Per currency of the statement, the earnings of each month in `starts` (its last entry
    is the end of the period), oldest first; months without earnings show 0."""
    found = []
    for part in statement.currencies:
        sums = dict.fromkeys((f"{start:%Y-%m}" for start in starts[:-1]), 0)
        for day in part.daily:
            if day.day[:7] in sums:
                sums[day.day[:7]] += day.earned
        months = []
        for start, end in pairwise(starts):
            earned = sums[f"{start:%Y-%m}"]
            months.append(MonthRead(start, end, earned, format_minor(earned, part.currency)))
        bars = [
            Bar(label=f"{m.start:%B %Y}", value=m.earned, text=m.text, tick=f"{m.start:%b}")
            for m in months
        ]
        found.append(
            CurrencyEarnings(
                currency=part.currency,
                months=months,
                total=format_minor(part.earned, part.currency),
                chart=bar_chart(bars, f"Earnings per month in {part.currency}"),
            )
        )
    return found
