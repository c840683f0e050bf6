"""Small, valid requests and collections for tests; each test changes only what it is about."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from PIL import Image

from collection import donation_request, founding_collection
from ledger.application import MuseumLedger
from ledger.model_records import ModelRecords
from ledger.retraining_records import RetrainingRecords
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
from ledger.shards import shard_of

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


def collection_by_shard(
    ledger: MuseumLedger,
    per_shard: list[int],
    consents: tuple[str, ...] = ("exhibit", "train", "commercial"),
) -> list[list[UUID]]:
    """Donors by shard: artists are registered until shard `s` holds `per_shard[s]` of them
    (an artist's shard is `ledger.shards.shard_of` of their random id), one donation each; an
    artist whose shard is full already donates nothing. Tests that count shards need this:
    `seed_collection`'s artists may all fall in one shard."""
    shards = len(per_shard)
    by_shard: list[list[UUID]] = [[] for _ in range(shards)]
    for draft in founding_collection(n_artists=60, donations_per_artist=1, size=16, seed=5):
        if all(len(a) >= n for a, n in zip(by_shard, per_shard, strict=True)):
            break
        artist_id = ledger.register_artist(draft.artist)
        shard = shard_of(str(artist_id), shards)
        if len(by_shard[shard]) < per_shard[shard]:
            request = donation_request(artist_id, draft.donations[0])
            ledger.donate(replace(request, consents=consents))
            by_shard[shard].append(artist_id)
    if [len(a) for a in by_shard] != per_shard:
        raise RuntimeError(f"60 artists did not fill shards {per_shard}")
    return by_shard


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


def main_in_process(args: list[str]) -> tuple[int, str, str]:
    """`api.cli.main(args)` under the caller's environment: exit code, stdout, stderr."""
    from api.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def museum_in_process(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`run_museum`, in this process: `api.cli.main` is the entry point the console script
    calls, so a refusal is the same one line, without a subprocess start-up (seconds each
    with torch) where a test runs many."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith("MUSEUM_")]:
            patch.delenv(name)
        for name, value in ({"MUSEUM_HOME": str(home)} | (env or {})).items():
            patch.setenv(name, value)
        code, out, err = main_in_process(list(args))
    return subprocess.CompletedProcess(list(args), code, out, err)


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
        run = RetrainingRecords(records.ledger).start_retraining(
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
