"""An artist's statement for a period: pure assembly from posting rows, and its HTML document.

Per currency: the opening balance, the credits (which generations, at what eligible share),
every revenue line, reversals (refunds and chargebacks), payouts (and failed payouts put back),
releases of a held balance, and the closing balance. The HTML carries an inline SVG bar chart
of earnings per day (or per month for long periods), scaled with integer arithmetic. The CSV
is for accounting: one row per line, amounts in minor units beside their currency.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, select_autoescape

from ledger.model_views import CreditStabilityRead
from royalties.currency import format_minor
from royalties.split import ARTIST_SHARE, FOUNDING_BONUS, HELD_RELEASE, PAYOUT, PAYOUT_FAILED
from royalties.views import StatementRead, as_view

EARNING_KINDS = (ARTIST_SHARE, FOUNDING_BONUS)
PAYOUT_KINDS = (PAYOUT, PAYOUT_FAILED, HELD_RELEASE)
MAX_BARS = 62
CHART_W, CHART_H = 600, 120


def _when(at_ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=at_ms)).isoformat()


def build_statement(
    *,
    artist: Mapping[str, Any],
    start: datetime,
    end: datetime,
    opening: Mapping[str, int],
    lines: Iterable[Mapping[str, Any]],
    credited_by: Mapping[str, tuple[str | None, CreditStabilityRead | None]] | None = None,
) -> StatementRead:
    """Group the artist's posting rows of the period by currency into a JSON-ready statement.

    `credited_by` maps a revenue report (posting rows' `source_id`) to the attribution it was
    split by and that attribution's recorded credit stability; each credit shows its first
    report's (the report its `share_ppm` comes from)."""
    credited = credited_by or {}
    per: dict[str, dict[str, Any]] = {}

    def section(currency: str) -> dict[str, Any]:
        if currency not in per:
            per[currency] = {
                "currency": currency,
                "opening_balance": int(opening.get(currency, 0)),
                "earned": 0,
                "reversed": 0,
                "paid_out": 0,
                "credits": {},
                "revenue_lines": [],
                "reversals": [],
                "payouts": [],
                "daily": {},
            }
        return per[currency]

    for currency in opening:
        section(currency)
    for row in lines:
        part = section(row["currency"])
        amount = int(row["amount"])
        entry = {
            "at": _when(int(row["at_ms"])),
            "kind": row["kind"],
            "amount": amount,
            "source_id": row["source_id"],
        }
        if row["kind"] in EARNING_KINDS:
            generation = row["generation_id"]
            entry |= {
                "generation_id": generation,
                "gross": row["gross"],
                "share_ppm": row["share_ppm"],
            }
            part["revenue_lines"].append(entry)
            part["earned"] += amount
            if generation not in part["credits"]:
                attribution_id, stability = credited.get(row["source_id"], (None, None))
                part["credits"][generation] = {
                    "generation_id": generation,
                    "reports": 0,
                    "share_ppm": row["share_ppm"],
                    "earned": 0,
                    "attribution_id": attribution_id,
                    "credit_stability": None if stability is None else stability.as_builtins(),
                }
            credit = part["credits"][generation]
            credit["reports"] += row["kind"] == ARTIST_SHARE
            credit["earned"] += amount
            day = entry["at"][:10]
            part["daily"][day] = part["daily"].get(day, 0) + amount
        elif row["kind"] in PAYOUT_KINDS:
            part["payouts"].append(entry)
            part["paid_out"] -= amount
        else:
            entry |= {"generation_id": row["generation_id"], "share_ppm": row["share_ppm"]}
            part["reversals"].append(entry)
            part["reversed"] -= amount
    currencies = []
    for currency in sorted(per):
        part = per[currency]
        part["credits"] = sorted(
            part["credits"].values(), key=lambda c: (-c["earned"], str(c["generation_id"]))
        )
        part["closing_balance"] = (
            part["opening_balance"] + part["earned"] - part["reversed"] - part["paid_out"]
        )
        part["daily"] = [{"day": d, "earned": v} for d, v in sorted(part["daily"].items())]
        currencies.append(part)
    statement = {
        "artist": dict(artist),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "currencies": currencies,
    }
    return as_view(statement, StatementRead)


def chart_bars(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bars for the SVG: per day, or per month when there are more days than fit; integer sizes."""
    buckets = daily
    if len(daily) > MAX_BARS:
        months: dict[str, int] = {}
        for day in daily:
            months[day["day"][:7]] = months.get(day["day"][:7], 0) + day["earned"]
        buckets = [{"day": m, "earned": v} for m, v in sorted(months.items())][-MAX_BARS:]
    if not buckets:
        return []
    top = max(max(b["earned"] for b in buckets), 1)
    width = CHART_W // len(buckets)
    bars = []
    for index, bucket in enumerate(buckets):
        height = max(bucket["earned"], 0) * (CHART_H - 20) // top
        bars.append(
            {
                "x": index * width + 1,
                "y": CHART_H - height,
                "w": max(width - 2, 1),
                "h": height,
                "label": bucket["day"],
                "earned": bucket["earned"],
            }
        )
    return bars


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Royalty statement — {{ s.artist.pseudonym }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:left}td.n,th.n{text-align:right}
.sum td{font-weight:600}svg rect{fill:#6a4c93}.muted{color:#666}
</style></head><body>
<h1>Royalty statement: {{ s.artist.pseudonym }}
{%- if s.artist.founding %} · founding artist{% endif %}</h1>
<p class="muted">Period {{ s.period.start }} to {{ s.period.end }} · artist {{ s.artist.artist_id }}
{% if s.artist.erased %}<br>This donor was erased: the balance is held and not paid out.{% endif %}
</p>
{% if not s.currencies %}<p>No royalties in this period.</p>{% endif %}
{% for c in s.currencies %}
<h2>{{ c.currency }}</h2>
<table class="sum">
<tr><td>Opening balance</td><td class="n">{{ money(c.opening_balance, c.currency) }}</td></tr>
<tr><td>Earned</td><td class="n">{{ money(c.earned, c.currency) }}</td></tr>
<tr><td>Reversed (refunds, chargebacks)</td>
<td class="n">{{ money(-c.reversed, c.currency) }}</td></tr>
<tr><td>Paid out</td><td class="n">{{ money(-c.paid_out, c.currency) }}</td></tr>
<tr><td>Closing balance</td><td class="n">{{ money(c.closing_balance, c.currency) }}</td></tr>
</table>
{% set bars = chart(c.daily) %}{% if bars %}
<svg width="{{ W }}" height="{{ H + 16 }}" role="img" aria-label="earnings per period">
{% for b in bars %}<rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.w }}" height="{{ b.h }}">
<title>{{ b.label }}: {{ money(b.earned, c.currency) }}</title></rect>
{% endfor %}<text x="0" y="{{ H + 14 }}" font-size="11">{{ bars[0].label }}</text>
<text x="{{ W }}" y="{{ H + 14 }}" font-size="11" text-anchor="end">{{ bars[-1].label }}</text>
</svg>
{% endif %}
<h3>Credits</h3>
<table><tr><th>generation</th><th class="n">reports</th><th class="n">share</th>
<th class="n">earned</th><th>credit stability</th></tr>
{% for g in c.credits %}<tr><td>{{ g.generation_id }}</td><td class="n">{{ g.reports }}</td>
<td class="n">{{ ppm(g.share_ppm) }}</td><td class="n">{{ money(g.earned, c.currency) }}</td>
<td>{{ stability(g.credit_stability) }}</td></tr>
{% endfor %}</table>
<p class="muted">Credit stability: how much of the credit stays the same when the attribution's
random projection is drawn with another seed (1.000 = the same payees and shares), as the
museum's attribution bench measured its method.</p>
<h3>Revenue lines</h3>
<table><tr><th>when</th><th>kind</th><th>generation</th><th class="n">gross</th>
<th class="n">share</th><th class="n">amount</th></tr>
{% for r in c.revenue_lines %}<tr><td>{{ r.at[:19] }}</td><td>{{ r.kind }}</td>
<td>{{ r.generation_id }}</td><td class="n">{{ money(r.gross, c.currency) }}</td>
<td class="n">{{ ppm(r.share_ppm) }}</td><td class="n">{{ money(r.amount, c.currency) }}</td></tr>
{% endfor %}</table>
<h3>Reversals</h3>
{% if c.reversals %}<table><tr><th>when</th><th>kind</th><th>generation</th>
<th class="n">amount</th></tr>
{% for r in c.reversals %}<tr><td>{{ r.at[:19] }}</td><td>{{ r.kind }}</td>
<td>{{ r.generation_id }}</td><td class="n">{{ money(r.amount, c.currency) }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">None.</p>{% endif %}
<h3>Payouts</h3>
{% if c.payouts %}<table><tr><th>when</th><th>kind</th><th>payout</th><th class="n">amount</th></tr>
{% for r in c.payouts %}<tr><td>{{ r.at[:19] }}</td><td>{{ r.kind }}</td>
<td>{{ r.source_id }}</td><td class="n">{{ money(r.amount, c.currency) }}</td></tr>
{% endfor %}</table>{% else %}<p class="muted">None.</p>{% endif %}
{% endfor %}
</body></html>
"""


def _ppm(value: int | None) -> str:
    if value is None:
        return ""
    whole, part = divmod(int(value), 10_000)
    return f"{whole}.{part:04d} %"


def stability_text(stability: Mapping[str, Any] | CreditStabilityRead | None) -> str:
    """One credit's stability in words: per-artist and per-item agreement across seeds."""
    if stability is None:
        return "not measured"
    if isinstance(stability, CreditStabilityRead):
        stability = stability.as_builtins()
    return (
        f"{float(stability['artist']):.3f} per artist, {float(stability['item']):.3f} per item"
        f" across {int(stability['projection_seeds'])} projection seeds"
    )


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_DOCUMENT = _ENV.from_string(_TEMPLATE)


def render_html(statement: StatementRead) -> str:
    """The statement as one self-contained HTML page (no scripts, no external assets)."""
    return _DOCUMENT.render(
        s=statement.as_builtins(),
        money=lambda amount, currency: (
            "" if amount is None else format_minor(int(amount), currency)
        ),
        ppm=_ppm,
        stability=stability_text,
        chart=chart_bars,
        W=CHART_W,
        H=CHART_H,
    )


CSV_COLUMNS = (
    "artist_id",
    "currency",
    "section",
    "at",
    "kind",
    "amount_minor",
    "source_id",
    "generation_id",
    "gross_minor",
    "share_ppm",
)


def render_csv(statement: StatementRead) -> str:
    """The statement's lines as RFC 4180 CSV (CRLF row ends, quoting by the csv module): a
    header row, then every revenue line, reversal and payout of each currency in time order.
    Opening and closing balances are in the JSON, not here, so the amounts of a file sum to
    the period's movement."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    artist = statement.artist.artist_id
    for part in statement.currencies:
        rows = [
            ("revenue", r.at, r.kind, r.amount, r.source_id, r.generation_id, r.gross, r.share_ppm)
            for r in part.revenue_lines
        ]
        rows += [
            ("reversal", r.at, r.kind, r.amount, r.source_id, r.generation_id, None, r.share_ppm)
            for r in part.reversals
        ]
        rows += [
            ("payout", r.at, r.kind, r.amount, r.source_id, None, None, None) for r in part.payouts
        ]
        for row in sorted(rows, key=lambda line: line[1]):
            writer.writerow([artist, part.currency, *("" if v is None else v for v in row)])
    return buffer.getvalue()
