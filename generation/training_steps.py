"""The steps every training loop of the museum shares: the optimiser, one update, a checkpoint
and the result.

The stage model (`generation.training`) and the continuation model
(`generation.process.training`) differ in what they draw and how they score it; how the weights
then move, what a checkpoint holds and what a run returns is written once, here, so both keep
the same rules (clipping, schedule, EMA, finite losses, raw and EMA checkpoint hashes).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel

from generation.model import checkpoint_hash
from generation.presets import TrainConfig

__all__ = ["Checkpoint", "Optimisation", "TrainResult", "averaged", "cpu_state", "finish"]


@dataclass(frozen=True)
class Checkpoint:
    """Weights at a step, on the CPU, with their content hash (and the EMA weights' when EMA
    is on: those are what generation uses, the raw ones what attribution differentiates)."""

    step: int
    state_dict: dict[str, torch.Tensor]
    hash: str
    ema_state_dict: dict[str, torch.Tensor] | None = None
    ema_hash: str | None = None


@dataclass(frozen=True)
class TrainResult:
    """What a run produced.

    `model` is the UNet to generate with (EMA weights when EMA is on), on the CPU in eval mode,
    and `model_hash` its `checkpoint_hash`. `final_loss` is the mean loss over the last
    `log_every` steps (the last step alone when logging is off); `losses` has every step's.
    `steps_per_second` counts optimiser steps only, not previews or checkpoints.
    """

    model: UNet2DModel
    checkpoints: list[Checkpoint]
    final_loss: float
    losses: list[float]
    steps_per_second: float
    model_hash: str


def cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def averaged(model: UNet2DModel, ema: EMAModel | None) -> UNet2DModel:
    """The weights to generate with: a copy holding the EMA average, or the model itself."""
    if ema is None:
        return model
    copied = copy.deepcopy(model)
    ema.copy_to(copied.parameters())
    return copied


class Optimisation:
    """AdamW under the configured learning-rate schedule, with clipping and an optional EMA."""

    def __init__(self, model: UNet2DModel, train_config: TrainConfig) -> None:
        self.model = model
        self.config = train_config
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=train_config.learning_rate)
        self.lr_schedule: Any = get_scheduler(
            train_config.lr_schedule,
            optimizer=self.optimizer,
            num_warmup_steps=train_config.lr_warmup_steps,
            num_training_steps=train_config.steps,
        )
        self.ema = (
            EMAModel(model.parameters(), decay=train_config.ema_decay, use_ema_warmup=True)
            if train_config.ema
            else None
        )

    def update(self, loss: torch.Tensor, step: int) -> float:
        """Move the weights (gradients clipped), the learning rate and the EMA by one step;
        the step's loss, refused when it is no longer finite."""
        self.optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        self.lr_schedule.step()
        if self.ema is not None:
            self.ema.step(self.model.parameters())
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at step {step}; lower the rate")
        return value

    def checkpoint(self, step: int) -> Checkpoint:
        """The raw and (with EMA) averaged weights at `step`, copied to the CPU and hashed."""
        state = cpu_state(self.model)
        ema_state = cpu_state(averaged(self.model, self.ema)) if self.ema is not None else None
        return Checkpoint(
            step=step,
            state_dict=state,
            hash=checkpoint_hash(state),
            ema_state_dict=ema_state,
            ema_hash=checkpoint_hash(ema_state) if ema_state is not None else None,
        )

    def checkpoint_due(self, step: int) -> bool:
        """Periodically (`checkpoint_every`) and always at the last step."""
        every = self.config.checkpoint_every
        return (every > 0 and step % every == 0) or step == self.config.steps


def finish(
    optimisation: Optimisation,
    checkpoints: list[Checkpoint],
    losses: Sequence[float],
    seconds: float,
) -> TrainResult:
    """The run's result: the weights to generate with, on the CPU in eval mode."""
    config = optimisation.config
    final = averaged(optimisation.model, optimisation.ema)
    final.to("cpu")  # type: ignore[arg-type]
    final.eval()
    tail = losses[-config.log_every :] if config.log_every > 0 else losses[-1:]
    return TrainResult(
        model=final,
        checkpoints=checkpoints,
        final_loss=sum(tail) / len(tail),
        losses=list(losses),
        steps_per_second=config.steps / seconds,
        model_hash=checkpoint_hash(final),
    )
