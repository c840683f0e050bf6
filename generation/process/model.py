"""The continuation UNet, its label ids, its loss and the order of a process's roles."""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

from generation.model import EMOTIONS, ROLES
from generation.process.config import ContinuationConfig
from ledger.vocabulary import FailureType, StageRole

__all__ = [
    "FAILURE_TYPES",
    "build_continuation_unet",
    "continuation_class",
    "continuation_loss",
    "model_input",
    "next_role",
]

# Definition order of the vocabularies fixes the class ids; new members must be appended.
FAILURE_TYPES: tuple[str, ...] = tuple(member.value for member in FailureType)


def continuation_class(role: str, emotion: str, failure_type: str) -> int:
    """Class id of (next stage's role, emotion, failure type)."""
    for value, known, what in (
        (role, ROLES, "stage role"),
        (emotion, EMOTIONS, "emotion"),
        (failure_type, FAILURE_TYPES, "failure type"),
    ):
        if value not in known:
            raise ValueError(f"unknown {what} {value!r}; expected one of: {', '.join(known)}")
    stage_label = ROLES.index(role) * len(EMOTIONS) + EMOTIONS.index(emotion)
    return stage_label * len(FAILURE_TYPES) + FAILURE_TYPES.index(failure_type)


def next_role(role: str) -> str | None:
    """The role that follows `role` in a process (sketch → attempt → failure → revision →
    final), the order `StageRole` lists them in; None after the final."""
    order = list(StageRole)
    position = order.index(StageRole(role))
    return order[position + 1].value if position + 1 < len(order) else None


def build_continuation_unet(config: ContinuationConfig, *, seed: int = 0) -> UNet2DModel:
    """A fresh UNet taking (noisy next stage ‖ previous stage) and predicting the noise."""
    shape = config.model
    levels = len(shape.block_out_channels)
    attn = [shape.attention and level > 0 for level in range(levels)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet: UNet2DModel = UNet2DModel(
            sample_size=shape.resolution,
            in_channels=2 * shape.channels,
            out_channels=shape.channels,
            down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attn),
            up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attn)),
            block_out_channels=shape.block_out_channels,
            layers_per_block=shape.layers_per_block,
            norm_num_groups=shape.norm_num_groups,
            attention_head_dim=8,
            add_attention=shape.attention,
            num_class_embeds=config.num_class_embeddings,
            num_train_timesteps=shape.num_train_timesteps,
        )
    return unet


def model_input(noisy: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """What the UNet sees: the noisy next stage and the previous stage, channel-wise. A
    dropped previous image is all zeros (mid grey in [-1, 1])."""
    if noisy.shape != previous.shape:
        raise ValueError(
            f"previous images {tuple(previous.shape)} differ from the sample {tuple(noisy.shape)}"
        )
    return torch.cat([noisy, previous.to(noisy.dtype)], dim=1)


def continuation_loss(
    model: UNet2DModel,
    scheduler: DDPMScheduler,
    previous: torch.Tensor,
    images: torch.Tensor,
    class_ids: torch.Tensor,
    timesteps: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """Per-example epsilon MSE of the next stage given the previous one, shape (N,)."""
    device = model.device
    steps = timesteps.to(device)
    noisy = scheduler.add_noise(images.to(device), noise.to(device), cast(torch.IntTensor, steps))
    predicted = model(
        model_input(noisy, previous.to(device)), steps, class_labels=class_ids.to(device)
    ).sample
    return F.mse_loss(predicted.float(), noise.to(device).float(), reduction="none").mean(
        dim=(1, 2, 3)
    )
