"""Per-example gradient features of a diffusion model, batched with `torch.func`.

TRAK and D-TRAK both start from the gradient, with respect to all trainable weights, of a scalar
*output function* of one example. Diffusion losses are random (timestep and noise), so the
output is averaged over K fixed timesteps with noise drawn from a generator seeded by the
example's index: the same seed and index always give the same noise, which makes a rebuilt index
identical to the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import torch
from torch.func import functional_call, grad, vmap

from attribution._seeding import check_seed, derived_generator
from attribution.scoring import unit_rows

__all__ = [
    "OUTPUT_FUNCTIONS",
    "GradientComputer",
    "OutputFunction",
    "loss_output",
    "square_norm_output",
    "timestep_groups_of",
]

# An output function maps the predicted noise and the true noise, each (K, C, H, W) for one
# example at its K timesteps, to K scalars; the feature is the gradient of their mean.
OutputFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_output(predicted: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """TRAK: the DDPM epsilon-MSE, exactly `generation.training.denoising_loss` per timestep."""
    return ((predicted.float() - noise.float()) ** 2).mean(dim=(1, 2, 3))


def square_norm_output(predicted: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """D-TRAK: the squared L2 norm of the predicted noise (the true noise is not used).

    Summed over pixels, as in the D-TRAK paper; the scale only shifts the effective
    regularisation of the scorer.
    """
    del noise
    return (predicted.float() ** 2).sum(dim=(1, 2, 3))


# Registry: add a third output function by adding an entry here (or passing a callable).
OUTPUT_FUNCTIONS: dict[str, OutputFunction] = {
    "loss": loss_output,
    "square_norm": square_norm_output,
}


def resolve_output(output: str | OutputFunction) -> OutputFunction:
    """The output function named `output` (or `output` itself when it is a callable)."""
    if callable(output):
        return output
    if not isinstance(output, str) or output not in OUTPUT_FUNCTIONS:
        known = ", ".join(sorted(OUTPUT_FUNCTIONS))
        raise ValueError(f"unknown output function {output!r}; expected one of: {known}")
    return OUTPUT_FUNCTIONS[output]


def noise_schedule(
    scheduler: object, timesteps: Sequence[int]
) -> tuple[torch.Tensor, tuple[int, ...]]:
    """The scheduler's cumulative alphas (float32, CPU) and the checked timesteps."""
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if not isinstance(alphas, torch.Tensor) or alphas.ndim != 1:
        raise ValueError("scheduler must be a DDPM-style scheduler with alphas_cumprod")
    limit = int(alphas.shape[0])
    if isinstance(timesteps, str | bytes) or not isinstance(timesteps, Sequence):
        raise ValueError("timesteps must be a sequence of integers")
    steps = list(timesteps)
    if not steps:
        raise ValueError("timesteps must name at least one timestep")
    for t in steps:
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < limit:
            raise ValueError(f"timesteps must be integers in 0..{limit - 1}, got {t!r}")
    return alphas.detach().to("cpu", torch.float32), tuple(steps)


def timestep_groups_of(count: int, groups: int) -> tuple[tuple[int, int], ...]:
    """[start, stop) bounds of `groups` contiguous, equal groups of `count` timesteps."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(
            f"the number of timestep groups must be a positive integer, got {groups!r}"
        )
    if count % groups:
        raise ValueError(f"{groups} timestep groups do not divide K = {count} timesteps evenly")
    width = count // groups
    return tuple((g * width, (g + 1) * width) for g in range(groups))


class GradientComputer:
    """Per-example gradients of an output function, averaged over fixed timesteps and noise.

    `compute` returns a (batch, p) float32 matrix, p being the number of trainable parameters
    in `model.named_parameters()` order; it runs at most `batch_size` examples, and at most
    `max_samples` (examples × timesteps) UNet samples, per vmap call. Noise for example
    `index` in stream `stream` comes from a generator seeded by (seed, stream, index), so it
    does not depend on batching or order.
    With `timestep_groups` G > 1 the K timesteps are cut into G contiguous groups and a row is
    the mean of the groups' unit-length gradients: why — gradient norms differ by orders of
    magnitude between timesteps, so a plain mean is ruled by a few of them (Diffusion-ReTrac's
    timestep bias, Xie et al. 2024); the noise is the same as with G = 1.
    The model is put in eval mode (no dropout) and its weights are read, never changed.
    With `context_channels` c > 0 the last c channels of each image are conditioning (the
    previous stage, for the continuation model): they are concatenated, un-noised, to the
    noisy first channels as the model's input, and the output compares only the first ones.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        scheduler: object,
        output: str | OutputFunction = "loss",
        timesteps: Sequence[int] = (100, 300, 500, 700, 900),
        seed: int = 0,
        batch_size: int = 16,
        max_samples: int = 160,
        timestep_groups: int = 1,
        context_channels: int = 0,
    ) -> None:
        self.output_function = resolve_output(output)
        if isinstance(context_channels, bool) or not isinstance(context_channels, int):
            raise ValueError(f"context_channels must be an integer, got {context_channels!r}")
        if context_channels < 0:
            raise ValueError(f"context_channels must not be negative, got {context_channels}")
        self.context_channels = context_channels
        self.seed = check_seed(seed)
        for name, value in (("batch_size", batch_size), ("max_samples", max_samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._alphas, self.timesteps = noise_schedule(scheduler, timesteps)
        self.groups = timestep_groups_of(len(self.timesteps), timestep_groups)
        # Each example runs the UNet at one group's timesteps per vmap call, so a call holds
        # the activations of (examples × group size) samples: cap that product, or K = 100
        # takes ten times the memory.
        group_size = len(self.timesteps) // len(self.groups)
        self.batch_size = max(1, min(batch_size, max_samples // group_size))
        self.model = model.eval()
        self.params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
        self.buffers = {k: v.detach() for k, v in model.named_buffers()}
        if not self.params:
            raise ValueError("model has no trainable parameters")
        self.num_params = sum(v.numel() for v in self.params.values())

    def noise_for(self, index: int, shape: Sequence[int], stream: str = "train") -> torch.Tensor:
        """The fixed (K, *shape) noise of example `index` in `stream`."""
        generator = derived_generator(self.seed, stream, index)
        return torch.randn((len(self.timesteps), *shape), generator=generator)

    def _per_example(
        self,
        params: Mapping[str, torch.Tensor],
        image: torch.Tensor,
        label: torch.Tensor,
        noise: torch.Tensor,
        steps: torch.Tensor,
    ) -> torch.Tensor:
        """Mean output over `steps` for one example (the function vmap(grad) wraps)."""
        a = self._alphas.to(image.device)[steps].view(-1, 1, 1, 1)
        # 1. Noise the one image at its timesteps, as DDPMScheduler.add_noise does; trailing
        # context channels (a continuation model's previous stage) are shown as they are.
        split = image.shape[0] - self.context_channels
        target, context = image[:split], image[split:]
        noisy = a.sqrt() * target.unsqueeze(0) + (1.0 - a).sqrt() * noise
        if self.context_channels:
            noisy = torch.cat([noisy, context.unsqueeze(0).expand(noisy.shape[0], -1, -1, -1)], 1)
        # 2. Predict the noise with the weights given (functional call: vmap/grad can trace it).
        labels = label.expand(steps.shape[0])
        state = {**self.buffers, **params}
        out = functional_call(self.model, state, (noisy, steps), {"class_labels": labels})
        predicted = cast(torch.Tensor, getattr(out, "sample", out))
        # 3. Average the output function over the timesteps.
        return self.output_function(predicted, noise).mean()

    def compute(
        self,
        images: torch.Tensor,
        class_ids: torch.Tensor | Sequence[int],
        indices: Sequence[int] | None = None,
        stream: str = "train",
    ) -> torch.Tensor:
        """Per-example gradients, (N, p) float32 on the CPU, computed `batch_size` at a time.

        `indices` (default 0..N-1) name each example for its noise; pass the item's position in
        the training set so that any subset or order gives the same rows.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError("images must be an (N, C, H, W) tensor")
        n = images.shape[0]
        labels = torch.as_tensor(class_ids, dtype=torch.long)
        if labels.shape != (n,):
            raise ValueError(f"class_ids must hold {n} values, one per image")
        idx = list(range(n)) if indices is None else list(indices)
        if len(idx) != n:
            raise ValueError(f"indices must hold {n} values, one per image")
        device = next(iter(self.params.values())).device
        per_example = vmap(grad(self._per_example), in_dims=(None, 0, 0, 0, None))
        steps = torch.tensor(self.timesteps, dtype=torch.long, device=device)
        rows: list[torch.Tensor] = []
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            # 1. Fixed noise for each example of the batch, from its own seeded generator.
            shape = (images.shape[1] - self.context_channels, *images.shape[2:])
            noise = torch.stack([self.noise_for(i, shape, stream) for i in idx[start:stop]]).to(
                device
            )
            batch = images[start:stop].to(device, torch.float32)
            batch_labels = labels[start:stop].to(device)
            row = torch.zeros((stop - start, self.num_params), device=device)
            for lo, hi in self.groups:
                # 2. Per-example gradients of the output averaged over one group's timesteps.
                grads = per_example(self.params, batch, batch_labels, noise[:, lo:hi], steps[lo:hi])
                # 3. Flatten each example's gradients, in parameter order, into one row.
                flat = torch.cat([grads[k].reshape(stop - start, -1) for k in self.params], dim=1)
                # 4. Grouped: unit length per group, so no timestep rules the mean.
                row += unit_rows(flat) if len(self.groups) > 1 else flat
            rows.append((row / len(self.groups)).to("cpu", torch.float32))
        if not rows:
            return torch.empty((0, self.num_params), dtype=torch.float32)
        return torch.cat(rows, dim=0)
