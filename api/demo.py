"""`museum demo`: seed the founding collection, train, exhibit, credit the exhibits to their
donors, book sample revenue and payouts, and show that the ledger proves itself."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.attribute import AttributeRequest, attribute
from collection import donation_request, founding_collection
from generation.presets import run_config
from generation.service import RunProgress, generate, train_run
from ledger.application import MuseumLedger
from ledger.model_records import ModelRecords
from ledger.receipt import verify_receipt
from ledger.runtime import opened_ledger
from ledger.settings import get_settings
from royalties.currency import format_minor
from royalties.service import RoyaltyService
from royalties.split import ARTIST_PREFIX, artist_of
from royalties.statement import render_html
from royalties.views import BalanceRead, PaidRead


def seed_collection(
    museum: MuseumLedger, console: Console, *, artists: int, seed: int
) -> dict[str, int]:
    """Register the artists, donate their process series, then exercise consent and erasure."""
    drafts = founding_collection(n_artists=artists, seed=seed)
    counts: Counter[str] = Counter()
    donations = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding the founding collection", total=len(drafts))
        for draft in drafts:
            artist_id = museum.register_artist(draft.artist)
            counts["artists"] += 1
            for item in draft.donations:
                result = museum.donate(donation_request(artist_id, item))
                donations.append(result.donation_id)
                counts["donations"] += 1
                counts["stages"] += len(item.stages)
            progress.advance(task)
    # A few donors change their minds, as they do: the ledger keeps every change.
    for donation_id in donations[::7]:
        counts["consents_revoked"] += museum.revoke_consent(donation_id, "train")
    for donation_id in donations[3::5]:
        counts["consents_granted"] += museum.grant_consent(donation_id, "commercial")
    museum.give_feedback(
        "donation",
        donations[0],
        1,
        "Moved the horizon up a third.",
        "Try the lamps before the boats.",
        "curator: M. Okafor",
    )
    # The last founding artist asks to be forgotten (before any model could learn from them).
    ModelRecords(museum).erase_artist(museum.artist_ids()[-1], "demo: the donor withdrew")
    counts["erasures"] = 1
    return dict(counts)


EXHIBITION = (
    ("sketch", "curiosity"),
    ("failure", "frustration"),
    ("failure", "doubt"),
    ("revision", "calm"),
    ("final", "joy"),
    ("final", "pride"),
)


def train_and_exhibit(
    museum: MuseumLedger, console: Console, *, preset: str, steps: int | None, seed: int
) -> list[tuple[str, str, str, str]]:
    """Train the first model version if none is deployed, then make the opening exhibition."""
    records = ModelRecords(museum)
    if records.registry().deployed is None:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"training the museum's model ({preset})", total=None)

            def report(update: RunProgress) -> None:
                total = update.total_steps * update.shards
                progress.update(
                    task,
                    total=total,
                    completed=update.shard * update.total_steps + update.step,
                    description=f"training shard {update.shard + 1}/{update.shards}, "
                    f"loss {update.loss:.3f}",
                )

            run = train_run(
                museum,
                job_id=f"demo-training-{seed}",
                preset_name=preset,
                seed=seed,
                steps=steps,
                on_progress=report,
            )
        console.print(
            f"model version {run.id} trained on {len(run.items)} consented stages, "
            f"final loss {run.final_loss:.4f}"
        )
    shown = []
    folder = get_settings().home / "exhibition"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (role, emotion) in enumerate(EXHIBITION):
        generation = generate(
            museum,
            job_id=f"demo-exhibition-{seed}-{index}",
            role=role,
            emotion=emotion,
            seed=seed * 1000 + index,
            steps=50,
        )
        image = folder / f"{index:02d}-{role}-{emotion}.png"
        image.write_bytes(museum.blobs.get(generation.blob_id))
        shown.append((role, emotion, str(generation.id), image.name))
    return shown


# The demo credits its exhibits with the museum's default method, on each shard's final
# checkpoint and 4 timesteps, so that indexing the collection takes about a minute on a CPU.
DEMO_TIMESTEPS = 4
DEMO_CHECKPOINTS = 1


def attribute_exhibition(
    museum: MuseumLedger, console: Console, exhibition: list[tuple[str, str, str, str]]
) -> tuple[str, list[str]]:
    """Credit every exhibit to the donated stages that shaped it: the method, and per exhibit its
    top three donors with their shares."""
    credited = []
    method = ""
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("attributing the exhibition", total=len(exhibition))
        for _, _, generation_id, _ in exhibition:
            request = AttributeRequest(
                UUID(generation_id),
                top=10,
                timesteps=DEMO_TIMESTEPS,
                checkpoints=DEMO_CHECKPOINTS,
            )
            result = attribute(museum, get_settings().home, request)
            method = result.method
            credited.append(
                ", ".join(
                    f"{line.pseudonym} {line.ppm / 10_000:.1f} %" for line in result.credits[:3]
                )
            )
            progress.advance(task)
    return method, credited


# A print licence for each exhibit, booked as integrators would report it.
DEMO_LICENCE_MINOR = 4900
DEMO_CURRENCY = "EUR"


@dataclass(frozen=True)
class SampleRevenue:
    """What the demo booked: licences, gross, payouts, artists' balances, the sample statement."""

    reports: int
    gross: str
    payouts: list[PaidRead]
    balances: list[BalanceRead]
    statement: Path | None


def demo_output_folder() -> Path:
    """Where the demo puts its sample exports: next to the data directory, never inside it.

    A statement holds the artist's pseudonym in plaintext. Inside MUSEUM_HOME it would look
    like museum data yet survive the artist's erasure (crypto-shredding reaches only what is
    sealed), so it is written apart and announced as a sample, not part of the museum."""
    return get_settings().home.resolve().parent / "demo-output"


def book_sample_revenue(
    museum: MuseumLedger, exhibition: list[tuple[str, str, str, str]], *, seed: int
) -> SampleRevenue:
    """Report a licence per exhibit, pay out balances over the threshold, write one statement."""
    royalties = RoyaltyService(museum)
    for index, (role, emotion, generation_id, _) in enumerate(exhibition):
        royalties.report_revenue(
            generation_id=UUID(generation_id),
            amount_minor=DEMO_LICENCE_MINOR,
            currency=DEMO_CURRENCY,
            reference=f"demo print licence {index + 1}: {role}, {emotion}",
            idempotency_key=f"demo-licence-{seed}-{index}",
        )
    payouts = royalties.run_payouts(f"demo-payouts-{seed}")
    artists = [row for row in royalties.balances() if row.account.startswith(ARTIST_PREFIX)]
    earned = sorted(artists, key=lambda row: (-row.balance, row.account))
    # A statement for the artist with the largest balance left, as they would download it.
    statement_file = None
    top = next((row for row in earned if not row.held), None)
    if top is not None:
        artist_id = artist_of(top.account)
        now = datetime.now(UTC)
        statement = royalties.statement(
            artist_id, now - timedelta(days=365), now + timedelta(minutes=1)
        )
        folder = demo_output_folder()
        folder.mkdir(parents=True, exist_ok=True)
        statement_file = folder / f"statement-{artist_id}.html"
        statement_file.write_text(render_html(statement), encoding="utf-8")
    return SampleRevenue(
        reports=len(exhibition),
        gross=format_minor(DEMO_LICENCE_MINOR * len(exhibition), DEMO_CURRENCY),
        payouts=payouts.payouts,
        balances=earned,
        statement=statement_file,
    )


def run_demo(
    console: Console, *, artists: int, seed: int, preset: str = "demo", steps: int | None = None
) -> None:
    run_config(preset, steps=steps)  # refuse a bad preset before anything is recorded
    with opened_ledger(get_settings()) as museum:
        existing = museum.artist_ids()
        if existing:
            console.print(
                f"The founding collection is already seeded ({len(existing)} artists); reusing it."
            )
            counts: dict[str, int] = {"artists": len(existing)}
        else:
            counts = seed_collection(museum, console, artists=artists, seed=seed)
        exhibition = train_and_exhibit(museum, console, preset=preset, steps=steps, seed=seed)
        method, credits = attribute_exhibition(museum, console, exhibition)
        revenue = book_sample_revenue(museum, exhibition, seed=seed)
        head = museum.integrity.sign_head()
        report = museum.integrity.verify()
        first_donation = museum.get_artist(museum.artist_ids()[0]).donation_ids[0]
        receipt = museum.integrity.receipt_for(first_donation, 1)
        verify_receipt(receipt, museum.integrity.public_key_hex)

        table = Table(title="Museum of Failures — founding collection")
        table.add_column("what")
        table.add_column("count", justify="right")
        for name, value in counts.items():
            table.add_row(name.replace("_", " "), str(value))
        table.add_row("events in the ledger", str(report.events))
        console.print(table)
        shown = Table(title="The opening exhibition (generated, recorded in the ledger)")
        for column in ("stage role", "emotion", "generation", "image"):
            shown.add_column(column)
        for row in exhibition:
            shown.add_row(*row)
        console.print(shown)
        console.print(f"images of the exhibition: {get_settings().home / 'exhibition'}")
        credited = Table(title=f"Who shaped each exhibit (attribution: {method}, top 3 donors)")
        credited.add_column("exhibit")
        credited.add_column("credited to")
        for (role, emotion, _, _), line in zip(exhibition, credits, strict=True):
            credited.add_row(f"{role} / {emotion}", line)
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
            f"ledger verified: {report.events} events, {report.heads} signed heads checked "
            f"({report.events_per_second:,.0f} events/s)"
        )
        console.print("signed tree head:")
        console.print_json(
            json.dumps(head.as_dict() | {"public_key": museum.integrity.public_key_hex})
        )
        console.print(
            f"receipt of the first donation (event {receipt.event.notification_id}) "
            "verified offline against that key"
        )
