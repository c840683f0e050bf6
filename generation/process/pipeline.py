"""Sampling the next stage: DDIM over the continuation UNet, one seed per proposal."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.schedulers.scheduling_ddim import DDIMScheduler

from generation.model import tensor_to_png
from generation.process.model import model_input
from generation.sampling import MAX_INFERENCE_STEPS, MAX_SEED, MuseumPipelineOutput

__all__ = ["ContinuationPipeline"]


class ContinuationPipeline(DiffusionPipeline):
    """Next stages of given previous stages, conditioned on labels.

    Parameters:
        unet: a continuation `UNet2DModel` (`build_continuation_unet`): twice the output
            channels in, the noise of the next stage out.
        scheduler: a `DDIMScheduler` over the training betas.
        null_class_id: the model's "no label" class, for classifier-free guidance.
    """

    def __init__(
        self, unet: UNet2DModel, scheduler: DDIMScheduler, null_class_id: int | None = None
    ) -> None:
        super().__init__()
        if int(unet.config["in_channels"]) != 2 * int(unet.config["out_channels"]):
            raise ValueError("a continuation UNet takes twice as many channels as it makes")
        self.register_modules(unet=unet, scheduler=scheduler)  # type: ignore[no-untyped-call]
        self.register_to_config(null_class_id=null_class_id)  # type: ignore[no-untyped-call]
        self.set_progress_bar_config(disable=True)  # type: ignore[no-untyped-call]

    def check_inputs(
        self,
        previous: torch.Tensor,
        class_ids: Sequence[int],
        seeds: Sequence[int],
        num_inference_steps: int,
        guidance_scale: float,
    ) -> None:
        """Refuse a request before any work: shapes, ids, seeds, steps and guidance."""
        config = self.unet.config
        size, channels = int(config["sample_size"]), int(config["out_channels"])
        if not isinstance(previous, torch.Tensor) or tuple(previous.shape[1:]) != (
            channels,
            size,
            size,
        ):
            raise ValueError(f"previous must be an (N, {channels}, {size}, {size}) tensor")
        if not len(class_ids) == len(seeds) == previous.shape[0] > 0:
            raise ValueError("give one class id and one seed per previous image, at least one")
        n_classes = int(config["num_class_embeds"])
        for c in class_ids:
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
                raise ValueError(f"class id must be an integer in 0..{n_classes - 1}, got {c!r}")
        for seed in seeds:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
                raise ValueError(f"seed must be an integer in 0..2**63-1, got {seed!r}")
        limit = min(MAX_INFERENCE_STEPS, int(self.scheduler.config["num_train_timesteps"]))
        if isinstance(num_inference_steps, bool) or not 1 <= num_inference_steps <= limit:
            raise ValueError(f"num_inference_steps must lie in 1..{limit}")
        if not math.isfinite(guidance_scale):
            raise ValueError(f"guidance_scale must be finite, got {guidance_scale!r}")
        if guidance_scale != 1.0 and self.config["null_class_id"] is None:
            raise ValueError("classifier-free guidance needs a model with a null class")

    @torch.no_grad()
    def __call__(
        self,
        previous: torch.Tensor,
        class_ids: Sequence[int],
        seeds: Sequence[int],
        num_inference_steps: int = 50,
        *,
        guidance_scale: float = 1.0,
        device: str | torch.device | None = None,
    ) -> MuseumPipelineOutput:
        """One next stage per previous image, each from its own seed (noise drawn on the CPU,
        so proposal i is the same whatever else is asked with it). `guidance_scale` above 1
        guides against the unconditional model (blank previous image and null label)."""
        # 1. Check the request.
        self.check_inputs(previous, class_ids, seeds, num_inference_steps, guidance_scale)
        if device is not None:
            self.to(device)
        run_on = self._execution_device
        dtype = self.unet.dtype

        # 2. Draw each proposal's starting noise from its own seeded generator.
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        shape = tuple(previous.shape[1:])
        sample = torch.stack([torch.randn(shape, generator=g) for g in generators])
        sample = sample.to(run_on, dtype)
        context = previous.to(run_on, dtype)
        labels = torch.tensor(list(class_ids), dtype=torch.long, device=run_on)
        guided = guidance_scale != 1.0
        if guided:
            context = torch.cat([context, torch.zeros_like(context)])
            labels = torch.cat([labels, torch.full_like(labels, self.config["null_class_id"])])

        # 3. Set the DDIM timesteps.
        self.scheduler.set_timesteps(num_inference_steps, device=run_on)
        for t in self.progress_bar(self.scheduler.timesteps):
            # 4. Predict the noise given the previous stage (guided if asked).
            if guided:
                both = self.unet(model_input(torch.cat([sample, sample]), context), t, labels)
                conditional, unconditional = both.sample.chunk(2)
                noise = unconditional + guidance_scale * (conditional - unconditional)
            else:
                noise = self.unet(model_input(sample, context), t, class_labels=labels).sample
            # 5. Step x_t -> x_{t-1} (eta 0: deterministic).
            sample = self.scheduler.step(noise, t, sample, eta=0.0).prev_sample

        # 6. Convert to uint8 images and PNG bytes.
        samples = sample.detach().float().cpu().clamp(-1.0, 1.0)
        images = ((samples + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return MuseumPipelineOutput(
            images=images, png=[tensor_to_png(s) for s in samples], samples=samples
        )
