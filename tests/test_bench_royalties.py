"""`museum bench royalties`: the figures are complete and consistent. No timing is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_ADMIN_URL
from rich.console import Console

from api.cli.bench_views import render_royalties_bench
from royalties.bench import run_royalties_bench

REPORTS = 6
LINES = 40


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_royalties_bench(
        reports=REPORTS,
        statement_lines=LINES,
        postgres_url=POSTGRES_ADMIN_URL,
        workdir=tmp_path_factory.mktemp("bench"),
    )


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_figures_are_positive_and_consistent(figures: dict[str, Any], backend: str) -> None:
    assert figures["backends"] == ["sqlite", "postgres"]
    data = figures[backend]
    assert data["skipped"] is False
    assert data["reports"] == REPORTS
    assert data["seeded_reports"] == LINES
    for key in (
        "reports_per_s",
        "postings_per_s",
        "projection_events_per_s",
        "statement_seconds",
        "html_seconds",
    ):
        assert math.isfinite(data[key]), key
        assert data[key] > 0, key
    assert data["reports_per_s"] == pytest.approx(REPORTS / data["report_seconds"])
    # The statement's artist has every seeded line, plus their share of the timed reports.
    assert data["statement_credit_lines"] >= LINES + REPORTS
    assert data["projection_rows"] == 3 * LINES  # receivable, platform, the artist
    assert data["books_balance"] is True
    assert json.loads(json.dumps(figures)) == figures


@pytest.mark.postgres
def test_the_table_renders(figures: dict[str, Any]) -> None:
    console = Console(record=True, width=140)
    console.print(render_royalties_bench(figures))
    text = console.export_text()
    for word in ("SQLite", "PostgreSQL", "reports/s", "statement"):
        assert word in text
    assert "skipped" not in text


def test_without_postgres_only_sqlite_runs(tmp_path: Path) -> None:
    figures = run_royalties_bench(reports=2, statement_lines=3, postgres_url=None, workdir=tmp_path)
    assert figures["backends"] == ["sqlite"]
    assert "no PostgreSQL URL" in figures["postgres"]["reason"]
    with pytest.raises(ValueError, match="at least one"):
        run_royalties_bench(reports=0, statement_lines=1, postgres_url=None, workdir=tmp_path)
