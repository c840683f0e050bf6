"""Serialisable configuration of the continuation model, with its presets.

The UNet's shape and noise schedule are a stage-model `ModelConfig` (the continuation model
takes twice its channels as input); the labels add the failure type; `image_dropout` is the
share of training examples shown a blank previous image (for guidance), beside `TrainConfig`'s
`class_dropout` for the labels. Frozen and JSON-plain, so a run records it and replays it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self

from generation.presets import ModelConfig, TrainConfig, preset
from ledger.errors import InvalidInput
from ledger.vocabulary import FailureType

__all__ = ["CONTINUATION_PRESETS", "ContinuationConfig", "continuation_run_config"]


@dataclass(frozen=True)
class ContinuationConfig:
    """Shape (`model`), label vocabulary size and previous-image dropout of the model.

    Class ids combine the next stage's role, the emotion and the failure type
    (`(role * n_emotions + emotion) * n_failure_types + failure`); with `model.null_class` the
    last id stands for "no label".
    """

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    n_failure_types: int = len(FailureType)
    image_dropout: float = 0.1

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig):
            raise ValueError("model must be a ModelConfig")
        count = self.n_failure_types
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"n_failure_types must be a positive integer, got {count!r}")
        if not 0.0 <= self.image_dropout < 1.0:
            raise ValueError(f"image_dropout must lie in [0, 1), got {self.image_dropout!r}")

    @property
    def num_labelled_classes(self) -> int:
        return self.model.num_labelled_classes * self.n_failure_types

    @property
    def num_class_embeddings(self) -> int:
        return self.num_labelled_classes + (1 if self.model.null_class else 0)

    @property
    def null_class_id(self) -> int | None:
        return self.num_labelled_classes if self.model.null_class else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "n_failure_types": self.n_failure_types,
            "image_dropout": self.image_dropout,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if not isinstance(data, dict):
            raise ValueError(f"ContinuationConfig must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {"model", "n_failure_types", "image_dropout"})
        if unknown:
            raise ValueError(f"unknown ContinuationConfig field(s): {', '.join(unknown)}")
        values = dict(data)
        if "model" in values:
            values["model"] = ModelConfig.from_dict(values["model"])
        return cls(**values)


def _tiny() -> tuple[ContinuationConfig, TrainConfig]:
    """For tests: the stage model's tiny shape (16×16 grey)."""
    model, train = preset("tiny")
    return ContinuationConfig(model=model), train


def _demo() -> tuple[ContinuationConfig, TrainConfig]:
    """For real use on a CPU: the stage model's demo shape and budget (32×32 colour)."""
    model, train = preset("demo")
    return ContinuationConfig(model=model, image_dropout=0.1), train


CONTINUATION_PRESETS = {"tiny": _tiny, "demo": _demo}


def continuation_run_config(
    preset_name: str, *, steps: int | None = None
) -> tuple[ContinuationConfig, TrainConfig]:
    """The named preset, `steps` overriding its own; a refusal is an `InvalidInput`."""
    make = CONTINUATION_PRESETS.get(preset_name) if isinstance(preset_name, str) else None
    if make is None:
        raise InvalidInput(
            f"unknown continuation preset {preset_name!r}; expected one of: "
            + ", ".join(CONTINUATION_PRESETS)
        )
    config, train = make()
    if steps is not None:
        if not 1 <= steps <= 1_000_000:
            raise InvalidInput("steps must be between 1 and 1,000,000")
        train = dataclasses.replace(train, steps=steps)
    return config, train
