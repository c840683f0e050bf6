"""The bench's own candidates for the default method, beside the registry's published ones, and
the line-up `museum bench attribution --methods` builds from them.

`attribution.methods.METHODS` holds what a user chooses from (the default and the published
baselines); the candidates that the selection rounds scored (docs/attribution.md) live here
and are registered in `BENCH_METHODS`, so the bench still accepts every name it ever scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from attribution.bench.plan import BenchModel, BenchPlan, MethodEntry, ScoreFn
from attribution.methods import (
    DEFAULT_METHOD,
    METHODS,
    PREVIOUS_DEFAULT,
    Method,
    bench_method,
)

__all__ = [
    "BENCH_METHODS",
    "CANDIDATES",
    "TRACIN_TIMESTEPS",
    "method_entries",
    "tracin_builder",
]

TRACIN_TIMESTEPS: tuple[int, ...] = (100, 300, 500, 700, 900)

CANDIDATES: dict[str, Method] = {
    # Round 1: the same features as TRAK / D-TRAK, with unit-length training rows and/or
    # loss-gradient queries against square-norm train features.
    "d-trak-unit": bench_method("d-trak-unit", "square_norm", "square_norm", "unit-train"),
    "d-trak-mixed": bench_method("d-trak-mixed", "square_norm", "loss"),
    "d-trak-mixed-unit": bench_method("d-trak-mixed-unit", "square_norm", "loss", "unit-train"),
    "trak-unit": bench_method("trak-unit", "loss", "loss", "unit-train"),
    # Round 2: the kernel's λ relative to the features' own spectrum (0.1 or 1 × the mean
    # non-zero eigenvalue of ΦᵀΦ) instead of an absolute 1e-3.
    "d-trak-ridge": bench_method(
        "d-trak-ridge", "square_norm", "square_norm", "relative-ridge", 0.1
    ),
    "d-trak-ridge-strong": bench_method(
        "d-trak-ridge-strong", "square_norm", "square_norm", "relative-ridge", 1.0
    ),
    "trak-ridge": bench_method("trak-ridge", "loss", "loss", "relative-ridge", 0.1),
    # Round 3: K = 100 timesteps with the relative ridge.
    "trak-ridge-k100": bench_method("trak-ridge-k100", "loss", "loss", "relative-ridge", 0.1, 100),
    "d-trak-ridge-k100": bench_method(
        "d-trak-ridge-k100", "square_norm", "square_norm", "relative-ridge", 0.1, 100
    ),
    # Round 4: the same K = 100 features, other kernels and queries.
    "d-trak-ridge-weak-k100": bench_method(
        "d-trak-ridge-weak-k100", "square_norm", "square_norm", "relative-ridge", 0.01, 100
    ),
    "trak-ridge-weak-k100": bench_method(
        "trak-ridge-weak-k100", "loss", "loss", "relative-ridge", 0.01, 100
    ),
    "d-trak-mixed-k100": bench_method("d-trak-mixed-k100", "square_norm", "loss", timesteps=100),
    # Round 6: the same K = 100 D-TRAK features and kernel as the default, with each group of
    # 10 timesteps (or each timestep) given the same weight in a row (see GradientComputer).
    "d-trak-unit-g10-k100": replace(
        bench_method(
            "d-trak-unit-g10-k100", "square_norm", "square_norm", "unit-train", timesteps=100
        ),
        checkpoints=2,
        timestep_groups=10,
    ),
    "d-trak-unit-g100-k100": replace(
        bench_method(
            "d-trak-unit-g100-k100", "square_norm", "square_norm", "unit-train", timesteps=100
        ),
        checkpoints=2,
        timestep_groups=100,
    ),
    # Round 7 (issue 20): the default's gradients, projection and kernel at k = 32768 with a
    # stronger ridge. Its training rows are unit-length and n < k, so λ is that share of the
    # kernel's mean non-zero eigenvalue (the default's 1e-3 hardly smooths at all).
    **{
        name: replace(
            bench_method(name, "square_norm", "square_norm", "unit-train", ridge, timesteps=100),
            checkpoints=2,
            dim=32768,
        )
        for name, ridge in (
            ("d-trak-unit-k100-d32768-l0p01", 0.01),
            ("d-trak-unit-k100-d32768-l0p03", 0.03),
            ("d-trak-unit-k100-d32768-l0p1", 0.1),
        )
    },
    # Round 8 (issue 20) scored the default at k = 65536, the largest k `museum attribute`
    # accepts, for the full plan's models; round 9 made it the default, so it is registered in
    # `attribution.methods.METHODS` (and still accepted here by name).
}

# Every name the bench accepts besides tracin: the registry's, then the candidates.
BENCH_METHODS: dict[str, Method] = {**METHODS, **CANDIDATES}


# --- methods --------------------------------------------------------------------------------


def _trak_family(method: Method, keep: dict[Any, Any]) -> Callable[[BenchModel], ScoreFn]:
    """Build an Attributor for `method`; training features are computed once per feature
    signature (train output, timesteps, k, projection) and shared by methods that differ only
    in query output or scorer: the same rows, so a fair comparison and a cheaper bench."""

    def build(model: BenchModel) -> ScoreFn:
        signature = (
            "features",
            method.output,
            method.timesteps,
            method.dim,
            method.projection,
            method.timestep_groups,
        )
        attributor = model.attributor(method)
        donor = keep.get(signature)
        if donor is None:
            # 1. First method with these features: compute them (the timed index build).
            started = time.perf_counter()
            attributor.build_index()
            keep[signature] = (method.name, attributor, time.perf_counter() - started)
        else:
            # 2. Same training features as an earlier method: refit this method's scorer only.
            name, source, seconds = donor
            attributor.index = source.index
            attributor.scorer.fit(list(source.index.features))
            keep[("shared", method.name)] = (name, seconds)
        keep[method.name] = attributor
        return attributor.score

    return build


def tracin_builder(learning_rate: float) -> Callable[[BenchModel], ScoreFn] | None:
    """captum TracInCP through `attribution.tracin`; None when that module is not there."""
    try:
        from attribution.tracin import TracInBaseline
    except ImportError:
        return None

    def build(model: BenchModel) -> ScoreFn:
        baseline = TracInBaseline(
            model.factory,
            list(model.checkpoints),
            model.scheduler,
            timesteps=TRACIN_TIMESTEPS,
            seed=model.seed,
            # captum differentiates each example through its whole batch: batch 1 is its
            # fastest on a CPU, so the speed-up is measured against TracInCP at its best.
            batch_size=1,
            learning_rate=learning_rate,
        )
        train = model.train

        def score(images: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
            return np.asarray(
                baseline.scores(train.images, train.class_ids, images, labels), dtype=np.float64
            )

        return score

    return build


def method_entries(
    names: Sequence[str] | None, plan: BenchPlan, keep: dict[Any, Any]
) -> list[MethodEntry]:
    """TracIn, TRAK and D-TRAK (at K = 10 and at the published K = 100), the previous default
    and the default method (or the named methods), in that order."""
    wanted = (
        list(names)
        if names is not None
        else [
            "tracin",
            "trak",
            "d-trak",
            "trak-k100",
            "d-trak-k100",
            PREVIOUS_DEFAULT,
            DEFAULT_METHOD,
        ]
    )
    entries: list[MethodEntry] = []
    for name in dict.fromkeys(wanted):
        if name == "tracin":
            build = tracin_builder(plan.learning_rate)
            if build is not None:
                entries.append(
                    MethodEntry(
                        "tracin",
                        build,
                        {"timesteps": list(TRACIN_TIMESTEPS), "learning_rate": plan.learning_rate},
                        # Each TracInCP call recomputes every training gradient: its single-query
                        # time is the latency figure (N items, extrapolated), not timed here.
                        single_queries=0,
                    )
                )
            continue
        method = BENCH_METHODS.get(name)
        if method is None:
            raise ValueError(
                f"unknown method {name!r}; expected tracin or one of {sorted(BENCH_METHODS)}"
            )
        entries.append(MethodEntry(name, _trak_family(method, keep), method.parameters()))
    return entries
