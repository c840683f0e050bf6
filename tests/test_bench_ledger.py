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

from api.cli.bench_views import render_backup_figures, render_ledger_bench
from ledger.bench import TARGETS, _chunks, run_ledger_bench
from ledger.bench_c2sp import inclusion_path_length, run_c2sp_bench

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
    for word in ("SQLite", "PostgreSQL", "skipped", "C2SP formats", "Tessera", "proof bundle"):
        assert word in text


def test_the_c2sp_figures_are_complete(tmp_path: Path) -> None:
    c2sp = run_c2sp_bench(tmp_path, signs=50, cosigns=5, events=512, rounds=1)
    signing, serving = c2sp["signing"], c2sp["serving"]
    assert signing["checkpoint_signs_per_s"] > 0
    assert signing["checkpoint_to_bare_ratio"] == pytest.approx(
        signing["checkpoint_signs_per_s"] / signing["ed25519_signs_per_s"]
    )
    assert c2sp["witness"]["witness_cosigns_per_s"] > 0
    assert serving["log_entries"] >= 512
    assert serving["entry_bundle_to_raw_read_ratio"] > 0
    proof = c2sp["proof_at_1e6"]
    assert proof["path_hashes"] == 20  # ceil(log2(10**6)) for the first entry
    assert proof["bundle_bytes"] > proof["bundle_bytes_without_entry"]
    assert inclusion_path_length(5, 8) == 3
    assert inclusion_path_length(6, 7) == 2  # a lone right node climbs without siblings


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


def test_the_backup_figures_are_complete_and_consistent(tmp_path: Path) -> None:
    from api.cli.bench import demo_collection
    from ledger.backup_bench import run_backup_bench

    backup = run_backup_bench(events=120, workdir=tmp_path, demo=demo_collection(3, 1, 16))
    demo, events = backup["cases"]
    assert demo["name"] == "demo collection"
    assert events["name"] == "120 events"
    assert events["events"] >= 120  # the artists' registrations come on top
    for case in (demo, events):
        assert case["restored_events"] == case["events"]
        assert case["backup_bytes"] == case["live_bytes"] > 0
        for key in ("copy_seconds", "backup_seconds", "restore_seconds", "backup_to_copy_ratio"):
            assert math.isfinite(case[key])
            assert case[key] > 0, key
        assert case["restore_verify_seconds"] < case["restore_seconds"]
    assert demo["blobs"] > 0
    assert events["blobs"] > 0
    assert not any(tmp_path.rglob("*.sqlite3"))  # each case's folders are removed
    console = Console(record=True, width=140)
    console.print(render_backup_figures(backup))
    text = console.export_text()
    for word in ("museum backup, s", "restore ÷ plain copy", "demo collection", "120 events"):
        assert word in text


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
