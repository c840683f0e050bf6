"""`museum witness …`: run a witness of the log (c2sp.org/tlog-witness) with its own key and
state, apart from the museum. Imports happen inside the commands, so `--help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.console import out, say

witness_app = typer.Typer(
    help="Run a witness (c2sp.org/tlog-witness) that cosigns consistent checkpoints.",
    no_args_is_help=True,
)
Directory = Annotated[Path, typer.Argument(help="The witness's directory (key, state).")]


@witness_app.command("init")
def witness_init(
    directory: Directory,
    name: Annotated[str, typer.Option("--name", help="Its key name, e.g. witness.example/w1.")],
    log_key: Annotated[
        list[str],
        typer.Option("--log-key", help="A log's verifier key (`museum ledger log-key`)."),
    ],
) -> None:
    """Make a witness: a fresh Ed25519 key (kept in DIR, mode 0600) and the logs it trusts;
    prints its verifier key, the one a museum and verifiers are given."""
    from ledger.witness_state import WitnessHome

    home = WitnessHome.create(directory, name, log_key)
    say(f"witness {home.cosigner.name} made in {directory}; its verifier key:")
    out.print(home.cosigner.verifier_key(), highlight=False, soft_wrap=True)


@witness_app.command("key")
def witness_key(directory: Directory) -> None:
    """Print the witness's verifier key (`name+id+base64(0x04 || key)`)."""
    from ledger.witness_state import WitnessHome

    out.print(WitnessHome.open(directory).cosigner.verifier_key(), highlight=False)


@witness_app.command("serve")
def witness_serve(
    directory: Directory,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8100,
) -> None:
    """Serve `POST /add-checkpoint` until Ctrl-C (one process: its state is one SQLite file)."""
    import uvicorn

    from api.http.witness.app import create_witness_app
    from ledger.witness_state import WitnessHome

    home = WitnessHome.open(directory)
    say(f"witness {home.cosigner.name} on http://{host}:{port}/add-checkpoint")
    uvicorn.run(create_witness_app(home), host=host, port=port, log_level="info")
