"""How the erasure bench scores a model: per-item denoising loss under fixed draws, and the
loss-threshold membership attack on it.

A model that trained on an item tends to denoise it better than an item it never saw; the attack
calls an item a member when its loss is low. Each item's loss is the mean over the same fixed
(timestep, noise) draws for every model, so it is a stable number of the weights alone and two
models (before and after a retrain, or S = 1 against S = 8) are compared on identical inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from diffusers.models.unets.unet_2d import UNet2DModel
from sklearn.metrics import roc_auc_score

from generation.erasure_bench.figures import LossSpread, MembershipRead
from generation.model import training_scheduler
from generation.presets import ModelConfig
from generation.sampling import UNetEnsemble
from generation.training import denoising_loss

CONFIDENCE = 0.95


def spread_timesteps(config: ModelConfig, count: int) -> list[int]:
    """`count` timesteps spread evenly over the schedule, midpoints of equal bins."""
    span = config.num_train_timesteps
    return [min(span - 1, int((k + 0.5) * span / count)) for k in range(count)]


@dataclass(frozen=True)
class Probe:
    """Images with fixed timesteps and seeded noise, one draw per timestep."""

    images: torch.Tensor
    labels: torch.Tensor
    timesteps: list[int]
    noise: list[torch.Tensor]

    @classmethod
    def make(
        cls, images: torch.Tensor, labels: Sequence[int], timesteps: list[int], seed: int
    ) -> Probe:
        if images.ndim != 4 or images.shape[0] != len(labels) or not len(labels):
            raise ValueError("a probe needs an (N, C, H, W) batch and one label per image")
        generator = torch.Generator("cpu").manual_seed(seed)
        noise = [torch.randn(images.shape, generator=generator) for _ in timesteps]
        return cls(images, torch.tensor(list(labels), dtype=torch.long), timesteps, noise)

    def losses(self, model: UNet2DModel | UNetEnsemble, config: ModelConfig) -> np.ndarray:
        """Each item's epsilon MSE, averaged over the probe's draws: shape (N,).

        An ensemble goes through `denoising_loss` as it is (it averages its members' noise
        predictions, exactly what the pipeline generates with)."""
        scheduler = training_scheduler(config)
        n = self.images.shape[0]
        total = torch.zeros(n, dtype=torch.float64)
        model.eval()
        with torch.no_grad():
            for t, noise in zip(self.timesteps, self.noise, strict=True):
                losses = denoising_loss(
                    cast(UNet2DModel, model), scheduler, self.images, self.labels, [t] * n, noise
                )
                total += losses.double().cpu()
        return (total / len(self.timesteps)).numpy()


def spread(losses: np.ndarray) -> LossSpread:
    q1, median, q3 = (float(v) for v in np.quantile(losses, [0.25, 0.5, 0.75]))
    return LossSpread(n=int(losses.size), mean=float(losses.mean()), q1=q1, median=median, q3=q3)


def attack_auc(members: np.ndarray, others: np.ndarray) -> float:
    """AUC of the loss-threshold attack: members positive, a lower loss scores higher."""
    labels = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    return float(roc_auc_score(labels, -np.concatenate([members, others])))


def membership(
    erased: np.ndarray, never_seen: np.ndarray, *, resamples: int, seed: int
) -> MembershipRead:
    """The attack's AUC with a percentile bootstrap interval (each set resampled on its own)."""
    if erased.size < 1 or never_seen.size < 1:
        raise ValueError("the attack needs at least one erased and one never-seen item")
    rng = np.random.default_rng([seed, 17])
    draws = [
        attack_auc(
            erased[rng.integers(0, erased.size, erased.size)],
            never_seen[rng.integers(0, never_seen.size, never_seen.size)],
        )
        for _ in range(resamples)
    ]
    tail = (1.0 - CONFIDENCE) / 2 * 100
    low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
    return MembershipRead(
        erased=spread(erased),
        never_seen=spread(never_seen),
        auc=attack_auc(erased, never_seen),
        auc_low=low,
        auc_high=high,
    )
