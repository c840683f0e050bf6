"""`museum bench generation`, part 3: what compartmentalised (sharded) training costs in quality.

The tiny preset on scikit-learn's digits, a seeded share of the items held back. For each shard
count S the training items are split with `sharded_assignment` and each shard trains its own
UNet for `total_steps / S` steps, so every S gets the same budget of optimiser steps; the score
is the held-back denoising loss of the shard ensemble (`UNetEnsemble`, what `MuseumPipeline`
generates with), as a ratio to S = 1.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
import torch
from diffusers.models.unets.unet_2d import UNet2DModel

from collection import digits_collection
from generation.model import build_unet, images_to_tensor, label_to_class, training_scheduler
from generation.presets import ModelConfig, preset
from generation.sampling import UNetEnsemble
from generation.training import TrainingItem, denoising_loss, sharded_assignment, train

TARGET_SHARD_LOSS_RATIO = 1.10
SHARD_PRESET = "tiny"
BUDGET = (
    "same total optimiser steps: each of S shards trains total_steps / S steps at the preset's "
    "batch size on its own items (same examples seen, about the same compute)"
)


@dataclasses.dataclass(frozen=True)
class ShardingPlan:
    """How much of the measurement to do: which digits, how many held back, the budget."""

    digit_classes: tuple[int, ...]
    held_back_share: float
    total_steps: int
    eval_timesteps: int


def digit_items(config: ModelConfig, classes: Sequence[int], seed: int) -> list[TrainingItem]:
    """The digits as the ledger would hand them to training: finals labelled by their emotion."""
    items: list[TrainingItem] = []
    for a, artist in enumerate(
        digits_collection(classes=classes, size=config.resolution, seed=seed)
    ):
        images = images_to_tensor([d.stages[0].image for d in artist.donations], config)
        for d, donation in enumerate(artist.donations):
            stage = donation.stages[0]
            class_id = label_to_class(stage.role, donation.label.emotion)
            items.append(TrainingItem(f"{artist.style}/{a}/{d}", images[d], class_id))
    return items


def split(
    items: Sequence[TrainingItem], share: float, seed: int
) -> tuple[list[TrainingItem], list[TrainingItem]]:
    """A seeded share of the items held back from every training run, the rest to train on."""
    order = np.random.default_rng([seed, 7]).permutation(len(items)).tolist()
    cut = max(1, round(share * len(items)))
    held = sorted(order[:cut])
    kept = sorted(order[cut:])
    return [items[i] for i in kept], [items[i] for i in held]


@dataclasses.dataclass(frozen=True)
class HeldBack:
    """Held-back images with fixed timesteps and fixed noise: a deterministic loss of weights."""

    images: torch.Tensor
    labels: torch.Tensor
    timesteps: list[int]
    noise: list[torch.Tensor]  # one (N, C, H, W) draw per timestep

    @classmethod
    def make(
        cls, items: Sequence[TrainingItem], config: ModelConfig, count: int, seed: int
    ) -> HeldBack:
        images = torch.stack([item.image for item in items if isinstance(item.image, torch.Tensor)])
        if images.shape[0] != len(items):
            raise ValueError("held-back items must be decoded tensors")
        labels = torch.tensor([item.class_id for item in items], dtype=torch.long)
        span = config.num_train_timesteps
        timesteps = [min(span - 1, int((k + 0.5) * span / count)) for k in range(count)]
        generator = torch.Generator("cpu").manual_seed(seed)
        noise = [torch.randn(images.shape, generator=generator) for _ in timesteps]
        return cls(images, labels, timesteps, noise)

    def loss(self, model: UNet2DModel | UNetEnsemble, config: ModelConfig) -> float:
        """Mean epsilon MSE over every held-back item at every fixed timestep.

        An ensemble goes through `denoising_loss` as it is: it takes the UNet's call
        (`model(noisy, t, class_labels=...).sample`) and averages its members' predictions.
        """
        unet = cast(UNet2DModel, model)
        scheduler = training_scheduler(config)
        n = self.images.shape[0]
        total = 0.0
        model.eval()
        with torch.no_grad():
            for t, noise in zip(self.timesteps, self.noise, strict=True):
                losses = denoising_loss(unet, scheduler, self.images, self.labels, [t] * n, noise)
                total += float(losses.sum())
        return total / (n * len(self.timesteps))


def sharding_cost(
    shard_counts: Sequence[int],
    plan: ShardingPlan,
    seed: int,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Train S shards on the same total budget for every S; the shard ensembles' held-back
    loss against S = 1's (always measured: it is the baseline of every ratio)."""
    model_config, train_config = preset(SHARD_PRESET)
    items = digit_items(model_config, plan.digit_classes, seed)
    training, held_items = split(items, plan.held_back_share, seed)
    held = HeldBack.make(held_items, model_config, plan.eval_timesteps, seed)
    untrained = held.loss(build_unet(model_config, seed=seed), model_config)
    counts = sorted({1, *shard_counts})  # S = 1 is the baseline of every ratio
    runs: list[dict[str, Any]] = []
    for shards in counts:
        progress(f"sharding: training S = {shards}")
        assignment = sharded_assignment([item.item_id for item in training], shards)
        members = [
            [item for item in training if assignment[item.item_id] == shard]
            for shard in range(shards)
        ]
        if any(not part for part in members):
            raise ValueError(f"{shards} shards leave a shard empty; use fewer shards or more items")
        steps = max(1, round(plan.total_steps / shards))
        models = []
        began = time.perf_counter()
        for shard, part in enumerate(members):
            config = dataclasses.replace(
                train_config,
                steps=steps,
                seed=seed + shard,
                log_every=0,
                checkpoint_every=0,
                sample_every=0,
            )
            models.append(train(part, model_config, config, device="cpu").model)
        seconds = time.perf_counter() - began
        ensemble = UNetEnsemble.from_unets(models)
        single = [held.loss(m, model_config) for m in models]
        runs.append(
            {
                "shards": shards,
                "steps_per_shard": steps,
                "total_steps": steps * shards,
                "items_per_shard": [len(part) for part in members],
                "train_seconds": seconds,
                "held_back_loss": held.loss(ensemble, model_config),
                "single_shard_losses": single,
                "mean_single_shard_loss": sum(single) / len(single),
            }
        )
    baseline = runs[0]["held_back_loss"]
    for run in runs:
        ratio = run["held_back_loss"] / baseline if baseline > 0 else float("inf")
        run["ratio_vs_single"] = ratio
        run["meets_target"] = ratio <= TARGET_SHARD_LOSS_RATIO
    return {
        "preset": SHARD_PRESET,
        "device": "cpu",
        "data": (
            f"scikit-learn digits, classes {', '.join(map(str, plan.digit_classes))}, "
            f"{model_config.resolution}x{model_config.resolution} grey"
        ),
        "items": len(items),
        "training_items": len(training),
        "held_back_items": len(held_items),
        "budget": BUDGET,
        "total_steps": plan.total_steps,
        "batch_size": train_config.batch_size,
        "eval_timesteps": held.timesteps,
        "eval_examples": len(held_items) * len(held.timesteps),
        "untrained_loss": untrained,
        "runs": runs,
        "meets_target": all(run["meets_target"] for run in runs),
    }
