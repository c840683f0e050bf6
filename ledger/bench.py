"""`museum bench ledger`: ledger appends beside raw inserts on the same database, and verify speed.

For each backend (a SQLite file in `workdir`; PostgreSQL in a fresh database made and dropped
here) the bench

1. registers a few artists and makes one donation each through the real service (untimed setup),
2. warms up, then times exactly `events` appends through the ledger's real path, in the mix the
   service produces: `Donation` creations (`Donation.make` + `ledger.save`, one event and one
   transaction each) and consent changes (`ledger.grant_consent` / `ledger.revoke_consent`:
   get, command, save; one event and one transaction each),
3. replays the very records the ledger stored during the timed loop (same originator ids,
   versions, topics and state bytes) as plain inserts into a table of the same shape, one row
   and one commit per transaction, on the same database and with the same durability settings;
   steps 2 and 3 alternate in `ROUNDS` rounds so that the machine's changing load (a shared
   disk, a busy server) weighs on both sides of the ratio alike,
4. times full `ledger.donate()` calls (image checks, sealing, blob writes, receipt) as info,
5. signs a tree head and times `verify()` over the whole log (at least `events` events),
6. rotates the master key over a vault of `rotation_artists` keys (`ledger.bench_rotation`),
   beside a raw rewrite of the same vault rows,
7. measures the C2SP formats on a SQLite ledger of their own (`ledger.bench_c2sp`).

Nothing here asserts a timing: the figures are reported, each beside its target.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.bench_c2sp import run_c2sp_bench
from ledger.bench_payloads import Payloads
from ledger.bench_raw import RawPostgres, RawSQLite, stored_rows
from ledger.bench_rotation import rotation_figures
from ledger.benchkit import (
    NO_POSTGRES_URL,
    bench_settings,
    host_facts,
    measured_backends,
    on_scratch_postgres,
    skipped_backend,
)
from ledger.domain import Donation
from ledger.runtime import close_ledger, open_ledger
from ledger.schemas import (
    ArtistCreate,
)
from ledger.settings import Settings

TARGET_APPEND_TO_RAW_RATIO = 0.5
TARGET_VERIFY_EVENTS_PER_S = 50_000.0
TARGETS: dict[str, float] = {
    "append_to_raw_ratio": TARGET_APPEND_TO_RAW_RATIO,
    "verify_events_per_s": TARGET_VERIFY_EVENTS_PER_S,
}

ARTISTS = 6
ROTATION_ARTISTS = 10_000  # the vault `museum keys rotate-master` re-wraps, timed
ROUNDS = 10  # timed rounds of ledger appends, each followed by the raw replay of its rows
# One cycle of the timed loop: two new donations, then one consent granted and later revoked.
CYCLE = ("donation", "donation", "grant", "revoke")
TOGGLED_PURPOSE = "research"


# --- the ledger side ------------------------------------------------------------------------


@dataclass
class AppendRun:
    events: int
    seconds: float
    seconds_by_kind: dict[str, float]
    events_by_kind: dict[str, int]
    first_id: int  # notification ids of the appended events: (first_id, last_id]
    last_id: int


class Appender:
    """Appends events through the ledger's real path, in the mix of `CYCLE`."""

    def __init__(self, ledger: MuseumLedger, artists: Sequence[UUID], payloads: Payloads) -> None:
        self.ledger = ledger
        self.artists = list(artists)
        self.keys = {artist_id: ledger.data_key(artist_id) for artist_id in self.artists}
        self.payloads = payloads

    def run(self, events: int) -> AppendRun:
        kinds = [CYCLE[i % len(CYCLE)] for i in range(events)]
        specs = []
        for n in range(kinds.count("donation")):  # sealing is the service's work before the event
            artist_id = self.artists[n % len(self.artists)]
            specs.append(self.payloads.donation_spec(self.keys[artist_id], artist_id))
        first_id = _max_id(self.ledger)
        created: list[UUID] = []
        toggled = 0
        seconds_by_kind: dict[str, float] = dict.fromkeys((*CYCLE, "donation_save"), 0.0)
        events_by_kind: dict[str, int] = dict.fromkeys(CYCLE, 0)
        perf = time.perf_counter
        began = perf()
        for kind in kinds:
            t0 = perf()
            if kind == "donation":
                donation = Donation.make(**specs[len(created)])
                t_save = perf()
                appended = len(self.ledger.save(donation))
                seconds_by_kind["donation_save"] += perf() - t_save
                created.append(donation.id)
            elif kind == "grant":
                appended = int(self.ledger.grant_consent(created[toggled], TOGGLED_PURPOSE))
            else:
                appended = int(self.ledger.revoke_consent(created[toggled], TOGGLED_PURPOSE))
                toggled += 1
            seconds_by_kind[kind] += perf() - t0
            events_by_kind[kind] += appended
        seconds = perf() - began
        last_id = _max_id(self.ledger)
        total = sum(events_by_kind.values())
        if total != events:
            raise RuntimeError(f"the bench appended {total} events, expected {events}")
        return AppendRun(
            total, seconds, dict(seconds_by_kind), dict(events_by_kind), first_id, last_id
        )


def _max_id(ledger: MuseumLedger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


# --- one backend ----------------------------------------------------------------------------


def _rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def _chunks(total: int, rounds: int) -> list[int]:
    """`total` split into `rounds` near-equal positive parts (fewer when `total` is small)."""
    rounds = max(1, min(rounds, total))
    return [total // rounds + (1 if n < total % rounds else 0) for n in range(rounds)]


def _bench_backend(
    backend: str,
    settings: Settings,
    events: int,
    raw_factory: Callable[[], RawSQLite | RawPostgres],
    rotation_artists: int = ROTATION_ARTISTS,
) -> dict[str, Any]:
    began = time.perf_counter()
    payloads = Payloads(seed=0)
    ledger = open_ledger(settings)
    raw: RawSQLite | RawPostgres | None = None
    try:
        # Setup, untimed: artists, and one full donation each (also warms the donate path).
        artists = [
            ledger.register_artist(
                ArtistCreate(f"Bench Artist {n}", f"Legal Name {n}", f"artist{n}@example.org")
            )
            for n in range(ARTISTS)
        ]
        for artist_id in artists:
            ledger.donate(payloads.donation_request(artist_id))
        appender = Appender(ledger, artists, payloads)
        raw = raw_factory()
        durability = raw.durability()
        warm = appender.run(max(8, min(200, events // 10)))
        raw.insert(stored_rows(ledger, warm.first_id, warm.last_id))

        # Timed: ledger appends and their raw replay alternate in rounds, so that a change in the
        # machine's load during the run weighs on both sides of the ratio alike.
        appended = 0
        append_seconds = raw_seconds = 0.0
        seconds_by_kind: Counter[str] = Counter()
        events_by_kind: Counter[str] = Counter()
        sizes: list[int] = []
        mix: Counter[str] = Counter()
        for chunk in _chunks(events, ROUNDS):
            run = appender.run(chunk)
            rows = stored_rows(ledger, run.first_id, run.last_id)
            if len(rows) != run.events:
                raise RuntimeError(
                    f"the ledger stored {len(rows)} events in a timed round, "
                    f"the bench counted {run.events}"
                )
            raw_seconds += raw.insert(rows)
            appended += run.events
            append_seconds += run.seconds
            seconds_by_kind.update(run.seconds_by_kind)
            events_by_kind.update(run.events_by_kind)
            sizes += [len(r.state) for r in rows]
            mix.update(r.topic.rsplit(":", 1)[-1] for r in rows)

        donations = max(3, min(100, events // 20))
        donate_seconds = 0.0
        for n in range(donations):  # making the request (PNG encoding) is the client's work
            request = payloads.donation_request(artists[n % len(artists)])
            t0 = time.perf_counter()
            ledger.donate(request)
            donate_seconds += time.perf_counter() - t0
        donate_events = (
            2 * donations
        )  # DonationMade and the artist's DonationAdded, one transaction

        t0 = time.perf_counter()
        ledger.integrity.sign_head()
        sign_seconds = time.perf_counter() - t0
        reports = [ledger.integrity.verify() for _ in range(2)]  # the first one warms up
        report = min(reports, key=lambda r: r.seconds)
    finally:
        if raw is not None:
            raw.close()
        close_ledger(ledger)
    rotation = rotation_figures(settings, rotation_artists, artists[0])

    append_rate = _rate(appended, append_seconds)
    raw_rate = _rate(len(sizes), raw_seconds)
    ratio = append_rate / raw_rate if raw_rate > 0 else 0.0
    save_rate = _rate(events_by_kind["donation"], seconds_by_kind["donation_save"])
    verify_rate = _rate(report.events, report.seconds)
    consent_events = events_by_kind["grant"] + events_by_kind["revoke"]
    consent_seconds = seconds_by_kind["grant"] + seconds_by_kind["revoke"]
    return {
        "backend": backend,
        "skipped": False,
        "events": appended,
        "rounds": len(_chunks(events, ROUNDS)),
        "append_seconds": append_seconds,
        "append_events_per_s": append_rate,
        "append_mix": dict(sorted(mix.items())),
        "donation_append_events_per_s": _rate(
            events_by_kind["donation"], seconds_by_kind["donation"]
        ),
        "donation_save_only_events_per_s": save_rate,
        "consent_change_events_per_s": _rate(consent_events, consent_seconds),
        "head_every_events": settings.head_every_events,
        "state_bytes_mean": sum(sizes) / len(sizes) if sizes else 0.0,
        "state_bytes_min": min(sizes, default=0),
        "state_bytes_max": max(sizes, default=0),
        "raw_rows": len(sizes),
        "raw_seconds": raw_seconds,
        "raw_inserts_per_s": raw_rate,
        "raw_durability": durability,
        "append_to_raw_ratio": ratio,
        "save_only_to_raw_ratio": save_rate / raw_rate if raw_rate > 0 else 0.0,
        # The ratio moves with the disk's commit latency; the ledger's own cost per event does not.
        "ledger_overhead_us_per_event": (
            (1 / append_rate - 1 / raw_rate) * 1e6 if append_rate > 0 and raw_rate > 0 else 0.0
        ),
        "verify_events": report.events,
        "verify_seconds": report.seconds,
        "verify_events_per_s": verify_rate,
        "sign_head_seconds": sign_seconds,
        "donate_calls": donations,
        "donate_seconds": donate_seconds,
        "donations_per_s": _rate(donations, donate_seconds),
        "donate_events_per_s": _rate(donate_events, donate_seconds),
        "rotation": rotation,
        "meets_target": {
            "append_to_raw_ratio": ratio >= TARGET_APPEND_TO_RAW_RATIO,
            "verify_events_per_s": verify_rate >= TARGET_VERIFY_EVENTS_PER_S,
        },
        "seconds_total": time.perf_counter() - began,
    }


def _bench_sqlite(events: int, workdir: Path, rotation_artists: int) -> dict[str, Any]:
    settings = bench_settings(workdir / "sqlite")
    return _bench_backend(
        "sqlite", settings, events, lambda: RawSQLite(settings.sqlite_path), rotation_artists
    )


def _bench_postgres(
    events: int, workdir: Path, postgres_url: str, rotation_artists: int
) -> tuple[dict[str, Any], str | None]:
    """Bench in a fresh `museum_bench_<random>` database on the server; it is always dropped."""
    return on_scratch_postgres(
        postgres_url,
        workdir / "postgres",
        lambda settings, database: _bench_backend(
            "postgres", settings, events, lambda: RawPostgres(database.url), rotation_artists
        ),
    )


def _machine(postgres_version: str | None) -> dict[str, Any]:
    return {
        **host_facts(
            "cpu_count", "usable_cpus", "machine", "platform", "python", "python_implementation"
        ),
        "sqlite": sqlite3.sqlite_version,
        "postgres_server": postgres_version,
        "eventsourcing": metadata.version("eventsourcing"),
    }


def run_ledger_bench(
    *,
    events: int = 2000,
    postgres_url: str | None,
    workdir: Path,
    rotation_artists: int = ROTATION_ARTISTS,
) -> dict[str, Any]:
    """Measure both backends (PostgreSQL only with a URL); return JSON-ready figures."""
    if events < 1:
        raise ValueError("the bench needs at least one event")
    if rotation_artists < ARTISTS:
        raise ValueError(f"the rotation needs at least the bench's {ARTISTS} artists")
    began = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "bench": "ledger",
        "events": events,
        "rotation_artists": rotation_artists,
        "targets": dict(TARGETS),
    }
    figures["sqlite"] = _bench_sqlite(events, workdir, rotation_artists)
    postgres_version = None
    if postgres_url is None:
        figures["postgres"] = skipped_backend("postgres", NO_POSTGRES_URL)
    else:
        figures["postgres"], postgres_version = _bench_postgres(
            events, workdir, postgres_url, rotation_artists
        )
    figures["c2sp"] = run_c2sp_bench(
        workdir / "c2sp",
        signs=max(200, events),
        cosigns=max(20, events // 10),
        events=min(8192, max(512, 2 * events)),
    )
    figures["backends"] = measured_backends(figures)
    figures["machine"] = _machine(postgres_version)
    figures["seconds_total"] = time.perf_counter() - began
    return figures
