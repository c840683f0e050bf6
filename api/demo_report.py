"""What `museum demo` prints once the museum is prepared: the collection, the exhibition, who
shaped each exhibit, the royalties booked, and the ledger's proof of itself."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from ledger.application import MuseumLedger
from ledger.receipt import verify_receipt
from ledger.settings import get_settings
from royalties.currency import format_minor

if TYPE_CHECKING:
    from api.demo import Prepared


def report(museum: MuseumLedger, console: Console, prepared: Prepared) -> None:
    """The tables of what the demo made, and the ledger's proof of itself."""
    counts, exhibition, revenue = prepared.counts, prepared.exhibition, prepared.revenue
    head = museum.integrity.sign_head()
    verified = museum.integrity.verify()
    first_donation = museum.get_artist(museum.artist_ids()[0]).donation_ids[0]
    receipt = museum.integrity.receipt_for(first_donation, 1)
    verify_receipt(receipt, museum.integrity.public_key_hex)

    table = Table(title="Museum of Failures — founding collection")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in counts.items():
        table.add_row(name.replace("_", " "), str(value))
    table.add_row("events in the ledger", str(verified.events))
    console.print(table)
    shown = Table(title="The opening exhibition (generated, recorded in the ledger)")
    for column in ("stage role", "emotion", "generation", "image"):
        shown.add_column(column)
    for row in exhibition:
        shown.add_row(*row)
    console.print(shown)
    console.print(f"images of the exhibition: {get_settings().home / 'exhibition'}")
    credited = Table(
        title=f"Who shaped each exhibit (attribution: {prepared.method}, top 3 donors)"
    )
    credited.add_column("exhibit")
    credited.add_column("credited to")
    for (role, emotion, _, _), names in zip(exhibition, prepared.credits, strict=True):
        credited.add_row(f"{role} / {emotion}", names)
    console.print(credited)
    earned = Table(
        title=f"Royalties: {revenue.reports} print licences, {revenue.gross} gross "
        f"({len(revenue.payouts)} paid out over the threshold; largest balances left)"
    )
    for column in ("artist", "balance", "postings"):
        earned.add_column(column, justify="left" if column == "artist" else "right")
    for balance in revenue.balances[:5]:
        earned.add_row(
            (balance.pseudonym or balance.account) + (" (held)" if balance.held else ""),
            format_minor(balance.balance, balance.currency),
            str(balance.postings),
        )
    console.print(earned)
    if revenue.statement is not None:
        console.print(
            f"sample statement of the largest balance: {revenue.statement} — a sample "
            "export, not part of the museum: it is not sealed, and erasing the artist does "
            "not remove it",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"ledger verified: {verified.events} events, {verified.heads} signed heads checked "
        f"({verified.events_per_second:,.0f} events/s)"
    )
    console.print("signed tree head:")
    console.print_json(json.dumps(head.as_dict() | {"public_key": museum.integrity.public_key_hex}))
    console.print(
        f"receipt of the first donation (event {receipt.event.notification_id}) "
        "verified offline against that key"
    )
