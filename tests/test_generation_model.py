"""The museum's own diffusion model: configs, labels, training, sampling and shard ensembles.

Everything runs the `tiny` preset on the CPU; the whole file takes well under a minute on two
cores.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from collection import founding_collection
from generation.model import (
    EMOTIONS,
    ROLES,
    build_unet,
    checkpoint_hash,
    class_to_label,
    grid_png,
    images_to_tensor,
    label_to_class,
    sampling_scheduler,
    tensor_to_png,
    training_scheduler,
)
from generation.presets import PRESETS, ModelConfig, TrainConfig, preset
from generation.sampling import MuseumPipeline, UNetEnsemble
from generation.training import (
    Checkpoint,
    Progress,
    TrainingItem,
    TrainResult,
    denoising_loss,
    sharded_assignment,
    train,
)


def _png(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny() -> tuple[ModelConfig, TrainConfig]:
    return preset("tiny")


@pytest.fixture(scope="module")
def items() -> list[TrainingItem]:
    """24 stages of the procedural founding collection at 16×16, labelled by role and emotion."""
    found: list[TrainingItem] = []
    for artist in founding_collection(n_artists=4, size=16):
        for donation in artist.donations:
            for number, stage in enumerate(donation.stages):
                class_id = label_to_class(stage.role, donation.label.emotion)
                item_id = f"{artist.artist.pseudonym}/{donation.label.title}/{number}"
                found.append(TrainingItem(item_id, stage.image, class_id))
    return found[:24]


@dataclasses.dataclass
class Trained:
    result: TrainResult
    progress: list[Progress]
    checkpoints: list[Checkpoint]


@pytest.fixture(scope="module")
def trained(items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]) -> Trained:
    model_config, train_config = tiny
    # 100 steps: enough for the loss to halve; the preset's own 200 are for the CLI.
    config = dataclasses.replace(
        train_config, steps=100, log_every=10, checkpoint_every=50, sample_every=50
    )
    progress: list[Progress] = []
    checkpoints: list[Checkpoint] = []
    result = train(
        items,
        model_config,
        config,
        device="cpu",
        on_progress=progress.append,
        on_checkpoint=checkpoints.append,
    )
    return Trained(result, progress, checkpoints)


def _short(train_config: TrainConfig, **changes: object) -> TrainConfig:
    return dataclasses.replace(train_config, steps=12, log_every=4, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# Presets
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_through_json(name: str) -> None:
    model_config, train_config = preset(name)
    model_back = ModelConfig.from_dict(json.loads(json.dumps(model_config.to_dict())))
    train_back = TrainConfig.from_dict(json.loads(json.dumps(train_config.to_dict())))
    assert model_back == model_config
    assert train_back == train_config
    assert isinstance(model_back.block_out_channels, tuple)


def test_tiny_preset_is_small_and_grey() -> None:
    model_config, train_config = preset("tiny")
    assert (model_config.resolution, model_config.channels) == (16, 1)
    assert model_config.block_out_channels == (16, 32)
    assert 100 <= train_config.steps <= 300
    assert preset("demo")[0].resolution == 32
    assert preset("full")[0].resolution in (32, 64)


def test_unknown_preset_is_refused() -> None:
    with pytest.raises(
        ValueError, match=r"unknown preset 'huge'; expected one of: tiny, demo, full"
    ):
        preset("huge")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channels": 2}, "channels"),
        ({"resolution": 18, "block_out_channels": (16, 32, 32)}, "divisible"),
        ({"norm_num_groups": 5}, "norm_num_groups"),
        ({"beta_schedule": "sigmoid"}, "beta_schedule"),
        ({"block_out_channels": ()}, "at least one block"),
    ],
)
def test_bad_model_config_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ModelConfig(**changes)  # type: ignore[arg-type]


def test_bad_train_config_and_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig(learning_rate=float("nan"))
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="cosine_with_restarts")
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"stepz": 3})
    # A config recorded before lr_schedule existed reads as the constant schedule it ran with.
    recorded = TrainConfig().to_dict()
    del recorded["lr_schedule"]
    assert TrainConfig.from_dict(recorded).lr_schedule == "constant_with_warmup"
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({"resolution": 16, "colour": True})


# ------------------------------------------------------------------------------------------
# Labels and images
# ------------------------------------------------------------------------------------------


def test_label_to_class_combines_role_and_emotion() -> None:
    config = ModelConfig()
    assert label_to_class("sketch", "joy") == 0
    assert label_to_class("attempt", "joy") == len(EMOTIONS)
    assert label_to_class("final", "fear") == config.num_labelled_classes - 1
    ids = {label_to_class(r, e) for r in ROLES for e in EMOTIONS}
    assert ids == set(range(config.num_labelled_classes))
    assert all(label_to_class(*class_to_label(c)) == c for c in ids)
    assert config.null_class_id == config.num_labelled_classes
    assert config.num_class_embeddings == config.num_labelled_classes + 1


@pytest.mark.parametrize(
    ("role", "emotion", "message"),
    [
        ("masterpiece", "joy", "unknown stage role 'masterpiece'"),
        ("final", "ennui", "unknown emotion 'ennui'"),
        ("FINAL", "joy", "unknown stage role"),
    ],
)
def test_label_to_class_refuses_unknown_labels(role: str, emotion: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        label_to_class(role, emotion)


def test_class_to_label_refuses_out_of_range() -> None:
    with pytest.raises(ValueError, match="class id"):
        class_to_label(50)


def test_images_to_tensor_converts_resizes_and_scales() -> None:
    grey_config = ModelConfig()
    rgb_config = ModelConfig(resolution=16, channels=3)
    white = _png(np.full((40, 20, 3), 255, dtype=np.uint8), "RGB")
    black = _png(np.zeros((16, 16), dtype=np.uint8), "L")
    clear = _png(np.zeros((8, 8, 4), dtype=np.uint8), "RGBA")  # transparent: paper shows
    grey = images_to_tensor([white, black, clear], grey_config)
    assert grey.shape == (3, 1, 16, 16)
    assert grey.dtype == torch.float32
    assert torch.equal(grey[0], torch.ones(1, 16, 16))
    assert torch.equal(grey[1], -torch.ones(1, 16, 16))
    assert torch.equal(grey[2], torch.ones(1, 16, 16))
    assert images_to_tensor([black], rgb_config).shape == (1, 3, 16, 16)


def test_images_to_tensor_refuses_undecodable_bytes() -> None:
    with pytest.raises(ValueError, match="image 1 does not decode"):
        images_to_tensor([_png(np.zeros((4, 4), dtype=np.uint8), "L"), b"not a png"], ModelConfig())


def test_tensor_to_png_round_trips(items: list[TrainingItem]) -> None:
    config = ModelConfig()
    batch = images_to_tensor([item.image for item in items[:4]], config)  # type: ignore[misc]
    again = images_to_tensor([tensor_to_png(t) for t in batch], config)
    assert torch.equal(batch, again)
    assert Image.open(io.BytesIO(tensor_to_png(batch[0]))).mode == "L"
    assert Image.open(io.BytesIO(grid_png(batch))).size == (32, 32)
    with pytest.raises(ValueError, match="image tensor"):
        tensor_to_png(torch.zeros(2, 4, 4))


def test_checkpoint_hash_is_stable_and_sensitive() -> None:
    config = ModelConfig()
    first = build_unet(config, seed=0)
    assert checkpoint_hash(first) == checkpoint_hash(build_unet(config, seed=0))
    assert checkpoint_hash(first) == checkpoint_hash(first.state_dict())
    assert checkpoint_hash(first) != checkpoint_hash(build_unet(config, seed=1))
    nudged = copy.deepcopy(first)
    with torch.no_grad():
        nudged.conv_in.weight.view(-1)[0] += 1e-6
    assert checkpoint_hash(nudged) != checkpoint_hash(first)


def test_build_unet_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_unet(ModelConfig())
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------------------------------
# Training
# ------------------------------------------------------------------------------------------


def test_training_reduces_the_loss(trained: Trained) -> None:
    logged = [p.loss for p in trained.progress]
    assert len(logged) == 10  # 100 steps, logged every 10
    first, last = sum(logged[:2]) / 2, sum(logged[-2:]) / 2
    assert last < 0.5 * first
    losses = trained.result.losses
    assert len(losses) == 100
    assert sum(losses[-25:]) / 25 < 0.5 * sum(losses[:25]) / 25
    assert trained.result.final_loss == pytest.approx(sum(losses[-10:]) / 10)  # log_every
    assert trained.result.steps_per_second > 0


def test_training_reports_progress_previews_and_checkpoints(trained: Trained) -> None:
    steps = [p.step for p in trained.progress]
    assert steps == list(range(10, 101, 10))
    previews = [p for p in trained.progress if p.sample_png is not None]
    assert [p.step for p in previews] == [50, 100]
    assert Image.open(io.BytesIO(previews[0].sample_png or b"")).format == "PNG"
    assert [c.step for c in trained.checkpoints] == [50, 100]
    assert trained.checkpoints == trained.result.checkpoints
    for checkpoint in trained.checkpoints:
        assert checkpoint.hash == checkpoint_hash(checkpoint.state_dict)
        assert all(t.device.type == "cpu" for t in checkpoint.state_dict.values())
        assert checkpoint.ema_state_dict is None
    assert trained.checkpoints[0].hash != trained.checkpoints[1].hash
    assert trained.result.model_hash == trained.checkpoints[-1].hash
    assert not trained.result.model.training


def test_same_seed_gives_identical_checkpoints(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny
    first = train(items, model_config, _short(train_config), device="cpu")
    second = train(items, model_config, _short(train_config), device="cpu")
    other = train(items, model_config, _short(train_config, seed=1), device="cpu")
    assert first.checkpoints[-1].hash == second.checkpoints[-1].hash
    assert first.losses == second.losses
    assert other.checkpoints[-1].hash != first.checkpoints[-1].hash


def test_training_restores_the_deterministic_setting(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny
    before = torch.are_deterministic_algorithms_enabled()
    train(items[:4], model_config, dataclasses.replace(train_config, steps=2), device="cpu")
    assert torch.are_deterministic_algorithms_enabled() == before


def test_ema_and_weighted_training(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny
    config = _short(train_config, ema=True)
    weights = [1.0 if index % 2 == 0 else 0.0 for index in range(len(items))]
    weighted = train(items, model_config, config, device="cpu", item_weights=weights)
    again = train(items, model_config, config, device="cpu", item_weights=weights)
    plain = train(items, model_config, config, device="cpu")
    last = weighted.checkpoints[-1]
    assert last.ema_hash is not None
    assert last.ema_hash != last.hash
    assert weighted.model_hash == last.ema_hash
    assert again.model_hash == weighted.model_hash
    assert plain.model_hash != weighted.model_hash


def test_decaying_learning_rate_schedule_shrinks_the_last_steps(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny

    def last_step_size(schedule: str) -> float:
        config = dataclasses.replace(
            train_config,
            steps=6,
            checkpoint_every=1,
            log_every=0,
            lr_warmup_steps=0,
            lr_schedule=schedule,
        )
        result = train(items, model_config, config, device="cpu")
        before, after = result.checkpoints[-2].state_dict, result.checkpoints[-1].state_dict
        return sum(float((after[k] - before[k]).abs().sum()) for k in after)

    constant = last_step_size("constant_with_warmup")
    cosine = last_step_size("cosine")
    # Adam moves each weight by about lr per step: cosine's last lr is lr × 0.07 (step 5 of 6).
    assert cosine < 0.2 * constant


def test_tensor_items_train_like_png_items(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny
    tensors = images_to_tensor([item.image for item in items], model_config)  # type: ignore[misc]
    as_tensors = [
        TrainingItem(item.item_id, tensor, item.class_id)
        for item, tensor in zip(items, tensors, strict=True)
    ]
    config = _short(train_config)
    from_png = train(items, model_config, config, device="cpu")
    from_tensor = train(as_tensors, model_config, config, device="cpu")
    assert from_png.model_hash == from_tensor.model_hash


def test_training_refuses_bad_inputs(
    items: list[TrainingItem], tiny: tuple[ModelConfig, TrainConfig]
) -> None:
    model_config, train_config = tiny
    config = _short(train_config)
    first = items[0]
    cases: list[tuple[list[TrainingItem], str]] = [
        ([], "no training items"),
        ([first._replace(class_id=50)], "class id 50"),
        ([first._replace(class_id=-1)], "class id -1"),
        ([first._replace(image=torch.zeros(1, 8, 8))], r"shape \(1, 8, 8\) after conversion"),
        ([first._replace(image=torch.zeros(3, 16, 16))], "after conversion"),
        ([first, first], "more than once"),
        ([first._replace(image=b"garbage")], "does not decode"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            train(bad, model_config, config, device="cpu")
    with pytest.raises(ValueError, match="item_weights has 1 values for 24 items"):
        train(items, model_config, config, device="cpu", item_weights=[1.0])
    with pytest.raises(ValueError, match="not all zero"):
        train(items, model_config, config, device="cpu", item_weights=[0.0] * len(items))


def test_denoising_loss_is_per_example_and_fixed(trained: Trained) -> None:
    model = trained.result.model
    config = ModelConfig()
    scheduler = training_scheduler(config)
    generator = torch.Generator().manual_seed(7)
    images = torch.rand(5, 1, 16, 16, generator=generator) * 2 - 1
    noise = torch.randn(images.shape, generator=generator)
    timesteps = [0, 10, 250, 500, 999]
    class_ids = [0, 1, 2, 3, 4]
    with torch.no_grad():
        loss = denoising_loss(model, scheduler, images, class_ids, timesteps, noise)
        again = denoising_loss(model, scheduler, images, class_ids, timesteps, noise)
    assert loss.shape == (5,)
    assert bool((loss >= 0).all())
    assert torch.equal(loss, again)
    with pytest.raises(ValueError, match="noise shape"):
        denoising_loss(model, scheduler, images, class_ids, timesteps, noise[:4])
    with pytest.raises(ValueError, match="one per image"):
        denoising_loss(model, scheduler, images, class_ids[:3], timesteps, noise)
    with pytest.raises(ValueError, match=r"timesteps must lie in 0\.\.999"):
        denoising_loss(model, scheduler, images, class_ids, [0, 1, 2, 3, 1000], noise)


def test_sharded_assignment_is_deterministic_and_balanced() -> None:
    ids = [f"item-{n}" for n in range(2000)]
    first = sharded_assignment(ids, 4)
    assert first == sharded_assignment(list(reversed(ids)), 4)
    assert set(first.values()) == {0, 1, 2, 3}
    counts = np.bincount(list(first.values()), minlength=4)
    assert counts.min() > 400
    assert counts.max() < 600
    assert set(sharded_assignment(ids[:10], 1).values()) == {0}
    for bad in (0, -2, True):
        with pytest.raises(ValueError, match="shards must be an integer of at least 1"):
            sharded_assignment(ids, bad)


# ------------------------------------------------------------------------------------------
# Sampling
# ------------------------------------------------------------------------------------------


def _pipeline(unets: object, config: ModelConfig | None = None) -> MuseumPipeline:
    config = config or ModelConfig()
    return MuseumPipeline(
        unets=unets,  # type: ignore[arg-type]
        scheduler=sampling_scheduler(config),
        null_class_id=config.null_class_id,
    )


def test_sampling_is_deterministic_per_seed(trained: Trained) -> None:
    pipe = _pipeline(trained.result.model)
    classes = [label_to_class("failure", "doubt"), label_to_class("final", "pride")]
    first = pipe(classes, seed=11, num_inference_steps=8)
    second = pipe(classes, seed=11, num_inference_steps=8)
    other = pipe(classes, seed=12, num_inference_steps=8)
    assert first.images.shape == (2, 16, 16, 1)
    assert first.images.dtype == np.uint8
    assert first.png == second.png
    assert np.array_equal(first.images, second.images)
    assert first.png != other.png
    decoded = np.asarray(Image.open(io.BytesIO(first.png[0])))
    assert np.array_equal(decoded, first.images[0, :, :, 0])
    generator = torch.Generator().manual_seed(11)
    assert pipe(classes, num_inference_steps=8, generator=generator).png == first.png


def test_guidance_uses_the_null_class(trained: Trained) -> None:
    pipe = _pipeline(trained.result.model)
    plain = pipe([3], seed=0, num_inference_steps=4)
    guided = pipe([3], seed=0, num_inference_steps=4, guidance_scale=3.0)
    assert guided.png != plain.png
    no_null = MuseumPipeline(
        unets=trained.result.model, scheduler=sampling_scheduler(ModelConfig())
    )
    with pytest.raises(ValueError, match="null class"):
        no_null([3], seed=0, num_inference_steps=4, guidance_scale=3.0)


def test_ensemble_of_identical_shards_equals_the_single_model(trained: Trained) -> None:
    model = trained.result.model
    single = _pipeline(model)([0, 7, 49], seed=5, num_inference_steps=6)
    twins = _pipeline([model, copy.deepcopy(model)])([0, 7, 49], seed=5, num_inference_steps=6)
    assert twins.png == single.png
    assert torch.equal(twins.samples, single.samples)


def test_ensemble_of_different_shards_combines_both(trained: Trained) -> None:
    model = trained.result.model
    fresh = build_unet(ModelConfig(), seed=3).eval()
    ensemble = UNetEnsemble.from_unets([model, fresh])
    assert ensemble.config["num_shards"] == 2
    mixed = _pipeline(ensemble)([0, 7], seed=5, num_inference_steps=6)
    alone = _pipeline(model)([0, 7], seed=5, num_inference_steps=6)
    other = _pipeline(fresh)([0, 7], seed=5, num_inference_steps=6)
    assert mixed.png != alone.png
    assert mixed.png != other.png
    with pytest.raises(ValueError, match="shard 1 has"):
        UNetEnsemble.from_unets([model, build_unet(ModelConfig(resolution=32))])
    with pytest.raises(ValueError, match="at least one UNet"):
        UNetEnsemble.from_unets([])


def test_pipeline_saves_and_loads(trained: Trained, tmp_path: Path) -> None:
    pipe = _pipeline([trained.result.model, build_unet(ModelConfig(), seed=3)])
    before = pipe([1, 2], seed=9, num_inference_steps=4)
    pipe.save_pretrained(tmp_path)
    loaded = MuseumPipeline.from_pretrained(tmp_path)
    assert isinstance(loaded.unets, UNetEnsemble)
    assert checkpoint_hash(loaded.unets) == checkpoint_hash(pipe.unets)
    assert loaded([1, 2], seed=9, num_inference_steps=4).png == before.png


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_inference_steps": 0}, "num_inference_steps must lie in 1..1000"),
        ({"num_inference_steps": 1001}, "num_inference_steps must lie in 1..1000"),
        ({"seed": -1}, r"seed must be an integer in 0..2\*\*63-1"),
        ({"seed": 2**63}, r"seed must be an integer in 0..2\*\*63-1"),
        ({"seed": None}, "exactly one of seed"),
        ({"class_ids": [51]}, r"class id must be an integer in 0..50"),
        ({"class_ids": []}, "class_ids is empty"),
        ({"eta": 2.0}, "eta"),
        ({"guidance_scale": float("inf")}, "guidance_scale"),
        ({"class_ids": torch.zeros(1, 2, dtype=torch.long)}, "one-dimensional"),
    ],
)
def test_sampling_refuses_bad_requests(
    trained: Trained, kwargs: dict[str, object], message: str
) -> None:
    pipe = _pipeline(trained.result.model)
    request: dict[str, Any] = {"class_ids": [0], "seed": 0, "num_inference_steps": 2}
    request.update(kwargs)
    with pytest.raises(ValueError, match=message):
        pipe(**request)


def test_sampling_accepts_the_extreme_seeds(trained: Trained) -> None:
    pipe = _pipeline(trained.result.model)
    low = pipe([0], seed=0, num_inference_steps=1)
    high = pipe([0], seed=2**63 - 1, num_inference_steps=1)
    assert low.png != high.png
