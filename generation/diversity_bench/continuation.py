"""Arm "continuation" (C) of the diversity bench: the process continuation model, rolled out.

Trained with the bench's budget (the same UNet shape, steps, batch and seed as A and B, the
continuation UNet taking the previous stage as extra channels) on the consecutive stage pairs
of every training donation, in stage order, each labelled (next role, emotion, the donation
label's failure type). For a condition (final, emotion) each image starts from the sketch of a
training donation of that emotion, drawn by the seed (one draw per image, with replacement),
and is continued through `next_role` with `ContinuationPipeline` until a final, conditioned on
that donation's failure type. Roles no training pair leads to (the digits have no revision
stage) are skipped, so the rollout only asks for labels the model learnt.

Its `denoiser` is None: the bench's held-back loss is the stage model's (no previous image),
which this UNet does not answer.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel

from generation.diversity_bench.data import FINAL, Stages, emotion_of
from generation.model import sampling_scheduler
from generation.process.config import ContinuationConfig
from generation.process.model import continuation_class, next_role
from generation.process.pipeline import ContinuationPipeline
from generation.process.training import PairExample, train_continuation
from ledger.vocabulary import StageRole

if TYPE_CHECKING:
    from generation.diversity_bench.arms import Budget

__all__ = ["ContinuationArm", "build_continuation_arm", "stage_pairs"]

SKETCH = StageRole.SKETCH.value


def stage_pairs(stages: Stages) -> list[PairExample]:
    """Consecutive (previous, next) stages of each donation, in the order the part lists them
    (stage order within a donation), labelled (next role, emotion, the donation's failure
    type)."""
    pairs: list[PairExample] = []
    for i in range(1, len(stages)):
        if stages.donations[i] != stages.donations[i - 1]:
            continue
        emotion = emotion_of(int(stages.class_ids[i]))
        class_id = continuation_class(stages.roles[i], emotion, stages.failure_types[i])
        pairs.append(PairExample(f"pair-{i}", stages.images[i - 1], stages.images[i], class_id))
    return pairs


@dataclass(frozen=True)
class ContinuationArm:
    """A trained continuation UNet and the training sketches it rolls out from."""

    name: str
    unet: UNet2DModel
    config: ContinuationConfig
    sample_steps: int
    sketches: Stages  # the training part's sketches: where every rollout starts
    learnt_roles: frozenset[str]  # the next roles the training pairs carry
    trained_items: int
    final_loss: float

    @property
    def denoiser(self) -> UNet2DModel | None:
        return None  # the bench's held-back loss has no previous image to give

    @functools.cached_property
    def pipeline(self) -> ContinuationPipeline:
        return ContinuationPipeline(
            unet=self.unet,
            scheduler=sampling_scheduler(self.config.model),
            null_class_id=self.config.null_class_id,
        )

    def _roles_after_sketch(self) -> list[str]:
        roles: list[str] = []
        role: str | None = next_role(SKETCH)
        while role is not None:
            if role in self.learnt_roles:
                roles.append(role)
            role = next_role(role)
        if not roles or roles[-1] != FINAL:
            raise ValueError("the training pairs never lead to a final stage")
        return roles

    def generate(self, class_id: int, count: int, seed: int) -> torch.Tensor:
        """`count` finals of the condition's emotion, each rolled out from a seeded training
        sketch of that emotion."""
        emotion = emotion_of(class_id)
        mine = [
            i
            for i in range(len(self.sketches))
            if emotion_of(int(self.sketches.class_ids[i])) == emotion
        ]
        if not mine:
            raise ValueError(f"no training sketch carries the emotion {emotion!r}")
        rng = np.random.default_rng([seed, 71])
        chosen = rng.choice(mine, size=count, replace=True).tolist()
        current = self.sketches.images[torch.as_tensor(chosen, dtype=torch.long)]
        failures = [self.sketches.failure_types[i] for i in chosen]
        for role in self._roles_after_sketch():
            labels = [continuation_class(role, emotion, f) for f in failures]
            seeds = [int(s) for s in rng.integers(0, 2**62, size=count)]
            current = self.pipeline(
                current, labels, seeds, num_inference_steps=self.sample_steps
            ).samples
        return current


def build_continuation_arm(stages: Stages, budget: Budget) -> ContinuationArm:
    """Train the continuation model on the stage pairs of `stages` with the bench's budget."""
    pairs = stage_pairs(stages)
    config = ContinuationConfig(model=budget.model)
    quiet = dataclasses.replace(budget.train, log_every=0, sample_every=0, checkpoint_every=0)
    result = train_continuation(pairs, config, quiet, device="cpu")
    learnt = {stages.roles[int(p.item_id.removeprefix("pair-"))] for p in pairs}
    return ContinuationArm(
        name="continuation",
        unet=result.model,
        config=config,
        sample_steps=budget.sample_steps,
        sketches=stages.of_role(SKETCH),
        learnt_roles=frozenset(learnt),
        trained_items=len(pairs),
        final_loss=result.final_loss,
    )
