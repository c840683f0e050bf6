"""Failure-stage features in the deployed model's own eyes: pooled UNet mid-block activations.

The choice, and why:
- **The mid block** (the UNet's bottleneck) is where the model holds the most compressed,
  least pixel-bound picture of an image: layout and strokes, not single pixels. Two failures
  that the model denoises alike sit close here even when their pixels differ.
- **The null class** (no label): the features compare images, not labels; the labels choose
  the candidates instead (`generation.similar.service`). A model trained without a null class
  sees every image under one fixed label (failure, calm), for the same reason.
- **A fixed, light noise level** (`timestep` 100 of 1000: about 90 % of the signal is left),
  **a fixed noise seed** and **a few draws averaged**: the model sees each image as it does
  late in denoising, and the same image always gives the same vector on the same CPU setup.
- **Average pooling to a 2×2 grid**, flattened and L2-normalised per shard: position survives
  coarsely, a shard ensemble concatenates its members (each counts alike), and similarity is
  the cosine between the vectors taken from the mean of the indexed stages (from an empty
  page's, `blank_page`, while fewer than two are indexed): what the model answers to any image
  is left out of the comparison.

Pure: tensors in, tensors out; no ledger, no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel

from generation.model import label_to_class, training_scheduler
from generation.presets import ModelConfig
from ledger.vocabulary import Emotion, StageRole

__all__ = ["FEATURE_SETTINGS", "FeatureSettings", "blank_page", "failure_features"]


@dataclass(frozen=True)
class FeatureSettings:
    """How a stage becomes a vector; part of the index's key, so a change rebuilds it."""

    layer: str = "mid_block"
    timestep: int = 100
    noise_seed: int = 0
    draws: int = 4
    pool: int = 2
    metric: str = "cosine-centred"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FEATURE_SETTINGS = FeatureSettings()


def _class_ids(config: ModelConfig, n: int) -> torch.Tensor:
    """The null class when the model has one, else the failure label (at a neutral emotion)."""
    if config.null_class_id is not None:
        class_id = config.null_class_id
    else:
        class_id = label_to_class(StageRole.FAILURE.value, Emotion.CALM.value)
    return torch.full((n,), class_id, dtype=torch.long)


@torch.no_grad()
def _mid_block(unet: UNet2DModel, sample: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> Any:
    captured: list[torch.Tensor] = []
    mid = unet.mid_block
    if mid is None:
        raise ValueError("the model has no mid block to take features from")
    handle = mid.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        unet(sample, t, class_labels=y)
    finally:
        handle.remove()
    return captured[0]


def failure_features(
    unets: Sequence[UNet2DModel],
    config: ModelConfig,
    images: torch.Tensor,
    settings: FeatureSettings = FEATURE_SETTINGS,
    *,
    batch_size: int = 64,
) -> torch.Tensor:
    """(N, D) float32 unit vectors of an (N, C, R, R) batch in [-1, 1], D = shards × C_mid × pool²."""
    if images.ndim != 4 or tuple(images.shape[1:]) != (
        config.channels,
        config.resolution,
        config.resolution,
    ):
        raise ValueError(
            f"images must be (N, {config.channels}, {config.resolution}, {config.resolution}), "
            f"got {tuple(images.shape)}"
        )
    if not unets:
        raise ValueError("no model to take features from")
    n = images.shape[0]
    scheduler = training_scheduler(config)
    generator = torch.Generator("cpu").manual_seed(settings.noise_seed)
    # One noise per draw, shared by every image: the same image always meets the same noise.
    noise = torch.randn((settings.draws, *images.shape[1:]), generator=generator)
    parts: list[torch.Tensor] = []
    for unet in unets:
        device = unet.device
        chunks: list[torch.Tensor] = []
        for start in range(0, n, batch_size):
            x0 = images[start : start + batch_size].float()
            m = x0.shape[0]
            pooled = None
            for draw in range(settings.draws):
                eps = noise[draw].expand_as(x0)
                t = torch.full((m,), settings.timestep, dtype=torch.long)
                noisy = scheduler.add_noise(x0, eps, cast(torch.IntTensor, t))
                out = _mid_block(
                    unet, noisy.to(device), t.to(device), _class_ids(config, m).to(device)
                )
                grid = F.adaptive_avg_pool2d(out.float().cpu(), settings.pool).flatten(1)
                pooled = grid if pooled is None else pooled + grid
            assert pooled is not None
            chunks.append(F.normalize(pooled / settings.draws, dim=1))
        parts.append(torch.cat(chunks) if chunks else torch.empty(0))
    if n == 0:
        return torch.empty((0, 0), dtype=torch.float32)
    return F.normalize(torch.cat(parts, dim=1), dim=1).contiguous()


def blank_page(config: ModelConfig) -> torch.Tensor:
    """An empty white page, (1, C, R, R) in [-1, 1]: the origin similarities are measured from."""
    return torch.ones((1, config.channels, config.resolution, config.resolution))
