"""Continuation runs as museum acts: consented pairs in, a model version of its own out.

The job body of `museum train --variant continuation`. Like the stage model's runs
(`generation.service`), a run is keyed by job id, snapshots what it may learn from when it
starts (consecutive stage pairs of donations whose `train` consent holds then), records its
progress and its content-hashed checkpoints, and completes as a model version that is deployed
beside the stage model, never instead of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generation.model import sampling_scheduler
from generation.presets import TrainConfig
from generation.process.config import ContinuationConfig, continuation_run_config
from generation.process.model import build_continuation_unet, continuation_class
from generation.process.pipeline import ContinuationPipeline
from generation.process.training import PairExample, train_continuation
from generation.service import (
    RunProgress,
    checkpoint_bytes,
    failure_recorded,
    load_checkpoint,
)
from generation.training import Checkpoint, Progress
from ledger.application import MuseumLedger
from ledger.domain.model import CONTINUATION, TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, InvalidInput
from ledger.model_records import ModelRecords
from ledger.process_records import ProcessRecords, StagePair

__all__ = ["continuation_config", "load_continuation", "train_continuation_run"]


def continuation_config(run: TrainingRun) -> ContinuationConfig:
    """The configuration a continuation run recorded when it started."""
    if run.variant != CONTINUATION:
        raise InvalidInput(f"run {run.id} is a {run.variant} model, not a continuation model")
    return ContinuationConfig.from_dict(
        {"model": run.config["model"], **run.config["continuation"]}
    )


def train_continuation_run(
    ledger: MuseumLedger,
    *,
    job_id: str,
    preset_name: str = "tiny",
    seed: int = 0,
    steps: int | None = None,
    deploy: bool = True,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> TrainingRun:
    """Train the continuation model on the consented pairs and complete the run."""
    records = ModelRecords(ledger)
    config, train_config = continuation_run_config(preset_name, steps=steps)
    continuation = config.to_dict()
    run = records.start_run(
        job_id=job_id,
        config={
            "preset": preset_name,
            "model": continuation.pop("model"),
            "continuation": continuation,
            "train": train_config.to_dict(),
        },
        seed=seed,
        shards=1,
        variant=CONTINUATION,
        snapshot=ProcessRecords(ledger).consent_pairs(),
    )
    if run.variant != CONTINUATION:
        raise Conflict(f"job {job_id} is a {run.variant} training run: use another job id")
    if run.state == "completed":
        Erasures(ledger).settle()
        return run
    if run.state == "failed":
        return run
    with failure_recorded(records, run):
        # A retried job trains what its start event recorded, whatever it was called with.
        loss = _train(ledger, records, run, on_progress)
        completed = records.complete_run(run.id, final_loss=loss, deploy=deploy)
        Erasures(ledger).settle()
        return completed


def _train(
    ledger: MuseumLedger,
    records: ModelRecords,
    run: TrainingRun,
    on_progress: Callable[[RunProgress], None] | None,
) -> float:
    config = continuation_config(run)
    train_config = TrainConfig.from_dict(run.config["train"])
    pairs = [StagePair.from_dict(item) for item in run.items]
    # 1. Decrypt both stages of every consented pair (a shredded key fails the run).
    examples = [
        PairExample(
            pair.item_id,
            ledger.stage_image(pair.donation_id, pair.previous_stage_index),
            ledger.stage_image(pair.donation_id, pair.stage_index),
            continuation_class(pair.role, pair.emotion, pair.failure_type),
        )
        for pair in pairs
    ]

    # 2. Record progress as the run goes, for the Atelier.
    def progress(report: Progress) -> None:
        records.record_progress(run.id, 0, report.step, report.loss)
        if on_progress is not None:
            on_progress(RunProgress(0, 1, report.step, report.total_steps, report.loss))

    # 3. Keep every checkpoint, content-hashed: attribution needs them later.
    def checkpoint(saved: Checkpoint) -> None:
        records.record_checkpoint(run.id, 0, saved.step, saved.hash, checkpoint_bytes(saved))

    # 4. Train; feedback-derived weights make the pairs of noted series more frequent.
    weights = [pair.weight for pair in pairs]
    result = train_continuation(
        examples,
        config,
        train_config,
        on_progress=progress,
        on_checkpoint=checkpoint,
        item_weights=weights if any(w != 1 for w in weights) else None,
    )
    return float(result.final_loss)


def load_continuation(ledger: MuseumLedger, run: TrainingRun) -> tuple[ContinuationConfig, Any]:
    """The continuation model of a version, from its final content-hashed checkpoint."""
    config = continuation_config(run)
    (final,) = run.final_checkpoints()
    unet = build_continuation_unet(config)
    unet.load_state_dict(load_checkpoint(ledger.blobs.get(final["blob_id"])))
    unet.eval()
    return config, unet


def pipeline_of(
    ledger: MuseumLedger, run: TrainingRun
) -> tuple[ContinuationConfig, ContinuationPipeline]:
    config, unet = load_continuation(ledger, run)
    scheduler = sampling_scheduler(config.model)
    return config, ContinuationPipeline(unet, scheduler, null_class_id=config.null_class_id)
