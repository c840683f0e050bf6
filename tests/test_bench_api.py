"""`museum bench api --quick` end to end: a scratch PostgreSQL database, the real server in a
subprocess, locust in another. Checks the figures' structure and that no request failed, never
a speed; targets whose routes the server does not serve yet are reported as skipped."""

from __future__ import annotations

import json
from pathlib import Path

import factories
import psycopg
import pytest
from conftest import POSTGRES_ADMIN_URL

from api.http.bench import TARGETS

RATE = 20


@pytest.mark.postgres
def test_bench_api_quick_reports_every_served_target(tmp_path: Path) -> None:
    done = factories.run_museum(
        tmp_path / "var",
        "bench",
        "api",
        "--quick",
        "--duration",
        "2",
        "--rates",
        str(RATE),
        "--database-url",
        POSTGRES_ADMIN_URL,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["bench"] == "api"
    assert figures["backend"] == "postgres"
    assert figures["rates"] == [RATE]
    targets = {t["target"]: t for t in figures["targets"]}
    assert set(targets) == set(TARGETS)
    assert not targets["health"]["skipped"]
    served = [name for name in TARGETS if not targets[name]["skipped"]]
    for name in TARGETS:
        if targets[name]["skipped"]:
            assert "is not served" in targets[name]["reason"]
    cells = {cell["target"]: cell for cell in figures["cells"]}
    assert sorted(cells) == sorted(served)
    for cell in cells.values():
        assert cell["rate"] == RATE
        assert cell["users"] >= 1
        assert cell["requests"] > 0
        assert cell["achieved_rps"] > 0
        assert cell["error_count"] == 0, cell["errors"]
        assert 0 <= cell["p50_ms"] <= cell["p99_ms"]
        assert "p99_vs_health" in cell
    verdicts = {v["target"]: v["met"] for v in figures["verdicts"]}
    assert verdicts["no error"] is True
    assert len(verdicts) == 4
    # The database the bench made is gone again.
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        left = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (figures["database"],)
        ).fetchall()
    assert left == []


def test_bench_api_refuses_an_unreachable_server(tmp_path: Path) -> None:
    done = factories.run_museum(
        tmp_path / "var",
        "bench",
        "api",
        "--quick",
        "--database-url",
        "postgresql://postgres@127.0.0.1:1/postgres",
    )
    assert done.returncode == 6, done.stderr
    assert done.stderr.startswith("error: ")
    assert "cannot reach PostgreSQL" in done.stderr
    assert done.stderr.count("\n") == 1
