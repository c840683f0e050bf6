"""`museum bench generation`: training and sampling speed of the museum's own model, and what
compartmentalised (sharded) training costs in quality.

Pure model code only (no ledger): the items come from `collection`, built in code.

1. Training speed: for each preset and device (the CPU, and CUDA when there is one), the real
   `generation.training.train` runs `warm-up + timed` optimiser steps on items of
   `founding_collection` drawn at the preset's resolution; the figure is the timed steps over
   the time `train` itself counts for them (its per-step clock, reported every step), so the
   warm-up, the data decoding and the final checkpoint are left out.
2. Sampling speed: a freshly built UNet of each preset in `MuseumPipeline` generates a batch of
   16 images with `inference_steps` DDIM steps (PNG encoding included), after one short warm-up
   call; images per second over `repeats` timed calls.
3. Cost of sharding (`generation.sharding_bench`): the tiny preset on scikit-learn's digits
   (classes 0-3, 720 scans at 16x16), 20% of the items held back. For each shard count S the
   training items are split with `sharded_assignment` and each shard trains its own UNet for
   `total_steps / S` steps at the preset's batch size, so every S gets the same total budget of
   optimiser steps (and of examples seen, and about the same compute). The score is the
   held-back denoising loss (`denoising_loss`, epsilon MSE) over fixed timesteps spread across
   the schedule and fixed, seeded noise, of the shard ENSEMBLE (`UNetEnsemble`, the mean of the
   shards' noise predictions, exactly what `MuseumPipeline` generates with); the ratio to S = 1
   has a target of at most 1.10. It trains on the CPU on every machine, so its figures compare
   across them.

Nothing here asserts a timing: the figures are reported, each beside its target.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from collection import founding_collection
from generation.benchkit import devices, torch_facts, torch_threads
from generation.model import (
    build_unet,
    images_to_tensor,
    label_to_class,
    sampling_scheduler,
)
from generation.presets import ModelConfig, preset
from generation.sampling import MuseumPipeline
from generation.seeds import check_seed
from generation.sharding_bench import TARGET_SHARD_LOSS_RATIO, ShardingPlan, sharding_cost
from generation.training import (
    Progress,
    TrainingItem,
    train,
)
from ledger.benchkit import cpu_name, host_facts, load_average

TARGETS: dict[str, float] = {"shard_loss_ratio": TARGET_SHARD_LOSS_RATIO}


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How much of each measurement to do: the full run, or a few seconds' worth for tests."""

    warmup_steps: dict[str, int]
    timed_steps: dict[str, int]
    founding_artists: int
    generate_batch: int
    inference_steps: int
    generate_repeats: int
    sharding: ShardingPlan

    def warmup(self, preset_name: str) -> int:
        return self.warmup_steps.get(preset_name, self.warmup_steps["other"])

    def timed(self, preset_name: str) -> int:
        return self.timed_steps.get(preset_name, self.timed_steps["other"])


FULL = _Plan(
    warmup_steps={"tiny": 10, "demo": 5, "other": 3},
    timed_steps={"tiny": 60, "demo": 30, "other": 10},
    founding_artists=12,
    generate_batch=16,
    inference_steps=50,
    generate_repeats=3,
    sharding=ShardingPlan(
        digit_classes=(0, 1, 2, 3), held_back_share=0.2, total_steps=1600, eval_timesteps=16
    ),
)
QUICK = _Plan(
    warmup_steps={"tiny": 1, "demo": 1, "other": 1},
    timed_steps={"tiny": 4, "demo": 2, "other": 2},
    founding_artists=4,
    generate_batch=16,
    inference_steps=4,
    generate_repeats=1,
    sharding=ShardingPlan(
        digit_classes=(0, 1), held_back_share=0.2, total_steps=8, eval_timesteps=4
    ),
)
MAX_SHARD_STEPS = 1_000_000


# --- data -----------------------------------------------------------------------------------


def _founding_items(config: ModelConfig, artists: int, seed: int) -> list[TrainingItem]:
    """Every stage of a small founding collection at the preset's resolution, decoded once."""
    items: list[TrainingItem] = []
    for a, artist in enumerate(
        founding_collection(n_artists=artists, size=config.resolution, seed=seed)
    ):
        for d, donation in enumerate(artist.donations):
            images = images_to_tensor([stage.image for stage in donation.stages], config)
            for s, stage in enumerate(donation.stages):
                class_id = label_to_class(stage.role, donation.label.emotion)
                items.append(TrainingItem(f"founding/{a}/{d}/{s}", images[s], class_id))
    return items


# --- 1. training speed ----------------------------------------------------------------------


def _parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _training_speed(
    preset_name: str,
    items: Sequence[TrainingItem],
    device: str,
    warmup: int,
    timed: int,
    seed: int,
) -> dict[str, Any]:
    model_config, train_config = preset(preset_name)
    total = warmup + timed
    config = dataclasses.replace(
        train_config,
        steps=total,
        seed=seed,
        log_every=1,
        checkpoint_every=0,
        sample_every=0,
    )
    # `train` reports `step / seconds so far` every step: its own clock, optimiser steps only.
    clock: dict[int, float] = {0: 0.0}

    def progress(report: Progress) -> None:
        if report.step in (warmup, total):
            clock[report.step] = report.step / report.steps_per_second

    result = train(items, model_config, config, device=device, on_progress=progress)
    seconds = clock[total] - clock[warmup]
    steps_per_s = timed / seconds if seconds > 0 else 0.0
    return {
        "preset": preset_name,
        "device": device,
        "device_name": _device_name(device),
        "resolution": model_config.resolution,
        "channels": model_config.channels,
        "parameters": _parameters(result.model),
        "ema": train_config.ema,
        "items": len(items),
        "batch_size": train_config.batch_size,
        "warmup_steps": warmup,
        "timed_steps": timed,
        "seconds": seconds,
        "steps_per_s": steps_per_s,
        "examples_per_s": steps_per_s * train_config.batch_size,
        "final_loss": result.final_loss,
    }


# --- 2. sampling speed ----------------------------------------------------------------------


def _sampling_speed(
    preset_name: str, device: str, batch: int, steps: int, repeats: int, seed: int
) -> dict[str, Any]:
    model_config, _ = preset(preset_name)
    unet = build_unet(model_config, seed=seed)
    unet.eval()
    pipe = MuseumPipeline(
        unets=unet,
        scheduler=sampling_scheduler(model_config),
        null_class_id=model_config.null_class_id,
    )
    class_ids = [i % model_config.num_labelled_classes for i in range(batch)]
    pipe(class_ids, seed=seed, num_inference_steps=min(2, steps), device=device)  # warm-up
    seconds = 0.0
    for repeat in range(repeats):
        began = time.perf_counter()
        out = pipe(class_ids, seed=seed + repeat, num_inference_steps=steps, device=device)
        seconds += time.perf_counter() - began
        if len(out.png) != batch:
            raise RuntimeError(f"the pipeline made {len(out.png)} images, expected {batch}")
    images = batch * repeats
    return {
        "preset": preset_name,
        "device": device,
        "device_name": _device_name(device),
        "batch": batch,
        "inference_steps": steps,
        "repeats": repeats,
        "seconds": seconds,
        "seconds_per_batch": seconds / repeats,
        "images_per_s": images / seconds if seconds > 0 else 0.0,
        "unet_steps_per_s": steps * repeats / seconds if seconds > 0 else 0.0,
    }


# --- machine --------------------------------------------------------------------------------


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return str(torch.cuda.get_device_name(torch.device(device)))
    return cpu_name()


def _machine(load_at_start: list[float] | None) -> dict[str, Any]:
    return {
        **host_facts("cpu_count", "usable_cpus", "cpu"),
        **torch_facts(
            "torch",
            "torch_threads",
            "torch_interop_threads",
            "diffusers",
            "cuda",
            "cuda_device",
            "devices",
        ),
        **host_facts("machine", "platform", "python"),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
    }


# --- the bench ------------------------------------------------------------------------------


def run_generation_bench(
    *,
    quick: bool = False,
    presets: Sequence[str] = ("tiny", "demo"),
    shard_counts: Sequence[int] = (1, 2, 4),
    seed: int = 0,
    threads: int | None = None,
    shard_steps: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure training and sampling speed per preset and device, and the held-back loss of
    shard ensembles against one model trained on the same budget; return JSON-ready figures.

    S = 1 is always measured (it is the baseline of the ratio). `shard_steps` is that budget,
    the total optimiser steps every S shares (default: the plan's); the cost of sharding
    depends on it, so it can be measured at the budget a deployment trains with. `threads`
    sets torch's CPU threads for the run (restored after; None keeps torch's default, one per
    core): on a machine shared with other busy processes, fewer threads than cores avoids the
    stalls of threads waiting on each other. `progress`, when given, hears one line as each
    part starts.
    """
    if isinstance(presets, str) or not presets:
        raise ValueError("name at least one preset, as a sequence of names")
    for name in presets:
        preset(name)  # unknown names fail here, before any work
    for shards in shard_counts:
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shard counts must be positive integers, got {shards!r}")
    check_seed(seed)
    plan = QUICK if quick else FULL
    if shard_steps is not None:
        if isinstance(shard_steps, bool) or not isinstance(shard_steps, int):
            raise ValueError(
                f"the shard budget must be a whole number of steps, got {shard_steps!r}"
            )
        if not max(shard_counts, default=1) <= shard_steps <= MAX_SHARD_STEPS:
            raise ValueError(
                f"the shard budget must be between the largest shard count and "
                f"{MAX_SHARD_STEPS:,} steps, got {shard_steps}"
            )
        plan = dataclasses.replace(
            plan, sharding=dataclasses.replace(plan.sharding, total_steps=shard_steps)
        )
    with torch_threads(threads):
        return _run(
            plan,
            quick,
            list(dict.fromkeys(presets)),
            sorted({1, *shard_counts}),
            seed,
            progress or (lambda _line: None),
        )


def _run(
    plan: _Plan,
    quick: bool,
    presets: list[str],
    shard_counts: list[int],
    seed: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    began = time.perf_counter()
    load_at_start = load_average()
    measured = devices()
    figures: dict[str, Any] = {
        "bench": "generation",
        "quick": quick,
        "seed": seed,
        "presets": presets,
        "shard_counts": shard_counts,
        "devices": measured,
        "targets": dict(TARGETS),
    }
    training: list[dict[str, Any]] = []
    sampling: list[dict[str, Any]] = []
    for name in presets:
        model_config, _ = preset(name)
        items = _founding_items(model_config, plan.founding_artists, seed)
        for device in measured:
            say(f"training speed: {name} on {device}")
            training.append(
                _training_speed(name, items, device, plan.warmup(name), plan.timed(name), seed)
            )
            say(f"sampling speed: {name} on {device}")
            sampling.append(
                _sampling_speed(
                    name,
                    device,
                    plan.generate_batch,
                    plan.inference_steps,
                    plan.generate_repeats,
                    seed,
                )
            )
    figures["training"] = training
    figures["sampling"] = sampling
    figures["sharding"] = sharding_cost(shard_counts, plan.sharding, seed, say)
    figures["machine"] = _machine(load_at_start)
    figures["seconds_total"] = time.perf_counter() - began
    return figures
