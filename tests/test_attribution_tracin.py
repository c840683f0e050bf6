"""TracIn through captum's TracInCP: equal to Σ_c lr⟨∇ℓ_q, ∇ℓ_i⟩ from our own gradient code, the
same sign as TRAK, deterministic, and working on UNets whose gradients are non-contiguous."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import captum.influence._utils.common as captum_common
import numpy as np
import pytest
import torch
from captum.influence import TracInCP
from diffusers.models.unets.unet_2d import UNet2DModel

import attribution.tracin as tracin_module
from attribution.gradients import GradientComputer
from attribution.tracin import TracInBaseline
from generation.model import build_unet, training_scheduler
from generation.presets import ModelConfig
from generation.training import denoising_loss

TIMESTEPS = (50, 400)
SEED = 3
CLASSES = ModelConfig().num_class_embeddings


def _config(attention: bool) -> ModelConfig:
    # With attention, autograd hands some conv weight gradients back in channels-last layout.
    return ModelConfig(block_out_channels=(8, 16), norm_num_groups=4, attention=attention)


def _checkpoints(config: ModelConfig) -> list[tuple[str, Mapping[str, torch.Tensor]]]:
    return [(f"step-{s}", build_unet(config, seed=s).state_dict()) for s in (1, 2)]


def _images(n: int, seed: int) -> tuple[torch.Tensor, list[int]]:
    g = torch.Generator().manual_seed(seed)
    images = (torch.rand((n, 1, 16, 16), generator=g) * 2 - 1).contiguous()
    labels = torch.randint(0, 20, (n,), generator=g).tolist()
    return images, labels


def _baseline(config: ModelConfig, **kwargs: Any) -> TracInBaseline:
    options: dict[str, Any] = {"timesteps": TIMESTEPS, "seed": SEED, "batch_size": 2}
    options.update(kwargs)
    return TracInBaseline(
        lambda: build_unet(config), _checkpoints(config), training_scheduler(config), **options
    )


@pytest.mark.parametrize("attention", [False, True])
def test_scores_equal_gradient_dot_products_from_gradient_computer(attention: bool) -> None:
    config = _config(attention)
    train, train_labels = _images(5, seed=0)
    queries, query_labels = _images(2, seed=1)
    scores = _baseline(config, learning_rate=0.5).scores(train, train_labels, queries, query_labels)
    assert isinstance(scores, np.ndarray)
    assert scores.shape == (2, 5)
    assert scores.dtype == np.float64
    # Independent computation: vmap per-example gradients, same timesteps, seed and streams.
    expected = np.zeros((2, 5))
    for _, state in _checkpoints(config):
        model = build_unet(config)
        model.load_state_dict(state)
        computer = GradientComputer(model, training_scheduler(config), "loss", TIMESTEPS, SEED)
        g_train = computer.compute(train, train_labels, stream="train").double()
        g_query = computer.compute(queries, query_labels, stream="query").double()
        expected += 0.5 * (g_query @ g_train.T).numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_positive_score_is_predicted_decrease_of_query_loss() -> None:
    """One SGD step on item i with lr η lowers the query loss by about the score (TRAK's sign)."""
    config = _config(False)
    scheduler = training_scheduler(config)
    state = build_unet(config, seed=1).state_dict()
    train, train_labels = _images(3, seed=0)
    query, query_labels = _images(1, seed=1)
    eta = 1e-3
    baseline = TracInBaseline(
        lambda: build_unet(config), [("c", state)], scheduler, TIMESTEPS, SEED, 2, eta
    )
    scores = baseline.scores(train, train_labels, query, query_labels)[0]
    computer = GradientComputer(build_unet(config), scheduler, "loss", TIMESTEPS, SEED)
    k = len(TIMESTEPS)

    def loss(
        model: UNet2DModel, image: torch.Tensor, label: int, noise: torch.Tensor
    ) -> torch.Tensor:
        # The training code's own loss, averaged over the K fixed timesteps.
        batch = image.unsqueeze(0).expand(k, -1, -1, -1)
        return denoising_loss(model, scheduler, batch, [label] * k, list(TIMESTEPS), noise).mean()

    def query_loss(model: UNet2DModel) -> float:
        return float(loss(model, query[0], query_labels[0], query_noise).detach())

    query_noise = computer.noise_for(0, query.shape[1:], "query")
    measured = []
    for i in range(3):
        # 1. One SGD step on item i alone, from the checkpoint.
        model = build_unet(config)
        model.load_state_dict(state)
        before = query_loss(model)
        item_loss = loss(model, train[i], train_labels[i], computer.noise_for(i, train.shape[1:]))
        grads = torch.autograd.grad(item_loss, list(model.parameters()))
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads, strict=True):
                p.sub_(eta * g)
        # 2. How much the query loss went down.
        measured.append(before - query_loss(model))
    np.testing.assert_allclose(scores, measured, rtol=0.1)


def test_same_inputs_give_identical_scores() -> None:
    config = _config(False)
    train, train_labels = _images(3, seed=0)
    queries, query_labels = _images(2, seed=1)
    first = _baseline(config).scores(train, train_labels, queries, query_labels)
    again = _baseline(config).scores(train, train_labels, queries, query_labels)
    assert np.array_equal(first, again)
    # Noise hangs on the item's position, not on batching: another batch size, same scores.
    other = _baseline(config, batch_size=3).scores(train, train_labels, queries, query_labels)
    np.testing.assert_allclose(other, first, rtol=1e-5)
    # And on the seed: another seed draws other noise, so other scores.
    reseeded = _baseline(config, seed=SEED + 1).scores(train, train_labels, queries, query_labels)
    assert not np.allclose(reseeded, first, rtol=1e-3)


def test_captum_batch_dot_fails_on_non_contiguous_gradients_and_ours_does_not() -> None:
    # 1. captum's own helper refuses a channels-last gradient stack (its `.view` needs strides).
    grads = torch.randn(2, 4, 3, 3, 3).contiguous(memory_format=torch.channels_last_3d)
    assert not grads.is_contiguous()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        captum_common._tensor_batch_dot(grads, grads)
    reference = grads.reshape(2, -1) @ grads.reshape(2, -1).T
    made_contiguous = grads.contiguous()
    assert torch.equal(captum_common._tensor_batch_dot(made_contiguous, made_contiguous), reference)

    # 2. On an attention UNet, plain TracInCP hits it; our subclass goes through.
    config = _config(True)
    train, train_labels = _images(3, seed=0)
    queries, query_labels = _images(1, seed=1)
    baseline = _baseline(config)
    scores = baseline.scores(train, train_labels, queries, query_labels)
    assert scores.shape == (1, 3)
    assert np.isfinite(scores).all()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracin_module, "_ContiguousTracInCP", TracInCP)
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            baseline.scores(train, train_labels, queries, query_labels)


def _constructor_case(**change: Any) -> Callable[[], object]:
    def make() -> object:
        config = _config(False)
        options: dict[str, Any] = {
            "model_factory": lambda: build_unet(config),
            "checkpoints": _checkpoints(config)[:1],
            "scheduler": training_scheduler(config),
            "timesteps": TIMESTEPS,
            "seed": 0,
            "batch_size": 2,
            "learning_rate": 1.0,
        }
        options.update(change)
        return TracInBaseline(**options)

    return make


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (_constructor_case(checkpoints=[]), "at least one"),
        (_constructor_case(checkpoints={"a": {}}), "sequence of"),
        (_constructor_case(checkpoints=[("c", {})]), "does not fit the model"),
        (_constructor_case(checkpoints=[{"w": torch.zeros(1)}]), "pair"),
        (_constructor_case(timesteps=()), "at least one timestep"),
        (_constructor_case(timesteps=(0, 1000)), "0..999"),
        (_constructor_case(timesteps=(-1,)), "0..999"),
        (_constructor_case(timesteps=(1.5,)), "integers"),
        (_constructor_case(batch_size=0), "batch_size"),
        (_constructor_case(batch_size=True), "batch_size"),
        (_constructor_case(seed=-1), "seed"),
        (_constructor_case(learning_rate=0.0), "learning_rate"),
        (_constructor_case(learning_rate=float("nan")), "learning_rate"),
        (_constructor_case(scheduler=object()), "alphas_cumprod"),
        (_constructor_case(model_factory=lambda: "not a model"), "torch.nn.Module"),
    ],
)
def test_bad_constructor_arguments_raise_value_error(
    case: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        case()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_images": torch.zeros(3, 16, 16)}, "train_images must be an"),
        ({"train_images": torch.zeros(0, 1, 16, 16)}, "at least one image"),
        ({"query_images": torch.zeros(1, 1, 8, 8)}, "query images are"),
        ({"query_images": torch.full((1, 1, 16, 16), float("nan"))}, "NaN"),
        ({"train_images": torch.zeros(3, 1, 16, 16, dtype=torch.long)}, "floating-point"),
        ({"train_class_ids": [1, 2]}, "must hold 3 values"),
        ({"train_class_ids": [1, 2, 2.5]}, "integers"),
        ({"query_class_ids": torch.tensor([0.0])}, "integers"),
        ({"query_class_ids": [CLASSES]}, f"0..{CLASSES - 1}"),
        ({"train_class_ids": [0, -1, 2]}, f"0..{CLASSES - 1}"),
    ],
)
def test_bad_score_inputs_raise_value_error(change: dict[str, Any], message: str) -> None:
    baseline = _constructor_case()()
    assert isinstance(baseline, TracInBaseline)
    train, train_labels = _images(3, seed=0)
    queries, query_labels = _images(1, seed=1)
    arguments: dict[str, Any] = {
        "train_images": train,
        "train_class_ids": train_labels,
        "query_images": queries,
        "query_class_ids": query_labels,
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        baseline.scores(**arguments)
