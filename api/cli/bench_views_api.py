"""How `museum bench api` shows its figures: a row per (rate, target) cell, the targets met or
not, the targets skipped (a route the server does not serve yet) and the machine."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _cells(figures: dict[str, Any]) -> Table:
    table = Table(
        title=(
            f"API bench: PostgreSQL, {figures.get('workers')} server worker(s), "
            f"{figures.get('duration_s')} s per cell, locust on loopback"
        ),
        caption=(
            "rate: offered (fixed arrival rate) · done: achieved requests/s · "
            "×base: p99 over health's p99 at the same rate"
        ),
    )
    table.add_column("rate/s", justify="right", no_wrap=True)
    table.add_column("target", no_wrap=True)
    for column in ("users", "done/s", "p50 ms", "p99 ms", "p99 ×base", "errors"):
        table.add_column(column, justify="right", no_wrap=True)
    for cell in figures.get("cells", []):
        errors = cell["error_count"]
        ratio = cell.get("p99_vs_health")
        table.add_row(
            f"{cell['rate']:,}",
            cell["target"],
            f"{cell['users']:,}",
            f"{cell['achieved_rps']:,.1f}",
            _ms(cell["p50_ms"]),
            _ms(cell["p99_ms"]),
            "–" if ratio is None else f"{ratio:.2f}",
            Text(f"{errors:,}", style="red" if errors else "green"),
        )
    return table


def _verdicts(figures: dict[str, Any]) -> Table:
    table = Table(title="Targets")
    table.add_column("target")
    table.add_column("result")
    for verdict in figures.get("verdicts", []):
        met = verdict["met"]
        shown = (
            Text("not measured", style="dim")
            if met is None
            else Text("met ✓", style="green")
            if met
            else Text("not met ✗", style="red")
        )
        table.add_row(verdict["target"], shown)
    return table


def render_api_bench(figures: dict[str, Any]) -> Group:
    """The cells, the targets, what was skipped and why, and the machine."""
    skipped = [
        Text(f"{t['target']} skipped: {t['reason']}", style="yellow")
        for t in figures.get("targets", [])
        if t["skipped"]
    ]
    machine = figures.get("machine", {})
    load = machine.get("load_average") or ["?"]
    footer = Text(
        f"{machine.get('cpu_count')} CPUs ({machine.get('cpu')}) · Python {machine.get('python')} · "
        f"PostgreSQL {figures.get('server_version')} · load {load[0]} at the end · "
        f"{figures.get('seconds_total', 0.0):.1f} s in all",
        style="dim",
    )
    return Group(_cells(figures), _verdicts(figures), *skipped, footer)
