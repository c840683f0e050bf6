"""`museum demo`: the options; the demo's work is `api.demo.run_demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.console import out
from api.cli.options import INT64


def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare everything, then exit.")
    ] = False,
    artists: Annotated[
        int, typer.Option(min=1, max=500, help="Artists in the founding collection.")
    ] = 36,
    seed: Annotated[
        int, typer.Option(min=0, max=INT64, help="Seed of the collection and the model.")
    ] = 0,
    preset: Annotated[
        str, typer.Option(help="Model preset to train: tiny, demo or full.")
    ] = "demo",
    steps: Annotated[
        int | None,
        typer.Option(min=1, help="Training steps (default: the preset's; 500 for `demo`)."),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to serve the site on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Seed the founding collection, train the first model, open the exhibition, credit it,
    book sample revenue, prove the ledger, then serve the site with sign-in links (Ctrl-C
    stops it). A rerun on the same MUSEUM_HOME reuses all of it and serves at once."""
    from api.demo import run_demo

    run_demo(
        out,
        artists=artists,
        seed=seed,
        preset=preset,
        steps=steps,
        serve=not no_serve,
        host=host,
        port=port,
    )
