"""Training the museum's diffusion model on consented items, reproducibly.

`train` is pure: it takes a snapshot of items (ids, images, class ids) and configs and returns
weights, checkpoints and losses; recording the run in the ledger is the caller's job, through
the `on_progress` and `on_checkpoint` callbacks. For a fixed seed it gives the same checkpoint
hashes on the same CPU setup, so a run can be replayed and checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple, cast

import torch
import torch.nn.functional as F

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

from generation.model import (
    build_unet,
    grid_png,
    images_to_tensor,
    sampling_scheduler,
    training_scheduler,
)
from generation.presets import ModelConfig, TrainConfig
from generation.sampling import MuseumPipeline
from generation.training_steps import Checkpoint, Optimisation, TrainResult, averaged, finish
from ledger.shards import shard_of

__all__ = [
    "Checkpoint",
    "Progress",
    "TrainResult",
    "TrainingItem",
    "denoising_loss",
    "sharded_assignment",
    "train",
]


class TrainingItem(NamedTuple):
    """One consented image: its ledger id, the image (PNG/JPEG/WebP bytes, or a (C, R, R) tensor
    already in [-1, 1]) and its class id from `label_to_class`."""

    item_id: str
    image: torch.Tensor | bytes
    class_id: int


@dataclass(frozen=True)
class Progress:
    """Reported every `log_every` steps (and with a preview grid every `sample_every` steps).

    `loss` is the mean per-step loss since the previous report.
    """

    step: int
    total_steps: int
    loss: float
    steps_per_second: float
    sample_png: bytes | None = None


def sharded_assignment(item_ids: Sequence[str], shards: int) -> dict[str, int]:
    """Shard of each key for compartmentalised training (`ledger.shards.shard_of`): sha256 of
    the key modulo `shards`, so a key keeps its shard as the collection grows. The museum's runs
    key by artist; benchmarks on bare images key by item id."""
    if isinstance(item_ids, str):
        raise ValueError("item_ids must be a sequence of ids, not one string")
    return {item_id: shard_of(item_id, shards) for item_id in item_ids}


def denoising_loss(
    model: UNet2DModel,
    scheduler: DDPMScheduler,
    images: torch.Tensor,
    class_ids: torch.Tensor | Sequence[int],
    timesteps: torch.Tensor | Sequence[int],
    noise: torch.Tensor,
) -> torch.Tensor:
    """Per-example epsilon-prediction MSE at given timesteps and noise, shape (N,).

    With timesteps and noise fixed it is a deterministic function of the weights, which is what
    held-back evaluation and training-data attribution need; gradients flow through it.
    """
    device = model.device
    if images.ndim != 4:
        raise ValueError(f"images must be an (N, C, H, W) batch, got shape {tuple(images.shape)}")
    if noise.shape != images.shape:
        raise ValueError(
            f"noise shape {tuple(noise.shape)} differs from images {tuple(images.shape)}"
        )
    labels = torch.as_tensor(class_ids, dtype=torch.long).to(device)
    steps = torch.as_tensor(timesteps, dtype=torch.long).to(device)
    n = images.shape[0]
    if labels.shape != (n,) or steps.shape != (n,):
        raise ValueError(f"class_ids and timesteps must each hold {n} values, one per image")
    limit = int(scheduler.config["num_train_timesteps"])
    if bool(((steps < 0) | (steps >= limit)).any()):
        raise ValueError(f"timesteps must lie in 0..{limit - 1}")
    x0 = images.to(device)
    eps = noise.to(device)
    noisy = scheduler.add_noise(x0, eps, cast(torch.IntTensor, steps))
    predicted = model(noisy, steps, class_labels=labels).sample
    return F.mse_loss(predicted.float(), eps.float(), reduction="none").mean(dim=(1, 2, 3))


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels for the duration of a run, restoring the caller's setting after.

    On CUDA some kernels have no deterministic version (and cuBLAS needs an environment variable
    set before start-up), so there it warns instead of failing. Filling fresh memory with NaN (a
    debugging aid that comes with the setting) is switched off: it cost about a fifth of the
    step time of the tiny model and changes no result.
    """
    settings = torch.utils.deterministic
    was_on = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    was_filling = settings.fill_uninitialized_memory  # type: ignore[attr-defined]
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    settings.fill_uninitialized_memory = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=was_warn_only)
        settings.fill_uninitialized_memory = was_filling  # type: ignore[attr-defined]


def _collect(
    items: Sequence[TrainingItem], config: ModelConfig
) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Validate the items and stack them into one CPU image tensor and one label tensor."""
    if not items:
        raise ValueError("no training items: the snapshot of consented items is empty")
    expected = (config.channels, config.resolution, config.resolution)
    ids: list[str] = []
    seen: set[str] = set()
    tensors: list[torch.Tensor] = []
    for index, item in enumerate(items):
        item_id, image, class_id = item
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"item {index} has no string id")
        if item_id in seen:
            raise ValueError(f"item id {item_id!r} appears more than once")
        seen.add(item_id)
        ids.append(item_id)
        if (
            isinstance(class_id, bool)
            or not isinstance(class_id, int)
            or not 0 <= class_id < config.num_labelled_classes
        ):
            raise ValueError(
                f"item {item_id!r} has class id {class_id!r}; expected an integer in "
                f"0..{config.num_labelled_classes - 1} (the null class is reserved)"
            )
        if isinstance(image, torch.Tensor):
            tensor = image.detach().to("cpu", torch.float32)
        elif isinstance(image, bytes | bytearray):
            try:
                tensor = images_to_tensor([bytes(image)], config)[0]
            except ValueError as exc:
                raise ValueError(f"item {item_id!r}: {exc}") from None
        else:
            raise ValueError(f"item {item_id!r} image must be bytes or a tensor")
        if tuple(tensor.shape) != expected:
            raise ValueError(
                f"item {item_id!r} image has shape {tuple(tensor.shape)} after conversion; "
                f"the model needs {expected}"
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"item {item_id!r} image has non-finite values")
        tensors.append(tensor)
    images = torch.stack(tensors).contiguous()
    labels = torch.tensor([item.class_id for item in items], dtype=torch.long)
    return ids, images, labels


def _sampling_weights(weights: Sequence[float] | None, n: int) -> torch.Tensor | None:
    if weights is None:
        return None
    w = torch.tensor([float(x) for x in weights], dtype=torch.float64)
    if w.shape != (n,):
        raise ValueError(f"item_weights has {w.numel()} values for {n} items")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError("item_weights must be finite, non-negative and not all zero")
    return w


def _batches(
    n: int, batch_size: int, weights: torch.Tensor | None, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """Indices of each batch: shuffled passes over the items, or weighted draws with replacement."""
    if weights is not None:
        while True:
            yield torch.multinomial(weights, batch_size, replacement=True, generator=generator)
    order = torch.empty(0, dtype=torch.long)
    while True:
        while order.numel() < batch_size:
            order = torch.cat([order, torch.randperm(n, generator=generator)])
        yield order[:batch_size]
        order = order[batch_size:]


def _preview(
    model: UNet2DModel,
    model_config: ModelConfig,
    train_config: TrainConfig,
    class_ids: list[int],
) -> bytes:
    """A small grid from a few DDIM steps, from its own generator so training RNG is untouched."""
    pipe = MuseumPipeline(
        unets=model,
        scheduler=sampling_scheduler(model_config),
        null_class_id=model_config.null_class_id,
    )
    out = pipe(class_ids, seed=train_config.seed, num_inference_steps=train_config.sample_steps)
    return grid_png(out.samples)


def train(
    items: Sequence[TrainingItem],
    model_config: ModelConfig,
    train_config: TrainConfig,
    *,
    device: str | torch.device | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_checkpoint: Callable[[Checkpoint], None] | None = None,
    item_weights: Sequence[float] | None = None,
) -> TrainResult:
    """Train a fresh UNet on `items` with the DDPM epsilon objective.

    All randomness (initial weights, batches, timesteps, noise, label dropout) comes from
    generators seeded with `train_config.seed`, drawn on the CPU, so a run is reproducible and
    the random stream does not depend on the device. `item_weights` switches from shuffled
    passes to weighted sampling with replacement (e.g. for attribution subsets or re-weighting).
    Uses CUDA when available unless `device` says otherwise.
    """
    run_on = _pick_device(device)
    ids, images, labels = _collect(items, model_config)
    weights = _sampling_weights(item_weights, len(ids))
    preview_ids = list(dict.fromkeys(labels.tolist()))[: train_config.sample_count]

    with _deterministic(run_on):
        generator = torch.Generator("cpu").manual_seed(train_config.seed)
        model = build_unet(model_config, seed=train_config.seed)
        # ModelMixin.to is wrapped with functools.wraps(nn.Module.to), which hides `self` from mypy.
        model.to(run_on)  # type: ignore[arg-type]
        model.train()
        noise_scheduler = training_scheduler(model_config)
        optimisation = Optimisation(model, train_config)
        ema = optimisation.ema
        batches = _batches(len(ids), train_config.batch_size, weights, generator)
        null_id = model_config.null_class_id
        dropout = train_config.class_dropout if null_id is not None else 0.0
        losses: list[float] = []
        checkpoints: list[Checkpoint] = []
        train_seconds = 0.0
        window_start = 0

        for step in range(1, train_config.steps + 1):
            started = time.perf_counter()
            # 1. Draw a batch of items with the seeded generator.
            index = next(batches)
            x0 = images[index]
            y = labels[index]

            # 2. Draw noise and timesteps; drop some labels to the null class for guidance.
            noise = torch.randn(x0.shape, generator=generator)
            t = torch.randint(
                0, model_config.num_train_timesteps, (x0.shape[0],), generator=generator
            )
            if dropout > 0.0 and null_id is not None:
                dropped = torch.rand(x0.shape[0], generator=generator) < dropout
                y = torch.where(dropped, torch.full_like(y, null_id), y)

            # 3. Forward-diffuse and predict the noise: the epsilon objective.
            loss = denoising_loss(
                model, noise_scheduler, x0.to(run_on), y, t, noise.to(run_on)
            ).mean()

            # 4. Update the weights (clipped), the learning rate and the EMA.
            losses.append(optimisation.update(loss, step))
            train_seconds += time.perf_counter() - started

            # 5. Report progress, with a preview grid when one is due.
            log_due = train_config.log_every > 0 and step % train_config.log_every == 0
            sample_due = train_config.sample_every > 0 and step % train_config.sample_every == 0
            if on_progress is not None and (log_due or sample_due):
                preview = None
                if sample_due:
                    model.eval()
                    preview = _preview(
                        averaged(model, ema), model_config, train_config, preview_ids
                    )
                    model.train()
                window = losses[window_start:]
                on_progress(
                    Progress(
                        step=step,
                        total_steps=train_config.steps,
                        loss=sum(window) / len(window),
                        steps_per_second=step / train_seconds,
                        sample_png=preview,
                    )
                )
            if log_due:
                window_start = step

            # 6. Checkpoint periodically and always at the end.
            if optimisation.checkpoint_due(step):
                taken = optimisation.checkpoint(step)
                checkpoints.append(taken)
                if on_checkpoint is not None:
                    on_checkpoint(taken)

    return finish(optimisation, checkpoints, losses, train_seconds)
