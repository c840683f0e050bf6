"""Small, valid requests and collections for tests; each test changes only what it is about."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from PIL import Image

from collection import donation_request, founding_collection
from ledger.application import MuseumLedger
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.schemas import (
    ArtistCreate,
    DonationCreate,
    DonationTags,
    MuseumLabel,
    RightsAttestation,
    StageCreate,
)
from ledger.settings import Settings

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def png(shade: int, size: int = 16, fmt: str = "PNG") -> bytes:
    image = Image.new("L", (size, size), shade % 256)
    image.putpixel((shade % size, (shade // size) % size), (shade + 128) % 256)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def artist(pseudonym: str = "Ink Moth", **changes: object) -> ArtistCreate:
    return replace(ArtistCreate(pseudonym, "Ana Lucía Ruiz", "ana.ruiz@example.org"), **changes)


def label(**changes: object) -> MuseumLabel:
    base = MuseumLabel(
        title="Harbour at dusk",
        creative_intent="Catch the moment the lamps come on",
        failure_type="perspective",
        failure_detail="the pier bends the wrong way",
        emotion="frustration",
        era="late 2010s",
        social_context="painted during the port strike",
        failure_note="I kept fixing the boats and forgot the horizon.",
    )
    return replace(base, **changes)


def stages(*roles: str, shade: int = 10) -> tuple[StageCreate, ...]:
    roles = roles or ("sketch", "failure", "final")
    return tuple(
        StageCreate(role, png(shade + 37 * i), f"{role} number {i}", T0 + timedelta(days=i))
        for i, role in enumerate(roles)
    )


def donation(artist_id: UUID, **changes: object) -> DonationCreate:
    base = DonationCreate(
        artist_id=artist_id,
        stages=stages(),
        label=label(),
        attestation=RightsAttestation(affirmed=True),
        tags=DonationTags(
            culture=("andalusian",), region=("southern-europe",), genre=("seascape",)
        ),
        consents=("exhibit", "train"),
    )
    return replace(base, **changes)


def seed_collection(ledger: MuseumLedger, artists: int = 3) -> list[UUID]:
    """A small generated founding collection at 16×16, one donation per artist."""
    ids = []
    for draft in founding_collection(n_artists=artists, donations_per_artist=1, size=16, seed=3):
        artist_id = ledger.register_artist(draft.artist)
        ids.append(artist_id)
        for item in draft.donations:
            ledger.donate(donation_request(artist_id, item))
    return ids


def seed_home(home: Path, master_key: str, artists: int = 3) -> None:
    """Seed the embedded ledger of `home`, for tests that then run the `museum` command on it."""
    with opened_ledger(Settings(home=home, master_key=master_key)) as ledger:
        seed_collection(ledger, artists)


def run_museum(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `museum` command in a subprocess, with no MUSEUM_* from the caller's shell."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    environment |= {"MUSEUM_HOME": str(home)} | (env or {})
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def recorded_version(ledger: MuseumLedger, checkpoint: str, *, retraining: bool = False) -> UUID:
    """A completed, deployed one-shard model version of every item with train consent now,
    recorded through the ledger with a stand-in checkpoint (the ledger never reads weights).
    With `retraining`, a retraining run of the deployed version serving every pending request:
    the ledger's side of `generation.retraining.retrain`, for tests without torch."""
    records = ModelRecords(ledger)
    if not retraining:
        run = records.start_run(job_id=checkpoint, config={}, seed=0, shards=1)
    else:
        snapshot = records.consent_snapshot()
        schedule = ledger.retraining_schedule()
        run = records.start_retraining(
            job_id=checkpoint,
            base=records.model_version(),
            items=[replace(item, shard=0) for item in snapshot.items],
            consents_relied_on=snapshot.consents_relied_on,
            feedback_used=snapshot.feedback_used,
            requests=schedule.numbers(schedule.pending),
            retrained=[0],
            reused=[],
            emptied=[],
        )
    records.record_checkpoint(run.id, 0, 5, checkpoint * 64, checkpoint.encode())
    return records.complete_run(run.id, 0.2).id
