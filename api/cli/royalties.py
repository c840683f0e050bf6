"""`museum royalties …`: thin wrappers over `RoyaltyService`.

Imports of the ledger happen inside the commands, so `museum --help` stays fast. Refusals are
the ledger's own errors; `api.cli.main` prints them as one line on stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.table import Table

from api.cli.console import json_line, out, say
from api.cli.options import AsJson

if TYPE_CHECKING:
    from ledger.views import View

royalties_app = typer.Typer(
    help="Revenue shared by attribution: report, refund, balances, statements, payouts.",
    no_args_is_help=True,
)


@contextmanager
def _records() -> Iterator[Any]:
    """The royalty service over the configured ledger, closed when the command is done."""
    from ledger.runtime import opened_ledger
    from ledger.settings import get_settings
    from royalties.service import RoyaltyService

    with opened_ledger(get_settings()) as ledger:
        yield RoyaltyService(ledger)


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a UUID, got {value!r}") from None


def _moment(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be an ISO date or time, got {value!r}") from None
    if moment.tzinfo is None:
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)  # dates typed by a person are read as UTC
    return moment


def _amount(amount: str | None, amount_minor: int | None, currency: str) -> int:
    from royalties.currency import parse_major

    if (amount is None) == (amount_minor is None):
        raise typer.BadParameter("give exactly one of --amount (e.g. 19.99) or --amount-minor")
    return parse_major(amount, currency) if amount is not None else int(amount_minor or 0)


def _emit(payload: View, as_json: bool, line: str) -> None:
    if as_json:
        json_line(payload)
    else:
        say(line)


@royalties_app.command("report")
def report(
    generation: Annotated[str, typer.Argument(help="Generation id (UUID).")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code, e.g. EUR, JPY, KWD.")],
    reference: Annotated[str, typer.Option(help="The integrator's reference (invoice, order).")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key of this report.")],
    amount: Annotated[
        str | None, typer.Option(help="Amount in major units, e.g. 19.99 (exact).")
    ] = None,
    amount_minor: Annotated[
        int | None, typer.Option("--amount-minor", help="Amount in minor units, e.g. 1999.")
    ] = None,
    attribution: Annotated[
        str | None, typer.Option(help="Attribution to split by (default: the latest).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Report commercial use of a generation; the amount is split and booked at once."""
    from royalties.currency import format_minor

    with _records() as records:
        booked = records.report_revenue(
            generation_id=_uuid(generation, "GENERATION"),
            amount_minor=_amount(amount, amount_minor, currency),
            currency=currency,
            reference=reference,
            idempotency_key=key,
            attribution_id=None if attribution is None else _uuid(attribution, "--attribution"),
        )
        view = records.report_view(booked)
    _emit(
        view,
        as_json,
        f"booked {format_minor(booked.amount_minor, booked.currency)} as report "
        f"{booked.id} ({len(booked.postings)} postings)",
    )


@royalties_app.command("refund")
def refund(
    key: Annotated[str, typer.Argument(help="Idempotency key of the report to reverse.")],
    refund_key: Annotated[str, typer.Option("--refund-key", help="Idempotency key of the refund.")],
    amount: Annotated[str | None, typer.Option(help="Amount in major units.")] = None,
    amount_minor: Annotated[
        int | None, typer.Option("--amount-minor", help="Amount in minor units.")
    ] = None,
    chargeback: Annotated[
        bool, typer.Option("--chargeback", help="A chargeback rather than a refund.")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "",
    as_json: AsJson = False,
) -> None:
    """Reverse part or all of a report, in proportion to its postings."""
    with _records() as records:
        found = records.get_report(key)
        reversed_report = records.refund(
            key,
            refund_key=refund_key,
            amount_minor=_amount(amount, amount_minor, found.currency),
            kind="chargeback" if chargeback else "refund",
            reason=reason,
        )
        view = records.report_view(reversed_report)
    _emit(view, as_json, f"reversed; {view.refunded_minor} minor units refunded in all")


@royalties_app.command("balances")
def balances(as_json: AsJson = False) -> None:
    """Every account's balance per currency, derived from the postings."""
    from royalties.currency import format_minor

    with _records() as records:
        rows = records.balances()
    if as_json:
        json_line({"balances": rows})
        return
    table = Table(title="Royalty balances")
    for column in ("account", "who", "balance", "postings"):
        table.add_column(column, justify="right" if column in ("balance", "postings") else "left")
    for row in rows:
        who = (row.pseudonym or "") + (" (held)" if row.held else "")
        table.add_row(
            row.account,
            who,
            format_minor(row.balance, row.currency),
            str(row.postings),
        )
    out.print(table)


@royalties_app.command("statement")
def statement(
    artist: Annotated[str, typer.Argument(help="Artist id (UUID).")],
    start: Annotated[str, typer.Option("--from", help="Period start (ISO; UTC if no zone).")],
    end: Annotated[str, typer.Option("--to", help="Period end, exclusive.")],
    html: Annotated[
        Path | None, typer.Option(help="Also write the readable HTML statement here.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """An artist's statement for a period: credits, revenue, reversals, payouts, balances."""
    from api.cli.files import writable_target, write_atomically
    from royalties.currency import format_minor
    from royalties.statement import render_html, stability_text

    if html is not None:
        writable_target(html, "--html")
    with _records() as records:
        data = records.statement(
            _uuid(artist, "ARTIST"), _moment(start, "--from"), _moment(end, "--to")
        )
    if html is not None:  # only where the caller asked, and whole or not at all
        write_atomically(html, render_html(data).encode("utf-8"), "--html")
    if as_json:
        json_line(data)
        return
    out.print(f"statement of {data.artist.pseudonym}", highlight=False)
    for part in data.currencies:
        out.print(
            f"{part.currency}: opening {format_minor(part.opening_balance, part.currency)}"
            f", earned {format_minor(part.earned, part.currency)} on "
            f"{len(part.revenue_lines)} lines, closing "
            f"{format_minor(part.closing_balance, part.currency)}",
            highlight=False,
        )
        for credit in part.credits:
            out.print(
                f"  generation {credit.generation_id}: earned "
                f"{format_minor(credit.earned, part.currency)} on {credit.reports} reports; "
                f"credit stability {stability_text(credit.credit_stability)}",
                highlight=False,
            )
    if html is not None:
        out.print(f"wrote {html}", highlight=False)


@royalties_app.command("payout")
def payout(
    run_key: Annotated[str, typer.Option("--run-key", help="Idempotency key of this run.")],
    as_json: AsJson = False,
) -> None:
    """Pay every artist balance at or above its currency's threshold."""
    with _records() as records:
        result = records.run_payouts(run_key)
    _emit(
        result,
        as_json,
        f"payout run {run_key}: {len(result.payouts)} payouts, "
        f"{len(result.held)} balances held for erased donors"
        + (" (already recorded)" if result.repeated else ""),
    )


@royalties_app.command("payout-failed")
def payout_failed(
    payout_id: Annotated[str, typer.Argument(help="Payout id (UUID).")],
    reason: Annotated[str, typer.Option(help="What the payment rail said.")],
) -> None:
    """Reverse a payout that could not be delivered; the balance is restored."""
    with _records() as records:
        failed = records.fail_payout(_uuid(payout_id, "PAYOUT_ID"), reason)
    out.print(f"payout {failed.id} reversed: {failed.failure}", highlight=False)


@royalties_app.command("release-held")
def release_held(
    artist: Annotated[str, typer.Argument(help="Id of an erased artist.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")],
    key: Annotated[str, typer.Option("--key", help="Idempotency key of this release.")],
) -> None:
    """Move an erased artist's held balance to the community pool (a recorded decision)."""
    with _records() as records:
        result = records.release_held(_uuid(artist, "ARTIST"), currency, key)
    out.print(f"released {result.amount_minor} minor units to the community pool")


@royalties_app.command("rebuild")
def rebuild() -> None:
    """Rebuild the postings read model from the events."""
    with _records() as records:
        rows = records.projection.rebuild()
    out.print(f"postings read model rebuilt: {rows} rows")
