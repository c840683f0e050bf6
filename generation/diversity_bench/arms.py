"""The arms the diversity bench compares: each is something that makes images for a condition.

An arm is built by an `ArmSpec` from the training part of a data set, one training seed and the
shared budget, and then answers `generate(class_id, count, seed)` with (count, C, R, R) images in
[-1, 1]. The two arms of the issue are built here:

- "process" (A): the museum's stage model as `generation.service` trains it — every stage of
  the consented donations, conditioned on (role, emotion);
- "finals" (B): the same UNet, steps, batch and seed, trained on the final stages only.

A third arm (the continuation model, rolled out from a donated sketch to a final) plugs in as
another `ArmSpec` whose `build` returns anything with `name` and `generate`; `denoiser` is the
UNet whose held-back denoising loss the bench reports, or None where that is not defined.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from diffusers.models.unets.unet_2d import UNet2DModel

from generation.diversity_bench.data import FINAL, Stages
from generation.model import sampling_scheduler
from generation.presets import ModelConfig, TrainConfig
from generation.sampling import MuseumPipeline
from generation.training import TrainingItem, train

__all__ = ["FINALS", "PROCESS", "Arm", "ArmSpec", "Budget", "ModelArm"]


class Arm(Protocol):
    """Anything that makes images for a condition."""

    @property
    def name(self) -> str: ...

    @property
    def denoiser(self) -> UNet2DModel | None: ...

    def generate(self, class_id: int, count: int, seed: int) -> torch.Tensor: ...


@dataclass(frozen=True)
class Budget:
    """What every arm of one training seed shares: the model shape, the training run and the
    sampler."""

    model: ModelConfig
    train: TrainConfig
    sample_steps: int


@dataclass(frozen=True)
class ArmSpec:
    """How to build an arm: its name, what it learns from (said in the report) and the build."""

    name: str
    learns_from: str
    build: Callable[[Stages, Budget], Arm]
    answers_other_roles: bool = False  # asked for sketch, attempt, failure, revision too


@dataclass(frozen=True)
class ModelArm:
    """A trained UNet sampled with DDIM at the bench's steps, no guidance (scale 1)."""

    name: str
    denoiser: UNet2DModel
    config: ModelConfig
    sample_steps: int
    trained_items: int
    final_loss: float

    @functools.cached_property
    def pipeline(self) -> MuseumPipeline:
        """Built once per arm (a pipeline wraps its UNet in an ensemble: not free)."""
        return MuseumPipeline(
            unets=self.denoiser,
            scheduler=sampling_scheduler(self.config),
            null_class_id=self.config.null_class_id,
        )

    def generate(self, class_id: int, count: int, seed: int) -> torch.Tensor:
        out = self.pipeline([class_id] * count, seed=seed, num_inference_steps=self.sample_steps)
        return out.samples


def _trained(name: str, stages: Stages, budget: Budget) -> ModelArm:
    items = [
        TrainingItem(f"{name}-{i}", stages.images[i], int(stages.class_ids[i]))
        for i in range(len(stages))
    ]
    quiet = dataclasses.replace(budget.train, log_every=0, sample_every=0, checkpoint_every=0)
    result = train(items, budget.model, quiet, device="cpu")
    return ModelArm(
        name=name,
        denoiser=result.model,
        config=budget.model,
        sample_steps=budget.sample_steps,
        trained_items=len(items),
        final_loss=result.final_loss,
    )


PROCESS = ArmSpec(
    name="process",
    learns_from="every stage of the consented donations (sketch … final), label (role, emotion)",
    build=lambda stages, budget: _trained("process", stages, budget),
    answers_other_roles=True,
)
FINALS = ArmSpec(
    name="finals",
    learns_from="the final stages of the same donations, label (final, emotion)",
    build=lambda stages, budget: _trained("finals", stages.of_role(FINAL), budget),
)
