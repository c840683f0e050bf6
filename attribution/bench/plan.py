"""The sizes of one attribution bench run, the model a method gets, and the figures as JSON."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from attribution.bench.data import BenchData
from attribution.bench.train import (
    Recipe,
)
from attribution.front import Attributor
from attribution.methods import Method, build_attributor
from attribution.store import IndexStore
from generation.model import build_unet, training_scheduler
from generation.presets import ModelConfig, TrainConfig

StateDict = dict[str, torch.Tensor]
ScoreFn = Callable[[torch.Tensor, torch.Tensor], np.ndarray]


# --- plans, models and methods --------------------------------------------------------------


@dataclass(frozen=True)
class BenchPlan:
    """Sizes of one benchmark run (`attribution.bench.harness` has the quick and full plans)."""

    num_subsets: int = 64
    subset_fraction: float = 0.5
    steps: int = 200
    batch_size: int = 32
    learning_rate: float = 2e-3
    lr_schedule: str = "constant_with_warmup"
    checkpoint_every: int = 100
    block_out_channels: tuple[int, ...] = (16, 32)
    resolution: int = 16
    eval_timesteps: int = 100
    held_back_fraction: float = 0.1
    held_back_minimum: int = 32
    train_limit: int | None = None
    generated_targets: int = 32
    sampling_steps: int = 50
    counterfactual_targets: int = 3
    counterfactual_k: int = 16
    counterfactual_random: int = 2
    query_timing_queries: int = 5
    bootstrap: int = 2000
    workers: int = 2
    seed: int = 0
    reliability_subsets: int = 8
    ground_truth_seeds: int = 1
    attribution_batch: int = 16
    demo_artists: int = 36

    def recipe(self, channels: int) -> Recipe:
        """The one training recipe for every model of a data set."""
        model = ModelConfig(
            resolution=self.resolution,
            channels=channels,
            block_out_channels=self.block_out_channels,
        )
        train = TrainConfig(
            steps=self.steps,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            seed=self.seed,
            checkpoint_every=self.checkpoint_every,
            log_every=0,
            ema=False,
            lr_schedule=self.lr_schedule,
        )
        return Recipe(model, train)


@dataclass(frozen=True)
class BenchModel:
    """What a method gets: the full model's raw checkpoints and the training set."""

    model_config: ModelConfig
    checkpoints: tuple[tuple[str, StateDict], ...]
    train: BenchData
    seed: int
    batch_size: int

    def factory(self) -> torch.nn.Module:
        return build_unet(self.model_config)

    @property
    def scheduler(self) -> Any:
        return training_scheduler(self.model_config)

    def attributor(self, method: Method, store: IndexStore | None = None) -> Attributor:
        """`method` over this model's checkpoints and training set (index not built yet)."""
        return build_attributor(
            method,
            model_factory=self.factory,
            checkpoints=self.checkpoints,
            scheduler=self.scheduler,
            item_ids=self.train.item_ids,
            images=self.train.images,
            class_ids=self.train.class_ids,
            seed=self.seed,
            store=store,
            batch_size=self.batch_size,
        )


@dataclass(frozen=True)
class MethodEntry:
    """A method in the comparison: `build(model)` makes its index (timed as the build) and
    returns the function that scores queries (m, C, R, R) → (m, n)."""

    name: str
    build: Callable[[BenchModel], ScoreFn]
    parameters: dict[str, Any] = field(default_factory=dict)
    single_queries: int | None = None  # overrides the plan's count of timed single queries


def digest_array(values: np.ndarray) -> str:
    """A short content hash of an index array: names a split or a removal in the cache."""
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:12]


def plan_dict(plan: BenchPlan) -> dict[str, Any]:
    """The plan as JSON-ready data."""
    data = asdict(plan)
    data["block_out_channels"] = list(plan.block_out_channels)
    return data


def dumps(figures: dict[str, Any]) -> str:
    """JSON text of the figures (NaN written as null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(figures))
