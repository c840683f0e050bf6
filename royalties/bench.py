"""`museum bench royalties`: revenue reports split and posted per second, and statement time.

For each backend (a SQLite file in `workdir`; PostgreSQL in a fresh database made and dropped
here) the bench

1. seeds a small collection with commercial consent, a model version, a generation and its
   attribution through the real services (untimed),
2. times `reports` full `RoyaltyService.report_revenue` calls (validation, attribution and
   consent look-ups, the split, the save with its sealed leaf, the projection catch-up),
3. records `statement_lines` more revenue reports crediting one artist, saved in batches straight
   from the aggregate (untimed: the per-report look-ups are what step 2 measures), times the
   projection catching up on them, then times that artist's statement over the whole period:
   the JSON document and the HTML rendering separately.

Nothing here asserts a timing: the figures are reported as throughputs and seconds.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from PIL import Image

from collection import donation_request, founding_collection
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.benchkit import (
    NO_POSTGRES_URL,
    bench_settings,
    host_facts,
    measured_backends,
    on_scratch_postgres,
    skipped_backend,
)
from ledger.model_records import ModelRecords
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings
from royalties.domain import RevenueReport
from royalties.service import RoyaltyService
from royalties.settings import RoyaltySettings
from royalties.split import Contributor
from royalties.statement import render_html

ARTISTS = 4
SEED_BATCH = 500
FAR_PAST = "2000-01-01T00:00:00+00:00"
FAR_FUTURE = "2100-01-01T00:00:00+00:00"


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def _world(ledger: MuseumLedger) -> tuple[list[UUID], UUID]:
    artists = []
    for draft in founding_collection(n_artists=ARTISTS, donations_per_artist=1, size=16, seed=11):
        artist_id = ledger.register_artist(draft.artist)
        artists.append(artist_id)
        for item in draft.donations:
            request = donation_request(artist_id, item)
            consents = tuple(sorted({*request.consents, "train", "commercial"}))
            ledger.donate(replace(request, consents=consents))
    records = ModelRecords(ledger)
    run = records.start_run(job_id="bench-run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 1, "b" * 64, b"bench")
    run = records.complete_run(run.id, 0.1)
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 99).save(buffer, "PNG")
    generation = records.record_generation(
        job_id="bench-gen",
        run=run,
        seed=1,
        steps=5,
        role="final",
        emotion="joy",
        png=buffer.getvalue(),
    )
    ids = run.item_ids()
    scores = {item_id: float(len(ids) - i) for i, item_id in enumerate(ids)}
    AttributionRecords(ledger).record(generation.id, "trak", {}, "ab" * 32, scores, k=len(ids))
    return artists, generation.id


def _bench_backend(backend: str, settings: Settings, reports: int, lines: int) -> dict[str, Any]:
    began = time.perf_counter()
    ledger = open_ledger(settings)
    try:
        artists, generation_id = _world(ledger)
        royalties = RoyaltyService(ledger, RoyaltySettings())
        royalties.report_revenue(
            generation_id=generation_id,
            amount_minor=1000,
            currency="EUR",
            reference="warm-up",
            idempotency_key="warm-up",
        )
        started = time.perf_counter()
        for n in range(reports):
            royalties.report_revenue(
                generation_id=generation_id,
                amount_minor=1999 + n,
                currency="EUR",
                reference=f"bench {n}",
                idempotency_key=f"bench-{n}",
            )
        report_seconds = time.perf_counter() - started
        rows_per_report = sum(r["postings"] for r in royalties.projection.balances()) // (
            reports + 1
        )

        artist = artists[0]
        terms = royalties.settings.terms()
        started = time.perf_counter()
        for first in range(0, lines, SEED_BATCH):
            batch = [
                RevenueReport.book(
                    idempotency_key=f"seed-{n}",
                    body_sha256="0" * 64,
                    generation_id=generation_id,
                    attribution_id=None,
                    currency="EUR",
                    amount_minor=500 + n % 1000,
                    reference="seed",
                    terms=terms,
                    contributors=[Contributor(str(artist), 1_000_000)],
                )
                for n in range(first, min(first + SEED_BATCH, lines))
            ]
            ledger.save(*batch)
        seed_seconds = time.perf_counter() - started
        started = time.perf_counter()
        projected_rows = royalties.projection.catch_up()
        projection_seconds = time.perf_counter() - started

        started = time.perf_counter()
        statement = royalties.statement(
            artist, datetime.fromisoformat(FAR_PAST), datetime.fromisoformat(FAR_FUTURE)
        )
        statement_seconds = time.perf_counter() - started
        started = time.perf_counter()
        html = render_html(statement)
        html_seconds = time.perf_counter() - started
        credit_lines = sum(len(part.revenue_lines) for part in statement.currencies)
        totals = royalties.projection.totals()
    finally:
        close_ledger(ledger)
    return {
        "backend": backend,
        "skipped": False,
        "reports": reports,
        "report_seconds": report_seconds,
        "reports_per_s": _rate(reports, report_seconds),
        "postings_per_report": rows_per_report,
        "postings_per_s": _rate(reports * rows_per_report, report_seconds),
        "seeded_reports": lines,
        "seed_events_per_s": _rate(lines, seed_seconds),
        "projection_rows": projected_rows,
        "projection_seconds": projection_seconds,
        "projection_events_per_s": _rate(lines, projection_seconds),
        "statement_credit_lines": credit_lines,
        "statement_seconds": statement_seconds,
        "statement_lines_per_s": _rate(credit_lines, statement_seconds),
        "html_seconds": html_seconds,
        "html_bytes": len(html.encode()),
        "books_balance": all(value == 0 for value in totals.values()),
        "seconds_total": time.perf_counter() - began,
    }


def _bench_postgres(reports: int, lines: int, workdir: Path, url: str) -> dict[str, Any]:
    figures, _ = on_scratch_postgres(
        url,
        workdir / "postgres",
        lambda settings, _database: _bench_backend("postgres", settings, reports, lines),
    )
    return figures


def run_royalties_bench(
    *, reports: int, statement_lines: int, postgres_url: str | None, workdir: Path
) -> dict[str, Any]:
    """Measure both backends (PostgreSQL only with a URL); return JSON-ready figures."""
    if reports < 1 or statement_lines < 1:
        raise ValueError("the bench needs at least one report and one statement line")
    began = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "bench": "royalties",
        "reports": reports,
        "statement_lines": statement_lines,
    }
    sqlite_settings = bench_settings(workdir / "sqlite")
    figures["sqlite"] = _bench_backend("sqlite", sqlite_settings, reports, statement_lines)
    if postgres_url is None:
        figures["postgres"] = skipped_backend("postgres", NO_POSTGRES_URL)
    else:
        figures["postgres"] = _bench_postgres(reports, statement_lines, workdir, postgres_url)
    figures["backends"] = measured_backends(figures)
    figures["machine"] = host_facts("cpu_count", "python", "platform")
    figures["seconds_total"] = time.perf_counter() - began
    return figures
