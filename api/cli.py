"""The `museum` command. Thin: parses, calls a service, prints; errors are one line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.exceptions import TyperException

from ledger.errors import IntegrityViolation, LedgerError

app = typer.Typer(
    name="museum",
    help="Back office of the Museum of Failures: provenance ledger, model, attribution, royalties.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
ledger_app = typer.Typer(help="Inspect and prove the verifiable event log.", no_args_is_help=True)
bench_app = typer.Typer(help="Measure the museum against its targets.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")

out = Console()


def _open() -> Any:
    from ledger.runtime import open_ledger
    from ledger.settings import get_settings

    return open_ledger(get_settings())


def _print_json(payload: Any) -> None:
    out.print_json(json.dumps(payload, default=str))


@app.command()
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare everything, then exit.")
    ] = False,
    artists: Annotated[
        int, typer.Option(min=1, max=500, help="Artists in the founding collection.")
    ] = 36,
    seed: Annotated[int, typer.Option(help="Seed of the generated collection.")] = 0,
) -> None:
    """Seed a demo founding collection, then verify the ledger and print its signed head."""
    from api.demo import run_demo

    run_demo(out, artists=artists, seed=seed)
    if not no_serve:
        out.print("The exhibition site is not part of this build yet; nothing to serve. Done.")


@ledger_app.command("verify")
def ledger_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recompute every leaf and signed head from the store; non-zero exit names the first bad position."""
    museum = _open()
    report = museum.integrity.verify()
    figures = {
        "ok": True,
        "events": report.events,
        "signed_heads_checked": report.heads,
        "seconds": round(report.seconds, 4),
        "events_per_second": round(report.events_per_second),
        "latest_head": report.latest_head.as_dict() if report.latest_head else None,
    }
    if as_json:
        print(json.dumps(figures))
        return
    out.print(
        f"ledger verified: {report.events} events, {report.heads} signed heads checked, "
        f"{report.events_per_second:,.0f} events/s"
    )


@ledger_app.command("head")
def ledger_head(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sign a tree head over everything recorded so far (if anything is new) and print it."""
    museum = _open()
    head = museum.integrity.sign_head().as_dict() | {"public_key": museum.integrity.public_key_hex}
    if as_json:
        print(json.dumps(head))
    else:
        _print_json(head)


@ledger_app.command("proof")
def ledger_proof(
    event: Annotated[str, typer.Argument(help="Notification id, or ORIGINATOR_ID:VERSION.")],
) -> None:
    """Print a receipt: the event as stored, its inclusion path and a signed head."""
    from uuid import UUID

    museum = _open()
    if ":" in event:
        originator, _, version = event.partition(":")
        try:
            receipt = museum.integrity.receipt_for(UUID(originator), int(version))
        except ValueError:
            raise typer.BadParameter("expected ORIGINATOR_ID:VERSION, e.g. 3f0c…:1") from None
    else:
        try:
            receipt = museum.integrity.receipt(int(event))
        except ValueError:
            raise typer.BadParameter("expected a notification id (a whole number)") from None
    print(json.dumps(receipt, indent=2))


@ledger_app.command("consistency")
def ledger_consistency(
    old_size: Annotated[int, typer.Argument(min=0, help="Size of the older signed head.")],
    new_size: Annotated[
        int | None, typer.Argument(min=0, help="Size of the newer head (default: now).")
    ] = None,
) -> None:
    """Print a consistency proof that the log of OLD_SIZE is a prefix of the log of NEW_SIZE."""
    print(json.dumps(_open().integrity.consistency(old_size, new_size), indent=2))


@ledger_app.command("check-receipt")
def ledger_check_receipt(
    receipt_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Receipt JSON.")
    ],
    public_key: Annotated[
        str, typer.Option(help="The museum's public key (hex), obtained out of band.")
    ],
) -> None:
    """Verify a receipt offline: no database is opened."""
    from ledger.receipt import verify_receipt

    try:
        receipt = json.loads(receipt_file.read_text())
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{receipt_file} is not JSON: {exc}") from None
    verify_receipt(receipt, public_key)
    out.print(
        f"receipt verified: event {receipt['event']['notification_id']} is in the log of "
        f"size {receipt['head']['tree_size']}"
    )


@ledger_app.command("new-master-key")
def ledger_new_master_key() -> None:
    """Print a fresh master key (base64) for MUSEUM_MASTER_KEY; keep it secret and backed up."""
    from ledger.crypto import MasterKey

    print(MasterKey.generate_text())


@bench_app.command("ledger")
def bench_ledger(
    events: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Events appended per backend.")
    ] = 2000,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Admin URL of a PostgreSQL server for the second backend; 'none' skips it."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Ledger appends per second beside raw inserts (ratio), and verify throughput."""
    import tempfile

    from api.bench_ledger import render_ledger_bench, run_ledger_bench

    url = None if postgres_url in (None, "", "none") else postgres_url
    with tempfile.TemporaryDirectory(prefix="museum-bench-") as workdir:
        figures = run_ledger_bench(events=events, postgres_url=url, workdir=Path(workdir))
    if as_json:
        print(json.dumps(figures))
    else:
        out.print(render_ledger_bench(figures))


def _fail(message: str, code: int) -> None:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and a non-zero exit for every refusal."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        _fail("aborted", 130)
    except TyperException as exc:  # usage errors and bad parameters
        format_message = getattr(exc, "format_message", None)
        _fail(format_message() if callable(format_message) else str(exc), 2)
    except IntegrityViolation as exc:
        _fail(f"ledger verification failed: {exc}", 1)
    except LedgerError as exc:
        _fail(str(exc), 1)
    if isinstance(code, int) and code:
        raise SystemExit(code)
