"""Generation from the museum's model: a diffusers pipeline over one UNet or a shard ensemble.

Compartmentalised training (SISA-style exact unlearning) trains S shard UNets on disjoint parts
of the collection; erasing a donation retrains only its shard. Generation averages the shards'
noise predictions at every denoising step, so an ensemble of identical shards behaves exactly
like one model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.modeling_utils import ModelMixin
from diffusers.models.unets.unet_2d import UNet2DModel, UNet2DOutput
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.utils.outputs import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from numpy.typing import NDArray

from generation.model import tensor_to_png

__all__ = [
    "MAX_INFERENCE_STEPS",
    "MAX_SEED",
    "MuseumPipeline",
    "MuseumPipelineOutput",
    "UNetEnsemble",
]

MAX_INFERENCE_STEPS = 1000
MAX_SEED = 2**63 - 1


@dataclass
class MuseumPipelineOutput(BaseOutput):
    """What one call generates, in the three forms later code needs.

    `images` is (N, H, W, C) uint8 for display, `png` the encoded bytes to store and hash, and
    `samples` the (N, C, H, W) float tensor in [-1, 1] on the CPU for attribution.
    """

    images: NDArray[np.uint8]
    png: list[bytes]
    samples: torch.Tensor


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in 0..2**63-1, got {seed!r}")
    return seed


_SHAPE_KEYS = ("sample_size", "in_channels", "out_channels", "num_class_embeds")


# Same bases as diffusers' own models; mypy objects to their two `config_name` annotations.
class UNetEnsemble(ModelMixin, ConfigMixin):  # type: ignore[misc]
    """Shard UNets of one shape whose noise predictions are averaged.

    A diffusers model in its own right (so a pipeline can move, save and load it): the config
    holds the members' UNet config and their number, the weights are `shards.<i>.*`.
    """

    def __init__(self, unet_config: dict[str, Any], num_shards: int = 1) -> None:
        # ModelMixin.__init__ and register_to_config are unannotated in diffusers.
        super().__init__()  # type: ignore[no-untyped-call]
        if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
            raise ValueError(f"num_shards must be a positive integer, got {num_shards!r}")
        self.register_to_config(unet_config=unet_config, num_shards=num_shards)  # type: ignore[no-untyped-call]
        self.shards = torch.nn.ModuleList(
            UNet2DModel.from_config(unet_config) for _ in range(num_shards)
        )

    @classmethod
    def from_unets(cls, unets: Sequence[UNet2DModel]) -> UNetEnsemble:
        """Wrap trained UNets as they are (no copy), after checking they share one shape."""
        members = list(unets)
        if not members:
            raise ValueError("an ensemble needs at least one UNet")
        if not all(isinstance(m, UNet2DModel) for m in members):
            raise ValueError("every ensemble member must be a diffusers UNet2DModel")
        first = {k: members[0].config[k] for k in _SHAPE_KEYS}
        if first["num_class_embeds"] is None:
            raise ValueError("the UNets must be class-conditioned (num_class_embeds set)")
        for index, member in enumerate(members[1:], start=1):
            other = {k: member.config[k] for k in _SHAPE_KEYS}
            if other != first:
                raise ValueError(f"shard {index} has {other}, but shard 0 has {first}")
        # Build the container on the meta device (no memory, no RNG use), then put the members in.
        with torch.device("meta"):
            ensemble = cls(unet_config=dict(members[0].config), num_shards=len(members))
        ensemble.shards = torch.nn.ModuleList(members)
        return ensemble

    @property
    def unet_config(self) -> Any:
        """The shared configuration of the members (sample size, channels, classes, ...)."""
        return self.shards[0].config

    def forward(
        self, sample: torch.Tensor, timestep: torch.Tensor | int, class_labels: torch.Tensor
    ) -> UNet2DOutput:
        """Mean of the members' epsilon predictions: exact for one member or equal members."""
        predictions = [
            member(sample, timestep, class_labels=class_labels).sample for member in self.shards
        ]
        return UNet2DOutput(sample=torch.stack(predictions).mean(dim=0))


class MuseumPipeline(DiffusionPipeline):
    """Class-conditioned DDIM sampling over one UNet or an ensemble of shard UNets.

    Parameters:
        unets: a `UNetEnsemble`, or one `UNet2DModel` or several of one shape (shards), which
            are wrapped in one without copying their weights.
        scheduler: a `DDIMScheduler`; any other diffusers scheduler is converted from its
            config, as `DDIMPipeline` does, so the betas always match training.
        null_class_id: the model's "no label" class, needed for classifier-free guidance.
    """

    def __init__(
        self,
        unets: UNetEnsemble | UNet2DModel | Sequence[UNet2DModel],
        scheduler: DDIMScheduler | DDPMScheduler,
        null_class_id: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(unets, UNetEnsemble):
            ensemble = unets
        elif isinstance(unets, UNet2DModel):
            ensemble = UNetEnsemble.from_unets([unets])
        else:
            # mypy cannot narrow by isinstance here: UNet2DModel has an untyped (Any) base class.
            ensemble = UNetEnsemble.from_unets(cast(Sequence[UNet2DModel], unets))
        n_classes = int(ensemble.unet_config["num_class_embeds"])
        if null_class_id is not None and not 0 <= null_class_id < n_classes:
            raise ValueError(f"null_class_id {null_class_id} is outside the class embedding")
        if not isinstance(scheduler, DDIMScheduler):
            scheduler = DDIMScheduler.from_config(scheduler.config)
        # diffusers leaves these three registration helpers unannotated.
        self.register_modules(unets=ensemble, scheduler=scheduler)  # type: ignore[no-untyped-call]
        self.register_to_config(null_class_id=null_class_id)  # type: ignore[no-untyped-call]
        # A library call inside a web service: progress bars are opt-in, not the default.
        self.set_progress_bar_config(disable=True)  # type: ignore[no-untyped-call]

    @torch.no_grad()
    def __call__(
        self,
        class_ids: Sequence[int] | torch.Tensor,
        seed: int | None = None,
        num_inference_steps: int = 50,
        *,
        generator: torch.Generator | None = None,
        device: str | torch.device | None = None,
        guidance_scale: float = 1.0,
        eta: float = 0.0,
    ) -> MuseumPipelineOutput:
        """Generate one image per class id.

        Give either `seed` (recorded with the generation; noise is then drawn on the CPU so a
        seed means the same starting noise on every device) or your own `generator`. `device`
        moves the pipeline there first. `guidance_scale` above 1 applies classifier-free
        guidance against the null class; `eta` 0 keeps DDIM deterministic.
        """
        # 1. Check the request before any work is done.
        if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int):
            raise ValueError(f"num_inference_steps must be an integer, got {num_inference_steps!r}")
        train_steps = int(self.scheduler.config["num_train_timesteps"])
        limit = min(MAX_INFERENCE_STEPS, train_steps)
        if not 1 <= num_inference_steps <= limit:
            raise ValueError(
                f"num_inference_steps must lie in 1..{limit}, got {num_inference_steps}"
            )
        if (seed is None) == (generator is None):
            raise ValueError("give exactly one of seed (an integer) or generator")
        if seed is not None:
            generator = torch.Generator("cpu").manual_seed(_check_seed(seed))
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must lie in [0, 1], got {eta!r}")
        if not math.isfinite(guidance_scale):
            raise ValueError(f"guidance_scale must be finite, got {guidance_scale!r}")
        null_class_id = self.config["null_class_id"]
        guided = guidance_scale != 1.0
        if guided and null_class_id is None:
            raise ValueError("classifier-free guidance needs a model with a null class")
        if isinstance(class_ids, torch.Tensor):
            if class_ids.ndim != 1:
                raise ValueError(f"class_ids must be one-dimensional, got {tuple(class_ids.shape)}")
            ids = [int(c) for c in class_ids.tolist()]
        else:
            ids = list(class_ids)
        if not ids:
            raise ValueError("class_ids is empty: ask for at least one image")
        config = self.unets.unet_config
        n_classes = int(config["num_class_embeds"])
        for c in ids:
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_classes:
                raise ValueError(f"class id must be an integer in 0..{n_classes - 1}, got {c!r}")
        if device is not None:
            self.to(device)
        run_on = self._execution_device
        dtype = self.unets.dtype

        # 2. Draw the starting noise from the generator.
        size = int(config["sample_size"])
        shape = (len(ids), int(config["in_channels"]), size, size)
        sample = randn_tensor(shape, generator=generator, device=run_on, dtype=dtype)
        labels = torch.tensor(ids, dtype=torch.long, device=run_on)
        if guided:
            labels = torch.cat([labels, torch.full_like(labels, null_class_id)])

        # 3. Set the DDIM timesteps.
        self.scheduler.set_timesteps(num_inference_steps, device=run_on)

        for t in self.progress_bar(self.scheduler.timesteps):
            # 4. Predict the noise, averaged over the shard ensemble (and guided if asked).
            if guided:
                both = self.unets(torch.cat([sample, sample]), t, labels).sample
                conditional, unconditional = both.chunk(2)
                noise = unconditional + guidance_scale * (conditional - unconditional)
            else:
                noise = self.unets(sample, t, labels).sample

            # 5. Step x_t -> x_{t-1}.
            sample = self.scheduler.step(noise, t, sample, eta=eta, generator=generator).prev_sample

        # 6. Convert to uint8 images and PNG bytes.
        samples = sample.detach().float().cpu().clamp(-1.0, 1.0)
        images = ((samples + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        png = [tensor_to_png(s) for s in samples]
        return MuseumPipelineOutput(images=images, png=png, samples=samples)
