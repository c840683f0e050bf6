"""The backup half of `museum bench ledger`: how long `museum backup` and `museum restore`
take, and how big a backup is, beside a plain copy of the same files in the same run.

For each museum measured (the demo's founding collection, seeded by the caller; a ledger of
N events built here) the harness

1. copies the live files (the SQLite file and the blob store) with `shutil`, untouched by the
   ledger: the baseline, the least any backup of those bytes costs on this disk;
2. times `back_up` (online backup API, blobs re-hashed, manifest signed) into a new folder;
3. times `restore` into an empty data directory (every file checked against the manifest, the
   log verified, the full `ledger verify`), and reports the verify's own share of it.

The N-event ledger is made of donations saved a hundred at a time with their artists'
`DonationAdded` (two events each, in one transaction), sealed like the service's, whose stages
name a few real blobs: a ledger `verify` accepts, built in seconds rather than minutes.
Nothing here asserts a timing; the figures are reported.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.application import MuseumLedger
from ledger.backup import back_up
from ledger.bench_payloads import Payloads
from ledger.benchkit import bench_settings
from ledger.domain import Donation
from ledger.restore import restore
from ledger.runtime import opened_ledger
from ledger.schemas import ArtistCreate
from ledger.settings import Settings

BATCH = 100  # donations per save when building the N-event ledger
ARTISTS = 8
BLOBS = 24  # real blobs the synthetic stages name

Seeder = Callable[[MuseumLedger], None]


class PooledPayloads(Payloads):
    """The ledger bench's payloads, with each text drawn from a pool of 32 made once per
    length range: the same sizes, without composing a hundred thousand texts word by word.
    Every donation is still sealed afresh under its own id."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self.pools: dict[tuple[int, int], list[str]] = {}

    def text(self, low: int, high: int) -> str:
        pool = self.pools.get((low, high))
        if pool is None:
            compose = super().text
            pool = self.pools[(low, high)] = [compose(low, high) for _ in range(32)]
        return self.rng.choice(pool)


def build_events(ledger: MuseumLedger, events: int, seed: int = 0) -> None:
    """Append about `events` events (donations and their `DonationAdded`), in batches."""
    payloads = PooledPayloads(seed=seed)
    artists = [
        ledger.register_artist(
            ArtistCreate(f"Backup Bench {n}", f"Legal Name {n}", f"backup{n}@example.org")
        )
        for n in range(ARTISTS)
    ]
    keys = {artist_id: ledger.data_key(artist_id) for artist_id in artists}
    blob_ids = [ledger.blobs.put(payloads.image())[0] for _ in range(BLOBS)]
    made = 0
    round_ = 0
    while made < events:
        artist_id = artists[round_ % len(artists)]
        artist = ledger.get_artist(artist_id)
        donations = []
        for _ in range(max(1, min(BATCH, (events - made) // 2))):
            spec = payloads.donation_spec(keys[artist_id], artist_id)
            spec["stages"] = [
                dataclasses.replace(stage, blob_id=blob_ids[(made + i) % BLOBS])
                for i, stage in enumerate(spec["stages"])
            ]
            donation = Donation.make(**spec)
            artist.add_donation(donation.id)
            donations.append(donation)
            made += 2
        ledger.save(artist, *donations)
        round_ += 1


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _plain_copy(settings: Settings, target: Path) -> float:
    """The baseline: the same files copied with shutil (and synced), no ledger involved."""
    target.mkdir(parents=True)
    began = time.perf_counter()
    shutil.copyfile(settings.sqlite_path, target / settings.sqlite_path.name)
    shutil.copytree(settings.blob_dir, target / "blobs")
    for path in [target / settings.sqlite_path.name, *(target / "blobs").glob("??/*")]:
        with path.open("rb") as fh:
            os.fsync(fh.fileno())
    return time.perf_counter() - began


def measure(name: str, workdir: Path, seed: Seeder) -> dict[str, Any]:
    """Seed a fresh embedded museum with `seed`, then copy, back up and restore it."""
    settings = bench_settings(workdir / "live")
    t0 = time.perf_counter()
    with opened_ledger(settings) as ledger:
        seed(ledger)
        ledger.integrity.sign_head()
    seed_seconds = time.perf_counter() - t0
    live_bytes = _size(settings.sqlite_path) + _size(settings.blob_dir)
    copy_seconds = _plain_copy(settings, workdir / "copy")
    done = back_up(settings, workdir / "backup")
    target = settings.model_copy(update={"home": workdir / "restored", "shred_list": None})
    restored = restore(target, workdir / "backup", shred_lists=[])
    for folder in ("copy", "backup", "restored", "live"):  # the next case gets the disk
        shutil.rmtree(workdir / folder, ignore_errors=True)
    return {
        "name": name,
        "events": done.events,
        "blobs": done.blobs,
        "keys": done.keys,
        "seed_seconds": seed_seconds,
        "live_bytes": live_bytes,
        "backup_bytes": done.bytes,
        "backup_to_live_size": done.bytes / live_bytes if live_bytes else 0.0,
        "copy_seconds": copy_seconds,
        "backup_seconds": done.seconds,
        "backup_to_copy_ratio": done.seconds / copy_seconds if copy_seconds > 0 else 0.0,
        "restore_seconds": restored.seconds,
        "restore_to_copy_ratio": restored.seconds / copy_seconds if copy_seconds > 0 else 0.0,
        "restore_verify_seconds": restored.verify.seconds,
        "restored_events": restored.events_restored,
    }


def run_backup_bench(*, events: int, workdir: Path, demo: Seeder | None = None) -> dict[str, Any]:
    """Figures for the demo collection (when a seeder is given) and an `events`-event ledger."""
    if events < 2:
        raise ValueError("the backup bench needs at least two events")
    cases = []
    if demo is not None:
        cases.append(measure("demo collection", workdir / "demo", demo))
    cases.append(
        measure(
            f"{events:,} events", workdir / "events", lambda ledger: build_events(ledger, events)
        )
    )
    return {"backend": "sqlite", "cases": cases}
