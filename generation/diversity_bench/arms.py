"""The arms the diversity bench compares: each is something that makes images for a condition.

An arm is built by an `ArmSpec` from the training part of a data set, one training seed and the
shared budget, and then answers `generate(class_id, count, seed)` with (count, C, R, R) images in
[-1, 1]. The two arms of the issue are built here:

- "process" (A): the museum's stage model as `generation.service` trains it — every stage of
  the consented donations, conditioned on (role, emotion);
- "finals" (B): the same UNet, steps, batch and seed, trained on the final stages only.

"process-weighted" is A with its final stages drawn half the time, so that it sees finals about
as often as B does within the same steps. "continuation" (C, `diversity_bench.continuation`)
is the process continuation model rolled out from a training sketch to a final. Any `ArmSpec`
whose `build` returns something with `name`, `generate` and `denoiser` (the UNet whose
held-back denoising loss the bench reports, or None where that is not defined) plugs in.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from diffusers.models.unets.unet_2d import UNet2DModel

from generation.diversity_bench.continuation import build_continuation_arm
from generation.diversity_bench.data import FINAL, Stages
from generation.model import sampling_scheduler
from generation.presets import ModelConfig, TrainConfig
from generation.sampling import MuseumPipeline
from generation.training import TrainingItem, train

__all__ = [
    "ARMS",
    "CONTINUATION",
    "FINALS",
    "PROCESS",
    "PROCESS_WEIGHTED",
    "Arm",
    "ArmSpec",
    "Budget",
    "ModelArm",
]


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


def _trained(
    name: str, stages: Stages, budget: Budget, weights: list[float] | None = None
) -> ModelArm:
    items = [
        TrainingItem(f"{name}-{i}", stages.images[i], int(stages.class_ids[i]))
        for i in range(len(stages))
    ]
    quiet = dataclasses.replace(budget.train, log_every=0, sample_every=0, checkpoint_every=0)
    result = train(items, budget.model, quiet, device="cpu", item_weights=weights)
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


def _finals_half(stages: Stages) -> list[float]:
    """Sampling weights that draw final stages half the time, the other stages the other half."""
    finals = sum(role == FINAL for role in stages.roles)
    others = len(stages) - finals
    if not finals or not others:
        return [1.0] * len(stages)
    return [others / finals if role == FINAL else 1.0 for role in stages.roles]


PROCESS_WEIGHTED = ArmSpec(
    name="process-weighted",
    learns_from="every stage, as A, but final stages drawn half the time (weighted sampling)",
    build=lambda stages, budget: _trained("process-weighted", stages, budget, _finals_half(stages)),
    answers_other_roles=True,
)
FINALS = ArmSpec(
    name="finals",
    learns_from="the final stages of the same donations, label (final, emotion)",
    build=lambda stages, budget: _trained("finals", stages.of_role(FINAL), budget),
)

CONTINUATION = ArmSpec(
    name="continuation",
    learns_from=(
        "consecutive stage pairs of the same donations, label (next role, emotion, the "
        "donation label's failure type); rolled out from a seeded training sketch of the "
        "emotion to a final"
    ),
    build=build_continuation_arm,
)

ARMS: dict[str, ArmSpec] = {
    spec.name: spec for spec in (PROCESS, FINALS, PROCESS_WEIGHTED, CONTINUATION)
}
