"""A museum laid out for retraining tests: donors placed in chosen shards, and a deployed model
version recorded without torch (its checkpoints are placeholder bytes that nothing loads: a
retraining trains a changed shard from scratch and reuses the others' checkpoints by hash).

Shards follow the artist id (`ledger.shards.shard_of`), so a donor is placed in a shard by
registering artists until one falls there; the others are registered but never donate.
"""

from __future__ import annotations

from uuid import UUID

import factories

from generation.presets import run_config
from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.model_records import ModelRecords
from ledger.shards import shard_of

STEPS = 10  # what a retrained shard trains for: the tiny preset, a second or so


def donor_in_shard(ledger: MuseumLedger, shard: int, shards: int, shade: int) -> UUID:
    """An artist whose stages train in `shard` of `shards`, with one donation (`train` granted)."""
    for attempt in range(200):
        artist_id = ledger.register_artist(factories.artist(f"Donor {shade}-{attempt}"))
        if shard_of(str(artist_id), shards) == shard:
            stages = factories.stages(shade=shade)
            ledger.donate(factories.donation(artist_id, stages=stages))
            return artist_id
    raise AssertionError(f"no artist id fell in shard {shard} of {shards} in 200 tries")


def deploy_recorded_version(
    ledger: MuseumLedger, shards: int, job_id: str = "recorded-version"
) -> TrainingRun:
    """A completed, deployed version on today's consented items: a real tiny config (what a
    retraining trains with), one placeholder checkpoint per shard that holds items."""
    model_config, train_config = run_config("tiny", steps=STEPS)
    records = ModelRecords(ledger)
    run = records.start_run(
        job_id=job_id,
        config={
            "preset": "tiny",
            "model": model_config.to_dict(),
            "train": train_config.to_dict(),
        },
        seed=0,
        shards=shards,
    )
    held = {item["shard"] for item in run.items}
    for shard in range(shards):
        if shard in held:
            payload = f"placeholder weights of {job_id} shard {shard}".encode()
            records.record_checkpoint(run.id, shard, STEPS, f"{shard:x}" * 64, payload)
        else:
            records.drop_shard(run.id, shard, "no item falls in this shard")
    return records.complete_run(run.id, final_loss=0.1)
