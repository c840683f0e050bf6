"""`museum bench api`: requests/s and p50 / p99 latency of the served API at fixed arrival rates.

1. A fresh PostgreSQL database (made and dropped here) is seeded through the museum's own
   services, untimed: artists and donations with every consent, a completed training run, a
   generation and its attribution (recorded directly, no torch), revenue reports so that a
   statement has lines, and API keys (an integrator, each artist).
2. The real server starts as a subprocess (`museum serve`, the database by
   `MUSEUM_DATABASE_URL`, a rate limit no caller reaches, no access log).
3. For each rate, each target in turn — the trivial health endpoint (the baseline), reading an
   attribution, reading a statement with the artist's own key, posting a consent change — is
   driven by locust headless in its own process (`bench_locustfile.py`) at that arrival rate for
   `duration` seconds; figures count from when every user has started.

A target whose route the server does not serve (its OpenAPI document lacks it) is reported as
skipped. Nothing here asserts a timing, and nothing prints: the figures are returned.
"""

from __future__ import annotations

import io
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
from PIL import Image

from api.http.auth.keys import KeyStore
from collection import donation_request, founding_collection
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.benchkit import bench_settings, host_facts, load_average, scratch_database
from ledger.model_records import ModelRecords
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings
from royalties.service import RoyaltyService

API = "/api/v1"
TARGETS = ("health", "attribution", "statement", "consent")
RATES = (50, 200, 500)
PER_USER_RPS = 5.0  # each locust user's constant throughput; users = rate / this
READ_P99_MS, CONSENT_RPS, CONSENT_P99_MS, READ_RATE = 50.0, 100.0, 100.0, 200
PERIOD = {"start": "2000-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"}
LOCUSTFILE = Path(__file__).with_name("bench_locustfile.py")
# The OpenAPI path and method of each target, to find which the server serves.
ROUTES = {
    "health": ("get", f"{API}/health"),
    "attribution": ("get", f"{API}/generations/{{generation_id}}/attribution"),
    "statement": ("get", f"{API}/artists/{{artist_id}}/statement"),
    "consent": ("post", f"{API}/donations/{{donation_id}}/consent"),
}


@dataclass(frozen=True)
class World:
    """What the seeded museum holds for the load: ids and the keys that may read them."""

    generation_id: UUID
    artists: list[tuple[UUID, str]]  # (artist id, the artist's own key)
    donations: list[tuple[UUID, str]]  # (donation id, its artist's key)
    integrator: str
    revenue_reports: int


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def seed(ledger: MuseumLedger, artists: int, donations_per_artist: int, reports: int) -> World:
    """The bench's museum, through the services; every donation consents to everything."""
    keys = KeyStore(ledger.engine)
    drafts = founding_collection(
        n_artists=artists, donations_per_artist=donations_per_artist, size=16, seed=5
    )
    seeded: list[tuple[UUID, str]] = []
    donated: list[tuple[UUID, str]] = []
    for draft in drafts:
        artist_id = ledger.register_artist(draft.artist)
        secret = keys.create("artist", f"bench {draft.artist.pseudonym}", artist_id).secret
        seeded.append((artist_id, secret))
        for item in draft.donations:
            request = donation_request(artist_id, item)
            every = ("exhibit", "train", "commercial", "research")
            made = ledger.donate(replace(request, consents=every))
            donated.append((made.donation_id, secret))
    records = ModelRecords(ledger)
    run = records.start_run(job_id="bench-api-run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 1, "a" * 64, b"bench")
    run = records.complete_run(run.id, 0.1)
    image = io.BytesIO()
    Image.new("L", (16, 16), 77).save(image, "PNG")
    generation = records.record_generation(
        job_id="bench-api-gen",
        run=run,
        seed=1,
        steps=5,
        role="final",
        emotion="joy",
        png=image.getvalue(),
    )
    ids = run.item_ids()
    scores = {item: float(len(ids) - n) for n, item in enumerate(ids)}
    # Every item credited, so the first artist's statement has a line for each report.
    AttributionRecords(ledger).record(generation.id, "trak", {}, "ab" * 32, scores, k=len(ids))
    royalties = RoyaltyService(ledger)
    for n in range(reports):
        royalties.report_revenue(
            generation_id=generation.id,
            amount_minor=1000 + n,
            currency="EUR",
            reference=f"bench print {n}",
            idempotency_key=f"bench-api-{n}",
        )
    integrator = keys.create("integrator", "bench print shop").secret
    return World(generation.id, seeded, donated, integrator, reports)


def plan_requests(target: str, world: World) -> list[dict[str, Any]]:
    """The requests one target's users send; users take them round-robin."""
    if target == "health":
        return [{"path": f"{API}/health", "headers": {}}]
    if target == "attribution":
        path = f"{API}/generations/{world.generation_id}/attribution"
        return [{"path": path, "headers": _bearer(world.integrator)}]
    if target == "statement":
        artist_id, secret = world.artists[0]  # the first artist is credited on every report
        path = f"{API}/artists/{artist_id}/statement?{urlencode(PERIOD)}"
        return [{"path": path, "headers": _bearer(secret)}]
    return [
        {"path": f"{API}/donations/{donation}/consent", "headers": _bearer(secret), "consent": True}
        for donation, secret in world.donations
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(settings: Settings) -> dict[str, str]:
    """The server's environment: the caller's, less any MUSEUM_* of theirs, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    if settings.master_key is None or settings.database_url is None:
        raise ValueError("the bench's server needs its database URL and master key")
    return env | {
        "MUSEUM_HOME": str(settings.home),
        "MUSEUM_DATABASE_URL": settings.database_url,
        "MUSEUM_MASTER_KEY": settings.master_key.get_secret_value(),
        "MUSEUM_HTTP_RATE_LIMIT": "999999999/minute",
    }


@contextmanager
def served(settings: Settings, workers: int, log: Path) -> Iterator[str]:
    """`museum serve` in a subprocess until the block ends; yields its base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as sink:
        server = subprocess.Popen(  # noqa: S603 (our own command line)
            command, env=_environment(settings), stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_up(server, base, log)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {server.returncode}: {tail}")
        try:
            if httpx.get(f"{base}{API}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("the server did not answer /api/v1/health within 90 s")


def served_targets(base: str, wanted: Sequence[str]) -> dict[str, str | None]:
    """Each wanted target → None if the server serves its route, else why it is skipped."""
    document = httpx.get(f"{base}/api/docs/openapi.json", timeout=10).json()
    paths = document.get("paths", {})
    found: dict[str, str | None] = {}
    for target in wanted:
        method, path = ROUTES[target]
        served_here = method in paths.get(path, {})
        found[target] = None if served_here else f"{method.upper()} {path} is not served"
    return found


def drive(
    base: str, target: str, rate: int, duration: int, requests: list[dict[str, Any]], workdir: Path
) -> dict[str, Any]:
    """One cell: locust headless at `rate` requests/s for `duration` seconds on one target."""
    users = max(1, math.ceil(rate / PER_USER_RPS))
    out = workdir / f"locust-{target}-{rate}.json"
    plan = {"target": target, "per_user_rps": rate / users, "requests": requests}
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{duration}s",
        "--reset-stats",
        "--only-summary",
        "--stop-timeout",
        "5",
        "--loglevel",
        "ERROR",
        "--exit-code-on-error",
        "0",
    ]
    env = dict(os.environ) | {"MUSEUM_BENCH_PLAN": json.dumps(plan), "MUSEUM_BENCH_OUT": str(out)}
    done = subprocess.run(  # noqa: S603 (our own command line)
        command, env=env, capture_output=True, text=True, timeout=duration + 120, check=False
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"locust failed on {target} at {rate}/s: {done.stderr[-2000:]}")
    measured: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    errors = measured.pop("failures")
    return {"target": target, "rate": rate, "users": users, **measured, "error_count": errors}


def _ratios(cells: list[dict[str, Any]]) -> None:
    """Each cell's p99 over the health baseline's p99 at the same rate (None without one)."""
    baseline = {c["rate"]: c["p99_ms"] for c in cells if c["target"] == "health"}
    for cell in cells:
        base, p99 = baseline.get(cell["rate"]), cell["p99_ms"]
        cell["p99_vs_health"] = None if not base or p99 is None else round(p99 / base, 2)


def verdicts(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, met / not met, or None where this run did not measure them."""

    def cell(target: str, rate: int) -> dict[str, Any] | None:
        return next((c for c in cells if c["target"] == target and c["rate"] == rate), None)

    def read_ok(found: dict[str, Any] | None) -> bool | None:
        if found is None:
            return None
        p99 = found["p99_ms"]
        return found["error_count"] == 0 and p99 is not None and p99 <= READ_P99_MS

    consent = [c for c in cells if c["target"] == "consent"]
    consent_met = (
        None
        if not consent
        else any(
            c["error_count"] == 0
            and c["achieved_rps"] >= CONSENT_RPS
            and c["p99_ms"] is not None
            and c["p99_ms"] <= CONSENT_P99_MS
            for c in consent
        )
    )
    return [
        {
            "target": f"attribution read p99 ≤ {READ_P99_MS:g} ms at {READ_RATE}/s",
            "met": read_ok(cell("attribution", READ_RATE)),
        },
        {
            "target": f"statement read p99 ≤ {READ_P99_MS:g} ms at {READ_RATE}/s",
            "met": read_ok(cell("statement", READ_RATE)),
        },
        {
            "target": f"consent writes ≥ {CONSENT_RPS:g}/s with p99 ≤ {CONSENT_P99_MS:g} ms",
            "met": consent_met,
        },
        {
            "target": "no error",
            "met": None if not cells else all(c["error_count"] == 0 for c in cells),
        },
    ]


def run_api_bench(
    *,
    postgres_url: str,
    rates: Sequence[int] = RATES,
    duration: int = 20,
    workers: int = 1,
    targets: Sequence[str] = TARGETS,
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Seed, serve, drive every (rate, target) cell; the figures as one JSON-ready dict."""
    unknown = set(targets) - set(TARGETS)
    if unknown:
        raise ValueError(
            f"unknown targets {sorted(unknown)}; expected some of {', '.join(TARGETS)}"
        )
    if not rates or min(rates) < 1 or duration < 1:
        raise ValueError("rates and the duration must be positive whole numbers")
    say = progress or (lambda _line: None)
    began = time.perf_counter()
    artists, per_artist, reports = (2, 2, 3) if quick else (8, 2, 40)
    with (
        tempfile.TemporaryDirectory(prefix="museum-bench-api-") as scratch,
        scratch_database(postgres_url) as database,
    ):
        workdir = Path(scratch)
        settings = bench_settings(workdir / "var", database.url)
        say(f"seeding {artists} artists, {artists * per_artist} donations on {database.name}")
        ledger = open_ledger(settings)
        try:
            world = seed(ledger, artists, per_artist, reports)
        finally:
            close_ledger(ledger)
        say(f"starting museum serve with {workers} worker(s)")
        with served(settings, workers, workdir / "server.log") as base:
            skipped = served_targets(base, ["health", *[t for t in targets if t != "health"]])
            cells: list[dict[str, Any]] = []
            for rate in rates:
                for target, reason in skipped.items():
                    if reason is None:
                        say(f"{target} at {rate}/s for {duration} s")
                        requests = plan_requests(target, world)
                        cells.append(drive(base, target, rate, duration, requests, workdir))
    _ratios(cells)
    return {
        "bench": "api",
        "backend": "postgres",
        "database": database.name,
        "server_version": database.server_version,
        "workers": workers,
        "duration_s": duration,
        "rates": list(rates),
        "per_user_rps": PER_USER_RPS,
        "seeded": {
            "artists": artists,
            "donations": artists * per_artist,
            "revenue_reports": world.revenue_reports,
        },
        "targets": [
            {"target": t, "skipped": r is not None, "reason": r} for t, r in skipped.items()
        ],
        "cells": cells,
        "verdicts": verdicts(cells),
        "machine": host_facts() | {"load_average": load_average()},
        "seconds_total": round(time.perf_counter() - began, 1),
    }
