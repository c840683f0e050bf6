"""Model and training configurations for the museum's own diffusion model.

Configs are frozen and JSON-serialisable so that a training run can be recorded in the ledger
as plain data and replayed later: the same `ModelConfig`, `TrainConfig` and consented items give
the same weights (on the same kind of CPU).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Self

from ledger.errors import InvalidInput
from ledger.vocabulary import Emotion, StageRole

__all__ = [
    "BETA_SCHEDULES",
    "LR_SCHEDULES",
    "PRESETS",
    "ModelConfig",
    "TrainConfig",
    "preset",
    "run_config",
]

BETA_SCHEDULES: tuple[str, ...] = ("linear", "scaled_linear", "squaredcos_cap_v2")
# Learning-rate schedules by diffusers' names; the decaying ones end at zero after `steps`, so
# the last weights do not carry the jitter of a constant step size.
LR_SCHEDULES: tuple[str, ...] = ("constant_with_warmup", "cosine", "linear")


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _non_negative_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def _from_dict(cls: type[Any], data: dict[str, Any], what: str) -> dict[str, Any]:
    """Refuse unknown keys: a misspelt field in a recorded run must not silently default."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")
    return dict(data)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the UNet and of its noise schedule.

    Class conditioning combines stage role and emotion into one id
    (`role_index * n_emotions + emotion_index`); with `null_class` one extra id (the last) stands
    for "no label", which training uses for label dropout and sampling for classifier-free
    guidance. The vocabulary sizes are stored so that a checkpoint made under an older
    vocabulary is recognisable as such.
    """

    resolution: int = 16
    channels: int = 1
    block_out_channels: tuple[int, ...] = (16, 32)
    layers_per_block: int = 1
    attention: bool = False
    norm_num_groups: int = 8
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    n_roles: int = len(StageRole)
    n_emotions: int = len(Emotion)
    null_class: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "block_out_channels", tuple(self.block_out_channels))
        _positive_int("resolution", self.resolution)
        if self.channels not in (1, 3) or isinstance(self.channels, bool):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")
        if not self.block_out_channels:
            raise ValueError("block_out_channels must name at least one block")
        for width in self.block_out_channels:
            _positive_int("each of block_out_channels", width)
        _positive_int("layers_per_block", self.layers_per_block)
        _positive_int("norm_num_groups", self.norm_num_groups)
        if any(width % self.norm_num_groups for width in self.block_out_channels):
            raise ValueError(
                f"norm_num_groups ({self.norm_num_groups}) must divide every entry of "
                f"block_out_channels {self.block_out_channels}"
            )
        factor = 2 ** (len(self.block_out_channels) - 1)
        if self.resolution % factor:
            raise ValueError(
                f"resolution {self.resolution} must be divisible by {factor} "
                f"({len(self.block_out_channels)} blocks halve it {len(self.block_out_channels) - 1} times)"
            )
        _positive_int("num_train_timesteps", self.num_train_timesteps)
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(
                f"unknown beta_schedule {self.beta_schedule!r}; expected one of: "
                + ", ".join(BETA_SCHEDULES)
            )
        _positive_int("n_roles", self.n_roles)
        _positive_int("n_emotions", self.n_emotions)
        if not isinstance(self.attention, bool) or not isinstance(self.null_class, bool):
            raise ValueError("attention and null_class must be booleans")

    @property
    def num_labelled_classes(self) -> int:
        """Role × emotion combinations: the ids a donated item may carry."""
        return self.n_roles * self.n_emotions

    @property
    def num_class_embeddings(self) -> int:
        """Rows of the class embedding table, the null class included when there is one."""
        return self.num_labelled_classes + (1 if self.null_class else 0)

    @property
    def null_class_id(self) -> int | None:
        """The reserved "no label" id, or None when the model has no null class."""
        return self.num_labelled_classes if self.null_class else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (lists, not tuples), ready for an event payload."""
        data = asdict(self)
        data["block_out_channels"] = list(self.block_out_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = _from_dict(cls, data, "ModelConfig")
        if "block_out_channels" in values:
            values["block_out_channels"] = tuple(values["block_out_channels"])
        return cls(**values)


@dataclass(frozen=True)
class TrainConfig:
    """How long and how to train.

    `checkpoint_every`, `log_every` and `sample_every` count optimiser steps; 0 switches the
    periodic event off (a checkpoint is still taken at the end). `class_dropout` is the share of
    examples trained under the null class, and only applies to models that have one.
    """

    steps: int = 200
    batch_size: int = 32
    learning_rate: float = 2e-3
    seed: int = 0
    checkpoint_every: int = 0
    log_every: int = 20
    sample_every: int = 0
    ema: bool = False
    ema_decay: float = 0.999
    class_dropout: float = 0.1
    lr_warmup_steps: int = 10
    lr_schedule: str = "constant_with_warmup"
    max_grad_norm: float = 1.0
    sample_steps: int = 10
    sample_count: int = 8

    def __post_init__(self) -> None:
        _positive_int("steps", self.steps)
        _positive_int("batch_size", self.batch_size)
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(
                f"learning_rate must be positive and finite, got {self.learning_rate!r}"
            )
        _non_negative_int("seed", self.seed)
        if self.seed > 2**63 - 1:
            raise ValueError("seed must be at most 2**63 - 1")
        _non_negative_int("checkpoint_every", self.checkpoint_every)
        _non_negative_int("log_every", self.log_every)
        _non_negative_int("sample_every", self.sample_every)
        if not isinstance(self.ema, bool):
            raise ValueError("ema must be a boolean")
        if not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie strictly between 0 and 1, got {self.ema_decay!r}")
        if not 0.0 <= self.class_dropout < 1.0:
            raise ValueError(f"class_dropout must lie in [0, 1), got {self.class_dropout!r}")
        _non_negative_int("lr_warmup_steps", self.lr_warmup_steps)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}"
            )
        if not (math.isfinite(self.max_grad_norm) and self.max_grad_norm > 0):
            raise ValueError(
                f"max_grad_norm must be positive and finite, got {self.max_grad_norm!r}"
            )
        if not 1 <= self.sample_steps <= 1000 or isinstance(self.sample_steps, bool):
            raise ValueError(f"sample_steps must lie in 1..1000, got {self.sample_steps!r}")
        _positive_int("sample_count", self.sample_count)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**_from_dict(cls, data, "TrainConfig"))


def _tiny() -> tuple[ModelConfig, TrainConfig]:
    """For tests: 16×16 grey, trains in a few seconds on two CPU cores."""
    return ModelConfig(), TrainConfig()


def _demo() -> tuple[ModelConfig, TrainConfig]:
    """For a live demo on a CPU: 32×32 colour in under three minutes on the two-core reference
    machine (about 5.7 steps/s there). Many small batches and the cosine schedule give visibly
    more structure in that time than fewer, larger batches."""
    model = ModelConfig(
        resolution=32,
        channels=3,
        block_out_channels=(32, 64, 64),
        layers_per_block=1,
        attention=False,
        norm_num_groups=8,
        beta_schedule="squaredcos_cap_v2",
    )
    train = TrainConfig(
        steps=800,
        batch_size=16,
        learning_rate=2e-3,
        log_every=50,
        checkpoint_every=200,
        sample_every=200,
        ema=True,
        ema_decay=0.995,
        lr_warmup_steps=25,
    )
    return model, train


def _full() -> tuple[ModelConfig, TrainConfig]:
    """For a GPU: 64×64 colour, self-attention below the top level, long EMA-averaged run."""
    model = ModelConfig(
        resolution=64,
        channels=3,
        block_out_channels=(64, 128, 256, 256),
        layers_per_block=2,
        attention=True,
        norm_num_groups=32,
        beta_schedule="squaredcos_cap_v2",
    )
    train = TrainConfig(
        steps=40_000,
        batch_size=64,
        learning_rate=2e-4,
        log_every=100,
        checkpoint_every=5_000,
        sample_every=2_000,
        ema=True,
        ema_decay=0.9995,
        lr_warmup_steps=500,
        sample_steps=25,
        sample_count=16,
    )
    return model, train


PRESETS = {"tiny": _tiny, "demo": _demo, "full": _full}


def preset(name: str) -> tuple[ModelConfig, TrainConfig]:
    """The named pair of configs; unknown names list the known ones."""
    try:
        make = PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown preset {name!r}; expected one of: {', '.join(PRESETS)}"
        ) from None
    return make()


def run_config(preset_name: str, *, steps: int | None = None) -> tuple[ModelConfig, TrainConfig]:
    """The preset's configs, `steps` overriding its own; a refusal is an `InvalidInput`.
    Torch-free, so that a bad request is refused before torch loads."""
    try:
        model_config, train_config = preset(preset_name)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if steps is not None:
        if not 1 <= steps <= 1_000_000:
            raise InvalidInput("steps must be between 1 and 1,000,000")
        train_config = dataclasses.replace(train_config, steps=steps)
    return model_config, train_config
