"""`museum bench ledger`: the figures are complete and consistent. No timing is asserted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import POSTGRES_ADMIN_URL
from rich.console import Console

from api.cli.bench_views import render_ledger_bench
from ledger.bench import TARGETS, _chunks, run_ledger_bench

EVENTS = 60
ROTATION_ARTISTS = 40
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_ledger_bench(
        events=EVENTS,
        postgres_url=POSTGRES_ADMIN_URL,
        workdir=tmp_path_factory.mktemp("bench"),
        rotation_artists=ROTATION_ARTISTS,
    )


def rendered(figures: dict[str, Any]) -> str:
    console = Console(record=True, width=140)
    console.print(render_ledger_bench(figures))
    return console.export_text()


@pytest.mark.postgres
def test_both_backends_are_measured(figures: dict[str, Any]) -> None:
    assert figures["bench"] == "ledger"
    assert figures["events"] == EVENTS
    assert figures["backends"] == list(BACKENDS)
    assert figures["targets"] == TARGETS
    assert figures["machine"]["cpu_count"] >= 1
    assert figures["machine"]["python"]
    assert figures["machine"]["postgres_server"]
    assert figures["seconds_total"] > 0


@pytest.mark.postgres
@pytest.mark.parametrize("backend", BACKENDS)
def test_figures_are_positive_and_consistent(figures: dict[str, Any], backend: str) -> None:
    data = figures[backend]
    assert data["backend"] == backend
    assert data["skipped"] is False
    # Exactly the requested events were appended, stored, and replayed raw.
    assert data["events"] == EVENTS
    assert data["raw_rows"] == EVENTS
    assert sum(data["append_mix"].values()) == EVENTS
    assert set(data["append_mix"]) == {
        "Donation.DonationMade",
        "Donation.ConsentGranted",
        "Donation.ConsentRevoked",
    }
    for key in (
        "append_seconds",
        "append_events_per_s",
        "donation_append_events_per_s",
        "donation_save_only_events_per_s",
        "consent_change_events_per_s",
        "raw_seconds",
        "raw_inserts_per_s",
        "append_to_raw_ratio",
        "verify_seconds",
        "verify_events_per_s",
        "donations_per_s",
        "donate_events_per_s",
        "state_bytes_mean",
    ):
        assert math.isfinite(data[key]), key
        assert data[key] > 0, key
    assert data["append_events_per_s"] == pytest.approx(EVENTS / data["append_seconds"])
    assert data["raw_inserts_per_s"] == pytest.approx(EVENTS / data["raw_seconds"])
    assert data["append_to_raw_ratio"] == pytest.approx(
        data["append_events_per_s"] / data["raw_inserts_per_s"]
    )
    assert data["save_only_to_raw_ratio"] == pytest.approx(
        data["donation_save_only_events_per_s"] / data["raw_inserts_per_s"]
    )
    # Verify covers at least the appended events (plus setup and full donations).
    assert data["verify_events"] >= EVENTS + 2 * data["donate_calls"]
    assert data["verify_events_per_s"] == pytest.approx(
        data["verify_events"] / data["verify_seconds"]
    )
    assert data["donations_per_s"] == pytest.approx(data["donate_calls"] / data["donate_seconds"])
    assert data["state_bytes_min"] <= data["state_bytes_mean"] <= data["state_bytes_max"]
    assert data["state_bytes_mean"] > 500  # sealed labels and captions, not empty events
    assert data["meets_target"] == {
        "append_to_raw_ratio": data["append_to_raw_ratio"] >= TARGETS["append_to_raw_ratio"],
        "verify_events_per_s": data["verify_events_per_s"] >= TARGETS["verify_events_per_s"],
    }


@pytest.mark.postgres
def test_figures_are_one_json_object(figures: dict[str, Any]) -> None:
    line = json.dumps(figures)
    assert "\n" not in line
    assert json.loads(line) == figures


@pytest.mark.postgres
def test_the_bench_database_is_dropped(figures: dict[str, Any]) -> None:
    name = figures["postgres"]["database"]
    assert name.startswith("museum_bench_")
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    assert row == (0,)


@pytest.mark.postgres
def test_the_table_renders_both_backends(figures: dict[str, Any]) -> None:
    text = rendered(figures)
    for word in ("SQLite", "PostgreSQL", "ledger ÷ raw", "verify, events/s", "≥ 0.5", "≥ 50,000"):
        assert word in text
    assert "skipped" not in text


def test_without_postgres_only_sqlite_is_measured(tmp_path: Path) -> None:
    figures = run_ledger_bench(events=12, postgres_url=None, workdir=tmp_path)
    assert figures["backends"] == ["sqlite"]
    assert figures["sqlite"]["events"] == 12
    assert figures["postgres"]["skipped"] is True
    assert "no PostgreSQL URL" in figures["postgres"]["reason"]
    assert (tmp_path / "sqlite" / "ledger.sqlite3").exists()
    json.dumps(figures)
    text = rendered(figures)
    for word in ("SQLite", "PostgreSQL", "skipped"):
        assert word in text


def test_an_unreachable_postgres_is_reported_not_raised(tmp_path: Path) -> None:
    figures = run_ledger_bench(
        events=10,
        postgres_url="postgresql://postgres:secret@127.0.0.1:1/postgres",
        workdir=tmp_path,
    )
    assert figures["backends"] == ["sqlite"]
    assert figures["postgres"]["skipped"] is True
    assert "cannot reach PostgreSQL" in figures["postgres"]["reason"]
    assert "secret" not in figures["postgres"]["reason"]


def test_chunks_split_the_events_exactly() -> None:
    assert _chunks(2000, 10) == [200] * 10
    assert _chunks(23, 10) == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert _chunks(4, 10) == [1, 1, 1, 1]
    assert sum(_chunks(61, 10)) == 61


def test_fewer_than_one_event_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one event"):
        run_ledger_bench(events=0, postgres_url=None, workdir=tmp_path)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", BACKENDS)
def test_the_rotation_rewraps_the_whole_vault_and_still_verifies(
    figures: dict[str, Any], backend: str
) -> None:
    rotation = figures[backend]["rotation"]
    assert figures["rotation_artists"] == ROTATION_ARTISTS
    assert rotation["artists"] == ROTATION_ARTISTS
    assert rotation["vault_rows_added_untimed"] == ROTATION_ARTISTS - 6  # the bench's artists
    assert rotation["verified_after"] is True
    assert rotation["sample_artist_readable"] is True
    for key in ("rotate_seconds", "raw_rewrite_seconds", "rotate_to_raw_ratio", "us_per_artist"):
        assert math.isfinite(rotation[key]), key
        assert rotation[key] > 0, key
    assert rotation["rotate_to_raw_ratio"] == pytest.approx(
        rotation["rotate_seconds"] / rotation["raw_rewrite_seconds"]
    )
    assert f"master-key rotation, {ROTATION_ARTISTS:,} artists" in rendered(figures)
