"""Query latency at 10,000 items: the default's real index rows tiled (SYNTHESISED, stated in
the figures) and one real generation scored end to end, beside TracInCP extrapolated."""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

import torch

from attribution.bench.candidates import tracin_builder
from attribution.bench.plan import BenchModel
from attribution.methods import Method, build_attributor
from attribution.store import AttributionIndex


def measure_latency(
    model: BenchModel,
    attributor: Any,
    method: Method,
    query: torch.Tensor,
    label: torch.Tensor,
    items: int,
    tracin_items: int,
    learning_rate: float,
    seed: int,
    kernel: str = "fitted",
    repeats: int = 4,
) -> dict[str, Any]:
    """One query against `items` indexed rows (synthesised from the real ones), and TracInCP
    on the same query against `tracin_items` real items, extrapolated linearly.

    `kernel` "fitted" fits the scorer on the synthesised rows (at k = 32768 and 10,000 items a
    10,000 × 10,000 solve with 32,768 right-hand sides: far longer than the query); "synthesised"
    gives it seeded random weights of the shape and dtype the fit would keep, which is all a
    query's cost depends on (`TrakScorer.use_weights`)."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 2:
        raise ValueError(
            f"repeats must be an integer ≥ 2 (one cold query, then warm ones), not {repeats!r}"
        )
    if kernel not in ("fitted", "synthesised"):
        raise ValueError(f"kernel must be 'fitted' or 'synthesised', not {kernel!r}")
    index: AttributionIndex = attributor.index
    n = len(model.train.item_ids)
    generator = torch.Generator().manual_seed(seed)
    features = []
    for real in index.features:
        # 1. Tile the real rows to `items` and add 1% seeded noise (keeps rows distinct).
        tiled = real[torch.arange(items) % n]
        scale = 0.01 * float(real.norm(dim=1).mean()) / math.sqrt(real.shape[1])
        features.append(tiled + scale * torch.randn(tiled.shape, generator=generator))
    ids = tuple(f"synthetic-{i}" for i in range(items))
    big = build_attributor(
        method,
        model_factory=model.factory,
        checkpoints=model.checkpoints,
        scheduler=model.scheduler,
        item_ids=ids,
        images=model.train.images[torch.arange(items) % n],
        class_ids=model.train.class_ids[torch.arange(items) % n],
        seed=model.seed,
        batch_size=model.batch_size,
    )
    started = time.perf_counter()
    big.index = AttributionIndex(
        item_ids=ids,
        checkpoint_hashes=index.checkpoint_hashes,
        features=tuple(features),
        output=index.output,
        timesteps=index.timesteps,
        dim=index.dim,
        seed=index.seed,
        regularisation=index.regularisation,
        extra=index.extra,
    )
    if kernel == "fitted":
        big.scorer.fit(features)
    else:
        k = features[0].shape[1]
        dtype = big.scorer.weight_dtype(items, k, big.scorer.regularisation)
        big.scorer.use_weights(
            [torch.randn((k, items), generator=generator, dtype=dtype) for _ in features]
        )
    fit_s = time.perf_counter() - started
    # 2. End to end: first (cold) query, then warm ones (models and projector kept).
    times: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        scores = big.score(query, label)
        times.append(time.perf_counter() - started)
    if scores.shape != (1, items):
        raise ValueError(f"latency query returned shape {scores.shape}")
    warm = statistics.median(times[1:])
    result: dict[str, Any] = {
        "items": items,
        "index_rows": f"synthesised: {n} real feature rows tiled to {items} + 1% seeded noise",
        "kernel": kernel,
        "kernel_fit_s": fit_s,
        "query_cold_s": times[0],
        "query_s": warm,
        "warm_queries": len(times) - 1,
        "checkpoints": len(index.checkpoint_hashes),
        "method": method.name,
    }
    # 3. TracInCP on the same query against real items, extrapolated to `items`.
    build = tracin_builder(learning_rate)
    if build is None:
        result["tracin"] = None
        return result
    m = min(tracin_items, n)
    subset = BenchModel(
        model.model_config,
        model.checkpoints,
        model.train.subset(list(range(m))),
        model.seed,
        model.batch_size,
    )
    score = build(subset)
    started = time.perf_counter()
    score(query, label)
    tracin_s = time.perf_counter() - started
    per_item = tracin_s / m
    result["tracin"] = {
        "items_measured": m,
        "seconds_measured": tracin_s,
        "seconds_at_items_extrapolated": per_item * items,
        "extrapolated": m < items,
    }
    result["speedup"] = per_item * items / warm
    return result
