"""Training runs and generations as museum acts: ledger in, model work, ledger out.

These are the job bodies. They run in-process (embedded mode) or inside arq workers, and are
safe to retry: the run and the generation are keyed by job id, progress by step, checkpoints by
(shard, step) and content hash, and training is deterministic for a seed on a given CPU setup.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import torch
from eventsourcing.persistence import IntegrityError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from generation.model import build_unet, label_to_class, sampling_scheduler
from generation.presets import ModelConfig, TrainConfig, run_config
from generation.sampling import MAX_INFERENCE_STEPS, MAX_SEED, MuseumPipeline
from generation.training import Checkpoint, Progress, TrainingItem, train
from ledger.application import MuseumLedger
from ledger.domain.model import Generation, TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, InvalidInput, KeyShredded
from ledger.model_records import ModelRecords
from ledger.shards import members_by_shard
from ledger.training_snapshot import TrainingItem as LedgerItem
from ledger.vocabulary import Emotion, StageRole, parse

EMA_PREFIX = "ema."


@dataclass(frozen=True)
class RunProgress:
    """What a terminal or the Atelier shows while a run trains."""

    shard: int
    shards: int
    step: int
    total_steps: int
    loss: float


def checkpoint_bytes(checkpoint: Checkpoint) -> bytes:
    """Raw weights (what attribution differentiates) plus EMA weights (what generation uses)."""
    tensors = {k: v.contiguous() for k, v in checkpoint.state_dict.items()}
    if checkpoint.ema_state_dict is not None:
        tensors |= {EMA_PREFIX + k: v.contiguous() for k, v in checkpoint.ema_state_dict.items()}
    return bytes(save_safetensors(tensors, metadata={"step": str(checkpoint.step)}))


def load_checkpoint(payload: bytes, *, ema: bool = True) -> dict[str, torch.Tensor]:
    tensors = load_safetensors(payload)
    averaged = {k[len(EMA_PREFIX) :]: v for k, v in tensors.items() if k.startswith(EMA_PREFIX)}
    if ema and averaged:
        return averaged
    return {k: v for k, v in tensors.items() if not k.startswith(EMA_PREFIX)}


def train_run(
    ledger: MuseumLedger,
    *,
    job_id: str,
    preset_name: str = "tiny",
    seed: int = 0,
    shards: int = 1,
    steps: int | None = None,
    deploy: bool = True,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> TrainingRun:
    """Train one model per shard on the consented snapshot and complete the run as a version."""
    records = ModelRecords(ledger)
    model_config, train_config = run_config(preset_name, steps=steps)
    run = records.start_run(
        job_id=job_id,
        config={
            "preset": preset_name,
            "model": model_config.to_dict(),
            "train": train_config.to_dict(),
        },
        seed=seed,
        shards=shards,
    )
    if run.state == "completed":
        Erasures(ledger).settle()  # a retry after a crash between completing and settling
        return run
    # A retried job trains exactly what its start event recorded, whatever it was called with.
    model_config = ModelConfig.from_dict(run.config["model"])
    train_config = TrainConfig.from_dict(run.config["train"])
    with failure_recorded(records, run):
        items = [LedgerItem.from_dict(item) for item in run.items]
        losses: list[float] = []
        for shard, members in enumerate(members_by_shard(items, run.shards)):
            if not members:  # the hash put no item here: the ensemble goes on without it
                records.drop_shard(run.id, shard, "no item of the snapshot falls in this shard")
                continue
            result = train_shard(
                ledger,
                records,
                run,
                shard,
                members,
                model_config,
                dataclasses.replace(train_config, seed=(run.seed + shard) % MAX_SEED),
                on_progress,
            )
            losses.append(result)
        completed = records.complete_run(
            run.id, final_loss=sum(losses) / len(losses), deploy=deploy
        )
        Erasures(ledger).settle()  # a fresh version may hold no erased donor's stages
        return completed


@contextmanager
def failure_recorded(records: ModelRecords, run: TrainingRun) -> Iterator[None]:
    """Record why a run's training failed, so it never keeps the training slot; the error goes
    on to the caller. A lost race or a run the ledger failed already is passed on as it is."""
    try:
        yield
    except KeyShredded as exc:
        records.fail_run(run.id, f"an item was erased while the run trained: {exc}")
        raise
    except (Conflict, IntegrityError):
        # Already failed by the ledger, or another copy of this job is recording the run.
        raise
    except Exception as exc:
        records.fail_run(run.id, f"{type(exc).__name__}: {exc}")
        raise


def train_shard(
    ledger: MuseumLedger,
    records: ModelRecords,
    run: TrainingRun,
    shard: int,
    members: list[LedgerItem],
    model_config: ModelConfig,
    train_config: TrainConfig,
    on_progress: Callable[[RunProgress], None] | None,
) -> float:
    """Train one shard's model on its members, recording progress and checkpoints; its loss."""
    # 1. Decrypt the consented stages of this shard (a shredded key fails the run).
    training_items = [
        TrainingItem(
            item.item_id,
            ledger.stage_image(item.donation_id, item.stage_index),
            label_to_class(item.role, item.emotion),
        )
        for item in members
    ]

    # 2. Record progress and preview grids as the run goes, for the Atelier.
    def progress(report: Progress) -> None:
        if math.isfinite(report.loss):
            records.record_progress(run.id, shard, report.step, report.loss)
        if report.sample_png is not None:
            records.record_sample_grid(run.id, shard, report.step, report.sample_png)
        if on_progress is not None:
            on_progress(
                RunProgress(shard, run.shards, report.step, report.total_steps, report.loss)
            )

    # 3. Keep every checkpoint, content-hashed: attribution needs them later.
    def checkpoint(saved: Checkpoint) -> None:
        records.record_checkpoint(run.id, shard, saved.step, saved.hash, checkpoint_bytes(saved))

    # 4. Train; feedback-derived weights make noted items more frequent.
    result = train(
        training_items,
        model_config,
        train_config,
        on_progress=progress,
        on_checkpoint=checkpoint,
        item_weights=[item.weight for item in members]
        if any(i.weight != 1 for i in members)
        else None,
    )
    return float(result.final_loss)


def load_version(ledger: MuseumLedger, run: TrainingRun) -> tuple[ModelConfig, list[Any]]:
    """Rebuild the shard models of a model version from its final, content-hashed checkpoints."""
    model_config = ModelConfig.from_dict(run.config["model"])
    unets = []
    for final in run.final_checkpoints():
        unet = build_unet(model_config, seed=0)
        unet.load_state_dict(load_checkpoint(ledger.blobs.get(final["blob_id"])))
        unet.eval()
        unets.append(unet)
    return model_config, unets


def generate(
    ledger: MuseumLedger,
    *,
    job_id: str,
    role: str,
    emotion: str,
    seed: int,
    steps: int = 50,
    version: UUID | None = None,
) -> Generation:
    """Make one image with a model version (the deployed one by default) and record it."""
    role = parse(StageRole, role, "stage role")
    emotion = parse(Emotion, emotion, "emotion")
    if not 1 <= steps <= MAX_INFERENCE_STEPS:
        raise InvalidInput(f"steps must be between 1 and {MAX_INFERENCE_STEPS}")
    if not 0 <= seed <= MAX_SEED:
        raise InvalidInput(f"the seed must be between 0 and {MAX_SEED}")
    records = ModelRecords(ledger)
    done = records.find_generation(job_id)
    if done is not None:  # a retried or repeated job: the image exists already
        return done
    run = records.model_version(version)
    model_config, unets = load_version(ledger, run)
    pipeline = MuseumPipeline(unets=unets, scheduler=sampling_scheduler(model_config))
    # Seeded noise is drawn on the CPU, so a seed means the same start on every device.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    output = pipeline(
        [label_to_class(role, emotion)], seed=seed, num_inference_steps=steps, device=device
    )
    return records.record_generation(
        job_id=job_id,
        run=run,
        seed=seed,
        steps=steps,
        role=role,
        emotion=emotion,
        png=output.png[0],
    )
