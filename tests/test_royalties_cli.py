"""`museum royalties …` in a subprocess: real command, real SQLite ledger, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import factories
import pytest
from test_royalties_ledger import make_world

from ledger.crypto import MasterKey
from ledger.runtime import opened_ledger
from ledger.settings import Settings


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """An embedded ledger with an attributed generation; returns (home, env, ids)."""
    home = tmp_path_factory.mktemp("museum")
    key = MasterKey.generate_text()
    with opened_ledger(Settings(home=home, master_key=key)) as ledger:
        world = make_world(ledger)
        ids = {"generation": str(world.generation.id), "artist": str(world.artists[0])}
    return home, {"MUSEUM_MASTER_KEY": key}, ids


def test_report_statement_and_payout(
    home: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    where, env, ids = home
    booked = factories.run_museum(
        where,
        "royalties", "report", ids["generation"], "--amount", "19.99", "--currency", "EUR",
        "--reference", "order 7", "--key", "cli-1", "--json",
        env=env,
    )  # fmt: skip
    assert booked.returncode == 0, booked.stderr
    report = json.loads(booked.stdout)
    assert report["amount_minor"] == 1999
    assert sum(p["amount"] for p in report["postings"]) == 0
    page = tmp_path / "statement.html"
    statement = factories.run_museum(
        where,
        "royalties", "statement", ids["artist"], "--from", "2000-01-01", "--to", "2100-01-01",
        "--html", str(page), "--json",
        env=env,
    )  # fmt: skip
    assert statement.returncode == 0, statement.stderr
    data = json.loads(statement.stdout)
    assert data["currencies"][0]["earned"] > 0
    [credit] = data["currencies"][0]["credits"]
    assert credit["credit_stability"] is None  # this attribution recorded no agreement
    assert "<svg" in page.read_text()
    readable = factories.museum_in_process(
        where, "royalties", "statement", ids["artist"], "--from", "2000-01-01", "--to", "2100-01-01",
        env=env,
    )  # fmt: skip
    assert readable.returncode == 0, readable.stderr
    assert f"generation {ids['generation']}: earned" in readable.stdout
    assert "credit stability not measured" in readable.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--amount", "1.999", "--currency", "EUR"], "fraction of a minor unit"),
        (["--amount-minor", "0", "--currency", "EUR"], "positive"),
        (["--amount", "5", "--currency", "ABC"], "unknown currency"),
        (["--currency", "EUR"], "exactly one of --amount"),
    ],
)
def test_bad_reports_are_one_line_errors(
    home: tuple[Path, dict[str, str], dict[str, str]], args: list[str], message: str
) -> None:
    where, env, ids = home
    result = factories.run_museum(
        where,
        "royalties", "report", ids["generation"], "--reference", "r", "--key", "bad", *args,
        env=env,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
