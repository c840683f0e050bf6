"""`museum demo`: seed the founding collection, train, exhibit, credit the exhibits to their
donors, book sample revenue and payouts, show that the ledger proves itself, and serve the site
(`api.demo_site`). Every step says what it does as it goes, on a terminal or not
(`api.demo_display`), and a rerun on the same data directory reuses what is there."""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from rich.console import Console

from api.attribute import AttributeRequest, attribute, describe
from api.cli.jobs import TrainingDisplay
from api.demo_display import Steps, line, phase, seconds
from api.demo_report import report
from collection import donation_request, founding_collection
from generation.credentials.service import ContentCredentialService
from generation.presets import run_config
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.domain import FoundingRoll
from ledger.errors import Conflict
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import get_settings
from royalties.currency import format_minor
from royalties.service import RoyaltyService
from royalties.split import ARTIST_PREFIX, artist_of
from royalties.statement import render_html
from royalties.views import BalanceRead, PaidRead


def later_donors(artists: int) -> int:
    """How many of the demo's artists register after its founding roll is full: a sixth, at
    least two once there are three (one of them asks for erasure), so both tiers appear."""
    return 0 if artists < 3 else max(2, artists // 6)


def seed_collection(
    museum: MuseumLedger, console: Console, *, artists: int, seed: int
) -> dict[str, int]:
    """Register the artists, donate their process series, then exercise consent and erasure.
    The demo's founding roll holds all but the last few of them (the charter's roll holds
    100), so the collection has founding artists and later donors."""
    if museum.find(FoundingRoll.ROLL_ID, FoundingRoll) is None:
        museum.save(FoundingRoll(seats=artists - later_donors(artists)))
    drafts = founding_collection(n_artists=artists, seed=seed)
    counts: Counter[str] = Counter()
    donations = []
    with Steps(console, "seeding the founding collection (artists)", len(drafts), every=6) as shown:
        for number, draft in enumerate(drafts, 1):
            artist_id = museum.register_artist(draft.artist)
            counts["artists"] += 1
            for item in draft.donations:
                result = museum.donate(donation_request(artist_id, item))
                donations.append(result.donation_id)
                counts["donations"] += 1
                counts["stages"] += len(item.stages)
            shown.update(number)
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


# DDIM steps of each exhibit.
EXHIBIT_STEPS = 50
# The demo trains the `demo` preset for 500 of its 800 steps: the exhibits keep their look
# (final loss 0.114 against 0.102) and preparing takes about a third less (559 → 366 CPU
# seconds here); `--steps 800` trains the preset's full length.
DEMO_STEPS = 500


def train_and_exhibit(
    museum: MuseumLedger, console: Console, *, preset: str, steps: int | None, seed: int
) -> list[tuple[str, str, str, str]]:
    """Train the first model version if none is deployed, then make the opening exhibition."""
    records = ModelRecords(museum)
    if records.registry().deployed is None:
        from generation.service import train_run  # torch loads only when there is model work

        line(console, f"training the museum's model ({preset} preset)")
        with TrainingDisplay(console, quiet=False) as display:
            run = train_run(
                museum,
                job_id=f"demo-training-{seed}",
                preset_name=preset,
                seed=seed,
                steps=steps,
                on_progress=display.report,
            )
        line(
            console,
            f"model version {run.id} trained on {len(run.items)} consented stages, "
            f"final loss {run.final_loss:.4f}",
        )
    else:
        line(console, f"model version {records.registry().deployed} is trained; reusing it")
    shown = []
    folder = get_settings().home / "exhibition"
    folder.mkdir(parents=True, exist_ok=True)
    for index, (role, emotion) in enumerate(EXHIBITION):
        job_id = f"demo-exhibition-{seed}-{index}"
        generation = records.find_generation(job_id)
        if generation is None:
            from generation.service import generate

            generation = generate(
                museum,
                job_id=job_id,
                role=role,
                emotion=emotion,
                seed=seed * 1000 + index,
                steps=EXHIBIT_STEPS,
            )
        image = folder / f"{index:02d}-{role}-{emotion}.png"
        image.write_bytes(ContentCredentialService(museum).signed_png(generation.id))
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
    records = AttributionRecords(museum)
    credentials = ContentCredentialService(museum)
    folder = get_settings().home / "exhibition"
    with Steps(console, "attributing the exhibition (exhibits)", len(exhibition)) as shown:
        for number, (_, _, generation_id, image) in enumerate(exhibition, 1):
            recorded = records.latest_for(UUID(generation_id))
            if recorded is not None:  # a rerun: credited already
                result = describe(museum, recorded)
            else:
                request = AttributeRequest(
                    UUID(generation_id),
                    top=10,
                    timesteps=DEMO_TIMESTEPS,
                    checkpoints=DEMO_CHECKPOINTS,
                )
                result = attribute(museum, get_settings().home, request)
            # Credited: the exhibit's file is its new content-credentials version.
            (folder / image).write_bytes(credentials.signed_png(UUID(generation_id)))
            method = result.method
            credited.append(
                ", ".join(
                    f"{credit.pseudonym} {credit.ppm / 10_000:.1f} %"
                    for credit in result.credits[:3]
                )
            )
            shown.update(number)
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


@dataclass(frozen=True)
class Prepared:
    """What the demo made (or found), for its report."""

    counts: dict[str, int]
    exhibition: list[tuple[str, str, str, str]]
    method: str
    credits: list[str]
    revenue: SampleRevenue


def prepare(
    museum: MuseumLedger,
    console: Console,
    *,
    artists: int,
    seed: int,
    preset: str,
    steps: int | None,
) -> Prepared:
    """Every step of the story, each reusing what an earlier run left."""
    existing = museum.artist_ids()
    if existing:
        line(
            console,
            f"The founding collection is already seeded ({len(existing)} artists); reusing it.",
        )
        counts: dict[str, int] = {"artists": len(existing)}
    else:
        with phase(console, "seeding"):
            counts = seed_collection(museum, console, artists=artists, seed=seed)
    with phase(console, "training and the opening exhibition"):
        exhibition = train_and_exhibit(museum, console, preset=preset, steps=steps, seed=seed)
    with phase(console, "attribution"):
        method, credits = attribute_exhibition(museum, console, exhibition)
    with phase(console, "sample revenue and payouts"):
        revenue = book_sample_revenue(museum, exhibition, seed=seed)
    return Prepared(counts, exhibition, method, credits, revenue)


# Torch's OpenMP threads wait for each other by spinning. On a two-core machine that is busy
# with something else, a spinning thread holds the core its partner needs: training the demo
# model ran at 0.2-0.9 steps/s here with one core taken, against 1.4 when the threads wait
# passively. On a quiet machine passive waiting costs 20-45 % (2.7 against 1.5-2.2 steps/s),
# so the demo waits passively only when the machine is busy as it starts (load ≥ 0.75 per the
# one-minute load average), and never overrides OMP_WAIT_POLICY set by the caller.
BUSY_LOAD = 0.75


def wait_passively_when_busy(console: Console) -> None:
    """Before torch loads: OMP_WAIT_POLICY=PASSIVE when another process keeps a core busy."""
    if "OMP_WAIT_POLICY" in os.environ or not hasattr(os, "getloadavg"):
        return
    load = os.getloadavg()[0]
    if load >= BUSY_LOAD:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        line(console, f"the machine is busy (load {load:.1f}): torch threads wait passively")


def run_demo(
    console: Console,
    *,
    artists: int,
    seed: int,
    preset: str = "demo",
    steps: int | None = None,
    serve: bool = False,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    from api.demo_site import (
        demo_keys,
        port_is_free,
        print_new_secrets,
        print_visitors,
        serve_site,
        sign_in_links,
    )

    run_config(preset, steps=steps)  # refuse a bad preset before anything is recorded
    if serve and not port_is_free(host, port):
        raise Conflict(
            f"{host}:{port} is in use (another `museum serve`?): stop it, choose --port, "
            "or prepare only with --no-serve"
        )
    started = time.perf_counter()
    wait_passively_when_busy(console)
    if steps is None and preset == "demo":
        steps = DEMO_STEPS
    with opened_ledger(get_settings()) as museum:
        prepared = prepare(museum, console, artists=artists, seed=seed, preset=preset, steps=steps)
        with phase(console, "proving the ledger"):
            report(museum, console, prepared)
        keys = demo_keys(museum)
        print_new_secrets(console, keys)
        line(console, f"the museum is ready: prepared in {seconds(time.perf_counter() - started)}")
        if not serve:
            line(
                console,
                "`museum demo` again serves the site, with sign-in links (or `museum serve`)",
            )
            return
        base_url = f"http://{host}:{port}"
        print_visitors(console, keys, sign_in_links(museum, keys, base_url), base_url)
    line(console, f"serving the museum on {base_url}/ — Ctrl-C stops it")
    serve_site(host, port)
    line(console, "the museum is closed; `museum demo` opens it again")
