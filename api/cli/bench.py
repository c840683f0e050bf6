"""`museum bench …`: parses the options, runs the harness that sits beside what it measures
(`ledger.bench`, `royalties.bench`, `generation.bench`, `generation.erasure_bench`,
`generation.diversity_bench`, `attribution.bench`, `api.http.bench`) and renders its figures
(`api.cli.bench_views*`) or prints them as one JSON object. Harnesses load inside the
commands, so `museum --help` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from api.cli.console import json_line, out, print_json

F = TypeVar("F")

bench_app = typer.Typer(help="Measure the museum against its targets.", no_args_is_help=True)


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated option as its non-empty, stripped parts."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _server(postgres_url: str | None) -> str | None:
    """The PostgreSQL admin URL to bench on; None where the option says to skip it."""
    return None if postgres_url in (None, "", "none") else postgres_url


def _progress(as_json: bool) -> Callable[[str], None] | None:
    """Progress lines dimmed on the console; none when stdout carries the JSON."""
    return None if as_json else (lambda line: out.print(f"[dim]{line}[/dim]"))


def _show(
    figures: F,
    as_json: bool,
    render: Callable[[F], Any],
    emit: Callable[[Any], None] = json_line,
) -> None:
    """The figures as JSON (`emit`) or as the harness's rendering."""
    if as_json:
        emit(figures)
    else:
        out.print(render(figures))


# Registered first: `museum bench --help` has always listed it first.
@bench_app.command("royalties")
def bench_royalties(
    reports: Annotated[
        int, typer.Option(min=1, max=100_000, help="Revenue reports booked per backend.")
    ] = 1000,
    statement_lines: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="Credit lines of the statement's artist.")
    ] = 100_000,
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks the bench runs.")
    ] = False,
    postgres_url: Annotated[
        str | None,
        typer.Option(help="Admin URL of a PostgreSQL server; 'none' skips it."),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Revenue reports split and posted per second; statement time for a busy artist."""
    import tempfile

    from api.cli.bench_views import render_royalties_bench
    from royalties.bench import run_royalties_bench

    if quick:
        reports, statement_lines = min(reports, 20), min(statement_lines, 300)
    url = _server(postgres_url)
    with tempfile.TemporaryDirectory(prefix="museum-bench-") as workdir:
        figures = run_royalties_bench(
            reports=reports,
            statement_lines=statement_lines,
            postgres_url=url,
            workdir=Path(workdir),
        )
    _show(figures, as_json, render_royalties_bench)


@bench_app.command("generation")
def bench_generation(
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks the bench runs.")
    ] = False,
    presets: Annotated[str, typer.Option(help="Comma-separated presets to time.")] = "tiny,demo",
    shards: Annotated[str, typer.Option(help="Comma-separated shard counts to compare.")] = "1,2,4",
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch CPU threads (default: torch's own choice).")
    ] = None,
    shard_steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Total optimiser steps every shard count shares (default: the plan's, shown).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split, data and trainings.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Training steps/s and images/s per preset, and the held-back loss cost of S shards."""
    from api.cli.bench_views import render_generation_bench
    from generation.bench import run_generation_bench

    try:
        shard_counts = tuple(int(part) for part in shards.split(","))
    except ValueError:
        raise typer.BadParameter(
            "--shards takes whole numbers separated by commas, e.g. 1,2,4"
        ) from None
    try:
        figures = run_generation_bench(
            quick=quick,
            presets=_names(presets),
            shard_counts=shard_counts,
            seed=seed,
            threads=threads,
            shard_steps=shard_steps,
            progress=_progress(as_json),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(figures, as_json, render_generation_bench)


@bench_app.command("erasure")
def bench_erasure(
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks the bench runs.")
    ] = False,
    shards: Annotated[str, typer.Option(help="Comma-separated shard counts (1 always).")] = "1,4,8",
    steps: Annotated[
        int | None,
        typer.Option(min=1, help="Total optimiser steps every S shares (default: the plan's)."),
    ] = None,
    donors_per_shard: Annotated[
        int | None, typer.Option(min=1, help="Donors in each shard of the largest S.")
    ] = None,
    stages: Annotated[int | None, typer.Option(min=1, help="Stages each donor gives.")] = None,
    erased: Annotated[
        int | None, typer.Option(min=1, help="Donors of one shard erased in one window.")
    ] = None,
    held_back: Annotated[
        int | None, typer.Option(min=1, help="Scans never donated (quality and the attack).")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the data, trainings and draws.")] = 0,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch CPU threads (default: torch's own choice).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Request → deployed time of an erasure retrain for S shards against a full retrain, the
    held-back loss of each ensemble, and the membership-inference AUC before and after."""
    from api.cli.bench_views_erasure import render_erasure_bench
    from generation.erasure_bench.harness import run_erasure_bench

    try:
        shard_counts = tuple(int(part) for part in _names(shards))
    except ValueError:
        raise typer.BadParameter(
            "--shards takes whole numbers separated by commas, e.g. 1,4,8"
        ) from None
    try:
        figures = run_erasure_bench(
            quick=quick,
            shard_counts=shard_counts,
            total_steps=steps,
            donors_per_shard=donors_per_shard,
            stages_per_donor=stages,
            erased_donors=erased,
            held_back=held_back,
            seed=seed,
            threads=threads,
            progress=_progress(as_json),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(figures, as_json, render_erasure_bench)


@bench_app.command("attribution")
def bench_attribution(
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Smaller sets (still 32 subset models): minutes, not hours."),
    ] = False,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated data sets: digits-2, demo.")
    ] = "digits-2,demo",
    methods: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated methods (default: tracin, trak, d-trak, trak-k100, "
            "d-trak-k100, the default)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Moves every split, subset and seed.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes retraining subset models.")
    ] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch threads for scoring and timing.")
    ] = None,
    no_latency: Annotated[
        bool, typer.Option("--no-latency", help="Skip the 10,000-item query timing.")
    ] = False,
    no_counterfactual: Annotated[
        bool, typer.Option("--no-counterfactual", help="Skip the top-k removal retraining.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """LDS of TracIn, TRAK, D-TRAK and the default method on models retrained on random halves;
    index build and query time, memory, and the counterfactual check. Retrained models are
    cached under MUSEUM_HOME/bench/attribution, so a rerun only scores."""
    from api.cli.bench_views import render_attribution_bench
    from attribution.bench.harness import run

    try:
        figures = run(
            quick,
            datasets=_names(datasets),
            methods=None if methods is None else _names(methods),
            seed=seed,
            workers=workers,
            threads=threads,
            latency=not no_latency,
            counterfactual=not no_counterfactual,
            progress=_progress(as_json),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(figures, as_json, render_attribution_bench, emit=print_json)


def demo_collection(artists: int, donations: int, size: int) -> Callable[[Any], None]:
    """A seeder of the demo's founding collection, as `museum demo` seeds it before training:
    the artists and their donations, a few consent changes, and one donor erased."""

    def seed(museum: Any) -> None:
        from collection import donation_request, founding_collection

        made = []
        drafts = founding_collection(
            n_artists=artists, donations_per_artist=donations, size=size, seed=0
        )
        for draft in drafts:
            artist_id = museum.register_artist(draft.artist)
            for item in draft.donations:
                made.append(museum.donate(donation_request(artist_id, item)).donation_id)
        for donation_id in made[::7]:
            museum.revoke_consent(donation_id, "train")
        for donation_id in made[3::5]:
            museum.grant_consent(donation_id, "commercial")
        museum.erase_artist(museum.artist_ids()[-1], "bench: the donor withdrew")

    return seed


@bench_app.command("ledger")
def bench_ledger(
    events: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Events appended per backend.")
    ] = 2000,
    backup_events: Annotated[
        int,
        typer.Option(
            min=0,
            max=10_000_000,
            help="Events of the ledger backed up and restored (0: no backup figures).",
        ),
    ] = 100_000,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Tiny sizes (200 appends, 2,000 events backed up)."),
    ] = False,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Admin URL of a PostgreSQL server for the second backend; 'none' skips it."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    rotation_artists: Annotated[
        int,
        typer.Option(min=6, max=1_000_000, help="Artist keys in the vault the rotation re-wraps."),
    ] = 10_000,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Ledger appends per second beside raw inserts (ratio), verify throughput, the time of a
    master-key rotation beside a raw rewrite of the vault, the C2SP formats, and backup and
    restore time and size (the demo collection, a ledger of --backup-events events) beside a
    plain copy of the same files."""
    import tempfile

    from api.cli.bench_views import render_ledger_bench
    from ledger.backup_bench import run_backup_bench
    from ledger.bench import run_ledger_bench

    if quick:
        events, backup_events = min(events, 200), min(backup_events, 2000)
    url = _server(postgres_url)
    with tempfile.TemporaryDirectory(prefix="museum-bench-") as workdir:
        figures = run_ledger_bench(
            events=events,
            postgres_url=url,
            workdir=Path(workdir),
            rotation_artists=min(rotation_artists, 200) if quick else rotation_artists,
        )
        if backup_events:
            seed = demo_collection(6, 1, 16) if quick else demo_collection(36, 2, 32)
            figures["backup"] = run_backup_bench(
                events=backup_events, workdir=Path(workdir) / "backup", demo=seed
            )
    _show(figures, as_json, render_ledger_bench)


@bench_app.command("api")
def bench_api(
    database_url: Annotated[
        str,
        typer.Option(help="Admin URL of the PostgreSQL server; a fresh database is made there."),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    rates: Annotated[
        str | None,
        typer.Option(help="Comma-separated arrival rates, requests/s (default 50,200,500)."),
    ] = None,
    duration: Annotated[
        int | None, typer.Option(min=1, max=3600, help="Seconds per (rate, target) cell (20).")
    ] = None,
    targets: Annotated[
        str,
        typer.Option(help="Comma-separated targets; health always runs (the baseline)."),
    ] = "health,attribution,statement,consent",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    quick: Annotated[
        bool, typer.Option("--quick", help="A small museum, 50/s and 3 s: checks the bench runs.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Requests/s and p50 / p99 latency of the served API (PostgreSQL) at fixed arrival rates,
    from locust on loopback: health (the baseline), an attribution, a statement, a consent
    change; each p99 beside health's at the same rate, and the issue's targets met or not."""
    from api.cli.bench_views import render_api_bench
    from api.http.bench import RATES, run_api_bench
    from ledger.benchkit import PostgresUnreachable
    from ledger.errors import ConfigurationError

    try:
        chosen = (
            tuple(int(part) for part in _names(rates))
            if rates is not None
            else (RATES[:1] if quick else RATES)
        )
    except ValueError:
        raise typer.BadParameter("--rates takes whole numbers separated by commas") from None
    try:
        figures = run_api_bench(
            postgres_url=database_url,
            rates=chosen,
            duration=duration if duration is not None else (3 if quick else 20),
            workers=workers,
            targets=_names(targets),
            quick=quick,
            progress=_progress(as_json),
        )
    except PostgresUnreachable as exc:
        raise ConfigurationError(exc.reason) from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(figures, as_json, render_api_bench)


# Last: its module imports the helpers above (`museum bench diversity`, issue 21).
from api.cli.bench_diversity import bench_diversity  # noqa: E402

bench_app.command("diversity")(bench_diversity)
