"""`museum demo`: seed the founding collection, train, exhibit, credit the exhibits to their
donors, and show that the ledger proves itself."""

from __future__ import annotations

import json
from collections import Counter
from uuid import UUID

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api.attribute import AttributeRequest, attribute
from generation.collection import donation_request, founding_collection
from generation.service import RunProgress, generate, run_config, train_run
from ledger.application import MuseumLedger
from ledger.model_records import ModelRecords
from ledger.receipt import verify_receipt
from ledger.runtime import open_ledger
from ledger.settings import get_settings


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
) -> list[tuple[str, str]]:
    """Credit every exhibit to the donated stages that shaped it; (generation, credit line)."""
    credited = []
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
            lines = ", ".join(
                f"{line['pseudonym']} {line['ppm'] / 10_000:.1f} %"
                for line in result["credits"][:3]
            )
            credited.append((generation_id, f"{lines} ({result['method']})"))
            progress.advance(task)
    return credited


def run_demo(
    console: Console, *, artists: int, seed: int, preset: str = "demo", steps: int | None = None
) -> None:
    run_config(preset, steps=steps)  # refuse a bad preset before anything is recorded
    museum = open_ledger(get_settings())
    try:
        existing = museum.artist_ids()
        if existing:
            console.print(
                f"The founding collection is already seeded ({len(existing)} artists); reusing it."
            )
            counts: dict[str, int] = {"artists": len(existing)}
        else:
            counts = seed_collection(museum, console, artists=artists, seed=seed)
        exhibition = train_and_exhibit(museum, console, preset=preset, steps=steps, seed=seed)
        credits = dict(attribute_exhibition(museum, console, exhibition))
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
        for column in ("stage role", "emotion", "generation", "image", "credited to (top 3)"):
            shown.add_column(column)
        for row in exhibition:
            shown.add_row(*row, credits[row[2]])
        console.print(shown)
        console.print(f"images of the exhibition: {get_settings().home / 'exhibition'}")
        console.print(
            f"ledger verified: {report.events} events, {report.heads} signed heads checked "
            f"({report.events_per_second:,.0f} events/s)"
        )
        console.print("signed tree head:")
        console.print_json(
            json.dumps(head.as_dict() | {"public_key": museum.integrity.public_key_hex})
        )
        console.print(
            f"receipt of the first donation (event {receipt['event']['notification_id']}) "
            "verified offline against that key"
        )
    finally:
        museum.close()
