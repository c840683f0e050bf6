"""The `museum` command. Thin: parses, calls a service, prints; errors are one line on stderr.

A module per command group: `ledger` (and `migrate`), `model` (train, generate, attribute,
worker), `retraining` (retrain, erasures), `royalties`, `bench`, `demo`; `jobs` runs a job with
its progress shown, `console` is where they all write, `boundary` turns every failure into its
one line and exit code, `files` writes what a caller asked for.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli import boundary
from api.cli.bench import bench_app
from api.cli.credentials import credentials_app
from api.cli.demo import demo
from api.cli.ledger import ledger_app, migrate
from api.cli.ledger_c2sp import COMMANDS as LEDGER_C2SP_COMMANDS
from api.cli.model import attribute, generate, train, worker
from api.cli.process import continue_
from api.cli.retraining import erasures, retrain
from api.cli.royalties import royalties_app
from api.cli.service import keys_app, serve
from api.cli.similar import similar_failures
from api.cli.upkeep import backup, doctor, restore
from api.cli.witness import witness_app

app = typer.Typer(
    name="museum",
    help="Back office of the Museum of Failures: provenance ledger, model, attribution, royalties.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
for _name, _command in LEDGER_C2SP_COMMANDS.items():
    ledger_app.command(_name)(_command)
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(royalties_app, name="royalties")
app.add_typer(keys_app, name="keys")
app.add_typer(witness_app, name="witness")
app.add_typer(credentials_app, name="credentials")
# Registered in the order `museum --help` has always listed them.
app.command()(demo)
app.command()(train)
app.command()(retrain)
app.command()(erasures)
app.command()(generate)
app.command("continue")(continue_)
app.command()(attribute)
app.command("similar-failures")(similar_failures)
app.command()(worker)
app.command()(migrate)
app.command()(serve)
app.command()(backup)
app.command()(restore)
app.command()(doctor)


@app.callback()
def start(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="On an unexpected error, print the traceback (or MUSEUM_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Check the whole configuration once, before any command runs, so a wrong variable is
    named up front even by commands that would read it late."""
    from ledger.settings import get_settings
    from royalties.settings import get_royalty_settings

    del debug  # read by `main` before parsing, so even a failing start-up can be debugged
    get_settings.cache_clear()
    get_royalty_settings.cache_clear()
    get_settings()
    get_royalty_settings()


def main(argv: list[str] | None = None) -> None:
    """Entry point, and the command line's one error boundary (`api/cli/boundary.py`): every
    failure ends as one `error: …` line on stderr and the documented exit code, raised as
    SystemExit so tests can call `main(argv)` in-process."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = boundary.debug_requested(args)
    try:
        boundary.check_arguments(args)
        code = app(args=args, standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as exc:  # this is the boundary
        boundary.end(exc, args, debug=debug)
    if isinstance(code, int) and code:
        raise SystemExit(code)
