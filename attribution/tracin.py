"""TracIn baseline through `captum.influence.TracInCP`, in the same harness as TRAK.

TracIn (Pruthi et al., 2020) scores training item i for query q as Σ_c lr_c ⟨∇ℓ_q(θ_c), ∇ℓ_i(θ_c)⟩
over saved checkpoints c. The benchmark compares it with TRAK / D-TRAK on the same footing, so
each example's loss ℓ is exactly the TRAK "loss" output function of `attribution.gradients`: the
epsilon-MSE averaged over K fixed timesteps, with the fixed noise that
`GradientComputer.noise_for(index, shape, stream)` draws ("train" stream by the item's position
in the training set, "query" stream by the query's position).

How captum sees one example as K timesteps: the dataset yields `(x0, t, noise, class_id, noise)`
with t of shape (K,) and noise (K, C, H, W) per example; `_DiffusionLossModel` flattens the batch
to B·K UNet rows and returns the predicted noise as (B, K·C·H·W); `_PerExampleDiffusionLoss`
(reduction "none") returns the mean squared error over those K·C·H·W values, which is the mean
over the K timesteps of the per-timestep MSE because every timestep has the same number of
pixels. captum then takes one gradient per example (`sample_wise_grads_per_batch=False`, the
only mode that covers every layer type of the UNet).

Sign convention: the same as TRAK's (`attribution.scoring`): positive = the item is predicted to
LOWER the query's loss. TracIn's raw score already means that: one SGD step on item i,
θ' = θ − lr ∇ℓ_i, changes the query loss by ℓ_q(θ') − ℓ_q(θ) ≈ −lr ⟨∇ℓ_q, ∇ℓ_i⟩, so a positive
(gradient-aligned) score is a predicted decrease. It is returned unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from captum.influence import TracInCP
from torch.utils.data import DataLoader, TensorDataset

from attribution._seeding import check_seed, derived_generator
from attribution.gradients import noise_schedule

__all__ = ["TracInBaseline"]


class _DiffusionLossModel(torch.nn.Module):
    """The UNet as captum wants it: `forward(x0, t, noise, class_id)` → (B, K·C·H·W).

    x0 is (B, C, H, W), t (B, K), noise (B, K, C, H, W), class_id (B,). Each image is noised at
    its K timesteps as `DDPMScheduler.add_noise` does (same formula as `GradientComputer`), all
    B·K rows go through the UNet in one call, and the prediction is flattened per example.
    """

    def __init__(self, unet: torch.nn.Module, alphas_cumprod: torch.Tensor) -> None:
        super().__init__()
        self.unet = unet
        # A plain attribute, not a buffer: captum loads checkpoints into the UNet only.
        self.alphas = alphas_cumprod.detach().to(torch.float32)

    def forward(
        self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, class_id: torch.Tensor
    ) -> torch.Tensor:
        b, k = t.shape
        a = self.alphas.to(x0.device)[t].view(b, k, 1, 1, 1)
        noisy = a.sqrt() * x0.unsqueeze(1) + (1.0 - a).sqrt() * noise
        out = self.unet(
            noisy.flatten(0, 1), t.flatten(), class_labels=class_id.repeat_interleave(k)
        )
        predicted = cast(torch.Tensor, getattr(out, "sample", out))
        return predicted.float().reshape(b, -1)


class _PerExampleDiffusionLoss(torch.nn.Module):
    """Epsilon-MSE per example over all its K timesteps; `reduction = "none"` tells captum so."""

    reduction = "none"

    def forward(self, predicted: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return ((predicted - noise.float().reshape(predicted.shape)) ** 2).mean(dim=1)


class _ContiguousTracInCP(TracInCP):  # type: ignore[misc]  # captum is untyped
    """TracInCP whose per-example gradients are contiguous before captum takes dot products.

    captum 0.9's `captum/influence/_utils/common.py::_tensor_batch_dot` flattens each gradient
    with `.view`, which raises "view size is not compatible with input tensor's size and stride"
    on non-contiguous tensors. On our UNets with attention, autograd returns the weight gradients
    of some convolutions after an attention block in channels-last layout, so plain TracInCP
    fails there. `_basic_computation_tracincp` is the one place both training and query
    gradients come from (captum documents its "_" methods as protected and overridable), so
    making them contiguous here fixes every dot product without patching captum's module state
    (no global monkeypatch, nothing to restore, safe across threads). Values are unchanged: a
    contiguous copy holds the same numbers.
    """

    def _basic_computation_tracincp(self, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, ...]:
        grads = super()._basic_computation_tracincp(*args, **kwargs)
        return tuple(g.contiguous() for g in grads)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_images(name: str, images: object) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"{name} must be an (N, C, H, W) tensor")
    if images.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {images.dtype}")
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"{name} holds NaN or infinite values")
    return images.detach().to("cpu", torch.float32)


def _check_class_ids(name: str, class_ids: object, n: int, limit: int | None) -> torch.Tensor:
    if isinstance(class_ids, torch.Tensor):
        if class_ids.is_floating_point() or class_ids.is_complex() or class_ids.dtype == torch.bool:
            raise ValueError(f"{name} must hold integers, got {class_ids.dtype}")
        labels = class_ids.detach().to("cpu", torch.long)
    elif isinstance(class_ids, Sequence) and not isinstance(class_ids, str | bytes):
        for value in class_ids:
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name} must hold integers, got {value!r}")
        labels = torch.tensor([int(v) for v in class_ids], dtype=torch.long)
    else:
        raise ValueError(f"{name} must be a sequence of integers or an integer tensor")
    if labels.shape != (n,):
        raise ValueError(
            f"{name} must hold {n} values, one per image, got shape {tuple(labels.shape)}"
        )
    if limit is not None and n and not bool(((labels >= 0) & (labels < limit)).all()):
        raise ValueError(f"{name} must lie in 0..{limit - 1}")
    return labels


class TracInBaseline:
    """TracIn scores of training items for queries, computed by captum's `TracInCP`.

    `model_factory` builds a fresh module with the architecture of the checkpoints (e.g.
    `lambda: build_unet(config)`); each checkpoint's state dict is loaded into it in turn and
    each contributes `learning_rate` × ⟨∇ℓ_q, ∇ℓ_i⟩ over all parameters of the model. The loss
    ℓ and its noise are those of `GradientComputer(output="loss", timesteps, seed)`. Inputs
    are validated here and in `scores`, so a mistake is a ValueError before captum runs.
    Checkpoint tensors are kept by reference, not copied.

    Cost: captum takes each example's gradient with its own `autograd.grad` through the graph
    of the whole batch, so the time per item grows about linearly with `batch_size`; small
    batches (1-4) are fastest on a CPU, hence the default of 1. The scores do not depend on it
    (beyond float rounding).
    """

    def __init__(
        self,
        model_factory: Callable[[], torch.nn.Module],
        checkpoints: Sequence[tuple[str, Mapping[str, torch.Tensor]]],
        scheduler: Any,
        timesteps: Sequence[int] = (100, 300, 500, 700, 900),
        seed: int = 0,
        batch_size: int = 1,
        learning_rate: float = 1.0,
    ) -> None:
        if not callable(model_factory):
            raise ValueError("model_factory must be a callable returning a torch.nn.Module")
        self.model_factory = model_factory
        self.seed = check_seed(seed)
        self.batch_size = _positive_int("batch_size", batch_size)
        if (
            isinstance(learning_rate, bool)
            or not isinstance(learning_rate, int | float)
            or not math.isfinite(learning_rate)
            or learning_rate <= 0
        ):
            raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self._alphas, self.timesteps = noise_schedule(scheduler, timesteps)
        self.checkpoints = self._check_checkpoints(checkpoints)

    def _build(self) -> torch.nn.Module:
        model = self.model_factory()
        if not isinstance(model, torch.nn.Module):
            raise ValueError(
                f"model_factory returned {type(model).__name__}, not a torch.nn.Module"
            )
        return model

    def _check_checkpoints(
        self, checkpoints: object
    ) -> tuple[tuple[str, Mapping[str, torch.Tensor]], ...]:
        """Every checkpoint must be a (name, state dict) whose keys and shapes fit the model."""
        if isinstance(checkpoints, str | bytes | Mapping) or not isinstance(checkpoints, Sequence):
            raise ValueError("checkpoints must be a sequence of (name, state_dict) pairs")
        if not checkpoints:
            raise ValueError("checkpoints must hold at least one (name, state_dict) pair")
        expected = {k: tuple(v.shape) for k, v in self._build().state_dict().items()}
        checked: list[tuple[str, Mapping[str, torch.Tensor]]] = []
        for position, entry in enumerate(checkpoints):
            # 1. Shape of the entry: a (str, mapping) pair.
            if not isinstance(entry, tuple) or len(entry) != 2:
                raise ValueError(f"checkpoint {position} must be a (name, state_dict) pair")
            name, state = entry
            if not isinstance(name, str) or not isinstance(state, Mapping):
                raise ValueError(f"checkpoint {position} must be a (str, Mapping) pair")
            # 2. Same keys and tensor shapes as a freshly built model.
            missing = sorted(set(expected) - set(state))
            unexpected = sorted(set(state) - set(expected))
            if missing or unexpected:
                raise ValueError(
                    f"checkpoint {name!r} does not fit the model: missing {missing[:3]}, "
                    f"unexpected {unexpected[:3]}"
                )
            for key, shape in expected.items():
                value = state[key]
                if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
                    raise ValueError(
                        f"checkpoint {name!r}: {key} must be a tensor of shape {shape}"
                    )
            checked.append((name, state))
        return tuple(checked)

    def _noise(self, stream: str, n: int, shape: Sequence[int]) -> torch.Tensor:
        """(n, K, *shape) noise: row i is `GradientComputer.noise_for(i, shape, stream)`."""
        k = len(self.timesteps)
        rows = [
            torch.randn((k, *shape), generator=derived_generator(self.seed, stream, i))
            for i in range(n)
        ]
        return torch.stack(rows)

    def _dataset(self, images: torch.Tensor, labels: torch.Tensor, stream: str) -> TensorDataset:
        """Rows `(x0, t, noise, class_id, target=noise)`, the last being captum's label."""
        n = images.shape[0]
        noise = self._noise(stream, n, images.shape[1:])
        steps = torch.tensor(self.timesteps, dtype=torch.long).expand(n, -1).contiguous()
        return TensorDataset(images, steps, noise, labels, noise)

    def scores(
        self,
        train_images: torch.Tensor,
        train_class_ids: Sequence[int] | torch.Tensor,
        query_images: torch.Tensor,
        query_class_ids: Sequence[int] | torch.Tensor,
    ) -> np.ndarray:
        """(m queries, n train) float64 TracIn scores; positive = predicted to lower the query loss.

        Training item i draws its noise by position i in the "train" stream and query j by j in
        the "query" stream, so the same inputs always give the same scores.
        """
        train = _check_images("train_images", train_images)
        queries = _check_images("query_images", query_images)
        if queries.shape[1:] != train.shape[1:]:
            raise ValueError(
                f"query images are {tuple(queries.shape[1:])}, "
                f"training images {tuple(train.shape[1:])}"
            )
        unet = self._build().eval()
        embedding = getattr(unet, "class_embedding", None)
        limit = embedding.num_embeddings if isinstance(embedding, torch.nn.Embedding) else None
        train_labels = _check_class_ids("train_class_ids", train_class_ids, train.shape[0], limit)
        query_labels = _check_class_ids("query_class_ids", query_class_ids, queries.shape[0], limit)
        model = _DiffusionLossModel(unet, self._alphas)
        keys = [str(position) for position in range(len(self.checkpoints))]
        states = {key: state for key, (_, state) in zip(keys, self.checkpoints, strict=True)}

        def load(target: torch.nn.Module, key: str) -> float:
            # captum calls this once per checkpoint and pass; its return value is the lr factor.
            cast(_DiffusionLossModel, target).unet.load_state_dict(states[key])
            return self.learning_rate

        tracin = _ContiguousTracInCP(
            model,
            self._dataset(train, train_labels, "train"),
            iter(keys),  # an iterator keeps our order (a list of str would be re-sorted)
            checkpoints_load_func=load,
            loss_fn=_PerExampleDiffusionLoss(),
            batch_size=self.batch_size,
            sample_wise_grads_per_batch=False,
        )
        query_loader = DataLoader(
            self._dataset(queries, query_labels, "query"), batch_size=self.batch_size, shuffle=False
        )
        result = cast(torch.Tensor, tracin.influence(query_loader))
        scores: np.ndarray = result.detach().to("cpu", torch.float64).numpy()
        return scores
