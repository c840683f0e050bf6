"""Training the continuation model on consecutive stage pairs, reproducibly.

Pure like `generation.training.train`: pairs and configs in, weights, checkpoints and losses
out; the ledger is the caller's business (callbacks). It shares that module's seeding,
batching, EMA and checkpoint rules, so a seed gives the same checkpoint hashes on the same CPU
setup and a retried run can be checked against what it recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from generation.model import images_to_tensor, training_scheduler
from generation.presets import TrainConfig
from generation.process.config import ContinuationConfig
from generation.process.model import build_continuation_unet, continuation_loss
from generation.training import (
    Progress,
    _batches,
    _deterministic,
    _pick_device,
    _sampling_weights,
)
from generation.training_steps import Checkpoint, Optimisation, TrainResult, finish

__all__ = ["PairExample", "train_continuation"]


class PairExample(NamedTuple):
    """One consented pair: its ledger id (the next stage's), the previous and the next image
    (encoded bytes, or (C, R, R) tensors in [-1, 1]) and the class id of `continuation_class`."""

    item_id: str
    previous: torch.Tensor | bytes
    image: torch.Tensor | bytes
    class_id: int


def _tensor(image: torch.Tensor | bytes, config: ContinuationConfig, what: str) -> torch.Tensor:
    shape = config.model
    if isinstance(image, torch.Tensor):
        tensor = image.detach().to("cpu", torch.float32)
    elif isinstance(image, bytes | bytearray):
        try:
            tensor = images_to_tensor([bytes(image)], shape)[0]
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    else:
        raise ValueError(f"{what} must be bytes or a tensor")
    expected = (shape.channels, shape.resolution, shape.resolution)
    if tuple(tensor.shape) != expected or not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{what} has shape {tuple(tensor.shape)} or non-finite values; {expected}")
    return tensor


def collect_pairs(
    pairs: Sequence[PairExample], config: ContinuationConfig
) -> tuple[list[str], torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate the pairs: their ids, previous images, next images and class ids, stacked."""
    if not pairs:
        raise ValueError("no training pairs: no consented series has two stages")
    ids = [pair.item_id for pair in pairs]
    if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
        raise ValueError("pair ids must be non-empty, unique strings")
    for pair in pairs:
        c = pair.class_id
        if (
            isinstance(c, bool)
            or not isinstance(c, int)
            or not 0 <= c < config.num_labelled_classes
        ):
            raise ValueError(
                f"pair {pair.item_id!r} has class id {c!r}; the null class is reserved"
            )
    previous = torch.stack([_tensor(p.previous, config, f"pair {p.item_id!r}") for p in pairs])
    images = torch.stack([_tensor(p.image, config, f"pair {p.item_id!r}") for p in pairs])
    labels = torch.tensor([p.class_id for p in pairs], dtype=torch.long)
    return ids, previous.contiguous(), images.contiguous(), labels


def train_continuation(
    pairs: Sequence[PairExample],
    config: ContinuationConfig,
    train_config: TrainConfig,
    *,
    device: str | torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    item_weights: Sequence[float] | None = None,
) -> TrainResult:
    """Train a fresh continuation UNet on `pairs` with the epsilon objective.

    Every random draw (weights, batches, timesteps, noise, both dropouts) comes from one CPU
    generator seeded with `train_config.seed`. Progress reports carry no preview grid.
    """
    run_on = _pick_device(device)
    ids, previous, images, labels = collect_pairs(pairs, config)
    weights = _sampling_weights(item_weights, len(ids))
    with _deterministic(run_on):
        generator = torch.Generator("cpu").manual_seed(train_config.seed)
        model = build_continuation_unet(config, seed=train_config.seed)
        model.to(run_on)  # type: ignore[arg-type]
        model.train()
        noise_scheduler = training_scheduler(config.model)
        optimisation = Optimisation(model, train_config)
        batches = _batches(len(ids), train_config.batch_size, weights, generator)
        null_id = config.null_class_id
        label_dropout = train_config.class_dropout if null_id is not None else 0.0
        losses: list[float] = []
        checkpoints: list[Checkpoint] = []
        seconds = 0.0
        window_start = 0
        for step in range(1, train_config.steps + 1):
            started = time.perf_counter()
            # 1. Draw a batch of pairs with the seeded generator.
            index = next(batches)
            x_prev, x0, y = previous[index], images[index], labels[index]

            # 2. Noise and timesteps; blank some previous images and drop some labels, apart.
            noise = torch.randn(x0.shape, generator=generator)
            t = torch.randint(
                0, config.model.num_train_timesteps, (len(index),), generator=generator
            )
            blank = torch.rand(len(index), generator=generator) < config.image_dropout
            x_prev = torch.where(blank.view(-1, 1, 1, 1), torch.zeros_like(x_prev), x_prev)
            if label_dropout > 0.0 and null_id is not None:
                dropped = torch.rand(len(index), generator=generator) < label_dropout
                y = torch.where(dropped, torch.full_like(y, null_id), y)

            # 3. Predict the noise of the next stage given the previous one.
            loss = continuation_loss(model, noise_scheduler, x_prev, x0, y, t, noise).mean()

            # 4. Update the weights (clipped), the learning rate and the EMA.
            losses.append(optimisation.update(loss, step))
            seconds += time.perf_counter() - started

            # 5. Report progress.
            if (
                on_progress is not None
                and train_config.log_every
                and not step % train_config.log_every
            ):
                window = losses[window_start:]
                on_progress(
                    Progress(step, train_config.steps, sum(window) / len(window), step / seconds)
                )
                window_start = step

            # 6. Checkpoint periodically and always at the end (raw and EMA weights).
            if optimisation.checkpoint_due(step):
                taken = optimisation.checkpoint(step)
                checkpoints.append(taken)
                if on_checkpoint is not None:
                    on_checkpoint(taken)

    return finish(optimisation, checkpoints, losses, seconds)
