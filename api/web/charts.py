"""Bar charts as inline SVG, drawn on the server: no script, no chart library, nothing fetched.

`bar_chart(bars, name)` gives one `<svg role="img">` whose `aria-label` names every bar with its
figure (a screen reader hears the numbers, not "image"), and each bar carries a `<title>` (its
tooltip). Sizes are whole numbers: a bar's height is value × plot height // the largest value,
so the largest bar fills the plot, equal values draw equal bars and a value of 0 (or below)
draws none. Colours come from the stylesheet (`svg.chart .bar`): the pages' Content-Security-
Policy forbids inline style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 600
HEIGHT = 160
AXIS = 22  # room under the plot for the bars' labels


@dataclass(frozen=True)
class Bar:
    """One bar: `label` names it in full ("November 2026"), `value` sizes it, `text` is the
    value as people read it ("12.50 EUR"); `tick` is the short label under it ("Nov")."""

    label: str
    value: int
    text: str
    tick: str | None = None


def bar_chart(bars: Sequence[Bar], name: str, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """The bars left to right in one SVG `width` × `height` user units wide (it scales to its
    box); `name` begins its accessible name."""
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    plot = height - AXIS
    if plot <= 0 or width < len(bars):
        raise ValueError(f"a {width}×{height} chart has no room for {len(bars)} bars")
    top = max(1, *(bar.value for bar in bars))
    slot = width // len(bars)
    gap = max(slot // 5, 1) if slot > 1 else 0
    described = "; ".join(f"{bar.label}: {bar.text}" for bar in bars)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(name)}. {escape(described)}">',
        f'<line class="baseline" x1="0" y1="{plot}" x2="{width}" y2="{plot}"></line>',
    ]
    for index, bar in enumerate(bars):
        tall = max(bar.value, 0) * plot // top
        x = index * slot + gap // 2
        parts.append(
            f'<rect class="bar" x="{x}" y="{plot - tall}" width="{slot - gap}" height="{tall}">'
            f"<title>{escape(bar.label)}: {escape(bar.text)}</title></rect>"
        )
        middle = index * slot + slot // 2
        tick = bar.label if bar.tick is None else bar.tick
        parts.append(
            f'<text class="tick" x="{middle}" y="{height - 6}" text-anchor="middle">'
            f"{escape(tick)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
