"""`museum bench diversity`: the process model against a finals-only model (issue 21); its
harness is `generation.diversity_bench`, its tables `api.cli.bench_views_diversity`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.bench import _names, _progress, _show


def bench_diversity(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: minutes, checks the bench runs.")
    ] = False,
    seeds: Annotated[
        int | None, typer.Option(help="Training seeds per arm, 2..32 (default: the plan's).")
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(help="Images per condition, arm and seed, 4..512 (default: the plan's)."),
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="Optimiser steps of every arm (default: the plan's).")
    ] = None,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated data sets: demo, digits.")
    ] = "demo,digits",
    arms: Annotated[
        str,
        typer.Option(
            help="Comma-separated arms: process, finals (always), process-weighted, continuation."
        ),
    ] = "process,finals",
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the splits; training seeds follow.")
    ] = 0,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the contact sheets (contact-<data set>.png)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch CPU threads (default: torch's own choice).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Is the process model (every stage) more diverse than a finals-only model at equal
    quality? Vendi in pixels and in an embedding trained here, precision / recall against
    held-back real finals, held-back loss, paired differences over seeds and conditions."""
    from api.cli.bench_views_diversity import render_diversity_bench
    from generation.diversity_bench.arms import ARMS
    from generation.diversity_bench.harness import run_diversity_bench

    unknown = [name for name in _names(arms) if name not in ARMS]
    if unknown or "finals" not in _names(arms):
        raise typer.BadParameter(f"--arms takes finals and any of: {', '.join(ARMS)}")
    if out is not None and out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--out {out} exists and is not a folder")
    try:
        figures = run_diversity_bench(
            plan="quick" if quick else "full",
            datasets=_names(datasets),
            arms=[ARMS[name] for name in dict.fromkeys(_names(arms))],
            seeds=seeds,
            samples=samples,
            steps=steps,
            seed=seed,
            out=out,
            threads=threads,
            progress=_progress(as_json),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    _show(figures, as_json, render_diversity_bench)
