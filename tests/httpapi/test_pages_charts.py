"""The server-drawn SVG bar chart and the months of the earnings chart: pure functions."""

from __future__ import annotations

import re
from datetime import date
from xml.etree import ElementTree

import pytest

from api.web.charts import AXIS, Bar, bar_chart
from api.web.my_museum.earnings import by_month, month_starts
from royalties.views import StatementRead, as_view

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(
        str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    )


def test_bars_scale_to_the_largest_in_whole_units() -> None:
    bars = [
        Bar("January", 50, "0.50 EUR", "Jan"),
        Bar("February", 0, "0.00 EUR"),
        Bar("March", 100, "1.00 EUR"),
    ]
    svg = parsed(bar_chart(bars, "Earnings", width=300, height=122))
    rects = svg.findall(f"{SVG}rect")
    plot = 122 - AXIS
    assert [int(r.get("height", "")) for r in rects] == [plot // 2, 0, plot]
    assert [int(r.get("y", "")) for r in rects] == [plot - plot // 2, plot, 0]
    assert [int(r.get("x", "")) for r in rects] == [10, 110, 210]  # slots of 100, gaps of 20
    assert {r.get("width") for r in rects} == {"80"}
    assert [r.findtext(f"{SVG}title") for r in rects] == [
        "January: 0.50 EUR",
        "February: 0.00 EUR",
        "March: 1.00 EUR",
    ]
    assert [t.text for t in svg.findall(f"{SVG}text")] == ["Jan", "February", "March"]
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == (
        "Earnings. January: 0.50 EUR; February: 0.00 EUR; March: 1.00 EUR"
    )
    assert svg.get("viewBox") == "0 0 300 122"


def test_nothing_earned_draws_no_bar_and_negative_values_none_either() -> None:
    svg = parsed(bar_chart([Bar("a", 0, "0"), Bar("b", -5, "-5")], "Nothing"))
    assert [r.get("height") for r in svg.findall(f"{SVG}rect")] == ["0", "0"]


def test_labels_are_escaped() -> None:
    markup = bar_chart([Bar('<b>"x"</b> & y', 1, "<1>")], 'A "quoted" <name>')
    assert "<b>" not in markup
    assert "&lt;b&gt;" in markup
    assert 'aria-label="A &#34;quoted&#34; &lt;name&gt;.' in markup
    parsed(markup)  # still well-formed


def test_a_chart_needs_bars_and_room() -> None:
    with pytest.raises(ValueError, match="at least one bar"):
        bar_chart([], "Empty")
    with pytest.raises(ValueError, match="no room"):
        bar_chart([Bar(str(i), i, "") for i in range(5)], "Tight", width=4)
    with pytest.raises(ValueError, match="no room"):
        bar_chart([Bar("a", 1, "")], "Flat", height=AXIS)


def test_month_starts_cross_the_year() -> None:
    assert month_starts(date(2026, 2, 17), 3) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert month_starts(date(2026, 12, 31), 1) == [date(2026, 12, 1), date(2027, 1, 1)]
    assert len(month_starts(date(2026, 7, 1))) == 13
    with pytest.raises(ValueError, match="at least one month"):
        month_starts(date(2026, 7, 1), 0)


def test_earnings_add_up_by_month_per_currency() -> None:
    statement = as_view(
        {
            "artist": {"artist_id": "a", "pseudonym": "p", "founding": False, "erased": False},
            "period": {"start": "2026-10-01T00:00:00+00:00", "end": "2027-01-01T00:00:00+00:00"},
            "currencies": [
                {
                    "currency": currency,
                    "opening_balance": 0,
                    "earned": sum(e for _, e in daily),
                    "reversed": 0,
                    "paid_out": 0,
                    "credits": [],
                    "revenue_lines": [],
                    "reversals": [],
                    "payouts": [],
                    "daily": [{"day": d, "earned": e} for d, e in daily],
                    "closing_balance": 0,
                }
                for currency, daily in (
                    ("EUR", [("2026-10-03", 150), ("2026-10-30", 50), ("2026-12-01", 7)]),
                    ("JPY", [("2026-11-11", 300)]),
                )
            ],
        },
        StatementRead,
    )
    euros, yen = by_month(statement, month_starts(date(2026, 12, 5), 3))
    assert [(m.start.month, m.earned, m.text) for m in euros.months] == [
        (10, 200, "2.00 EUR"),
        (11, 0, "0.00 EUR"),
        (12, 7, "0.07 EUR"),
    ]
    assert euros.total == "2.07 EUR"
    assert [m.end for m in euros.months] == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
    assert [m.text for m in yen.months] == ["0 JPY", "300 JPY", "0 JPY"]
    heights = [int(h) for h in re.findall(r'<rect class="bar"[^>]* height="(\d+)"', euros.chart)]
    assert heights[0] > heights[2] > heights[1] == 0
    assert "October 2026: 2.00 EUR" in euros.chart
