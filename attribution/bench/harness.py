"""`museum bench attribution`: attribution quality (LDS), speed and a counterfactual check.

Pure model code (no ledger): the data sets are built by `attribution.lds_data` (scikit-learn's
bundled digits 0/1, and the demo founding collection), the models by `generation.training`.

1. LDS (`attribution.lds`): for each data set, the full model's raw checkpoints feed TracIn
   (captum TracInCP), TRAK, D-TRAK and the default method; M models retrained on random halves
   give the ground truth. Reported per target set (held-back real items; generated images)
   with 95% bootstrap intervals over targets and paired bootstraps between methods.
2. Speed, per method on the data set's real index: index build time, median single-query time
   (a generation against every training item, end to end), peak RSS increase.
3. Query latency at 10,000 items: the default method's real index rows are tiled to 10,000
   (plus small seeded noise so the kernel stays well conditioned — SYNTHESISED rows, stated in
   the output), and one real generation is scored end to end (gradients at every checkpoint,
   projection, kernel matmul). TracInCP scores the same query against N real items and its
   time is extrapolated linearly to 10,000 (labelled so).
4. Counterfactual: remove the default method's top-k items of a generation, retrain, compare
   the loss rise with removing k random items.

Retrained models are cached under `$MUSEUM_HOME/bench/attribution/`, so a rerun only scores.
Nothing here asserts a timing: each figure is reported beside its target.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from api.bench_support import torch_threads
from attribution.lds import (
    BenchModel,
    BenchPlan,
    MethodEntry,
    ScoreFn,
    dumps,
    plan_dict,
    run_dataset,
)
from attribution.lds_data import DATASETS
from attribution.methods import DEFAULT_METHOD, METHODS, Method, build_attributor
from attribution.store import AttributionIndex

__all__ = ["FULL", "QUICK", "TARGETS", "method_entries", "render_attribution_bench", "run"]

TARGETS: dict[str, float] = {
    "default_minus_dtrak_lds_points": 5.0,
    "query_seconds_10k": 1.0,
    "speedup_vs_tracincp": 100.0,
}

# Full: the real measurement (M = 64). Quick: M = 32 on a reduced training set, fewer steps.
# Steps were set by the ground truth's test-retest agreement (12 digits-2 subsets, each
# trained twice with different seeds, Spearman over subsets of each held-back target's loss,
# mean over 24 targets): 200 steps +0.03 (the losses measured the seed, not the data), 800
# steps +0.26; 800 steps with a cosine decay +0.17 and with one seed shared by all subsets
# +0.22, so plain independent seeds stay. With one training per subset that agreement caps
# LDS near its square root, so the ground truth averages two seeded trainings of every
# subset (halving its seed noise); seeds 0 and 1 of every subset also measure the agreement.
FULL = BenchPlan(
    steps=800,
    checkpoint_every=400,
    eval_timesteps=50,
    held_back_fraction=0.05,
    held_back_minimum=24,
    generated_targets=24,
    counterfactual_targets=4,
    reliability_subsets=12,
    ground_truth_seeds=2,
)
QUICK = BenchPlan(
    num_subsets=32,
    steps=240,
    checkpoint_every=120,
    train_limit=96,
    held_back_minimum=24,
    generated_targets=24,
    eval_timesteps=50,
    counterfactual_targets=2,
    counterfactual_k=8,
    counterfactual_random=2,
    query_timing_queries=3,
    sampling_steps=25,
    bootstrap=1000,
    reliability_subsets=8,
    ground_truth_seeds=2,
)
# How DEFAULT_METHOD is chosen, fixed before any reported number was seen: candidates are
# scored by `run(True, datasets=("digits-2",), seed=1, methods=[...])` — the quick plan on
# seed 1, so another held-back split, other subsets and other retraining seeds than the
# reported seed-0 runs. The candidate with the best LDS averaged over both target sets is
# adopted only if it beats D-TRAK on both target sets there AND, on the seed-0 full run, its
# LDS averaged over the four (data set × target set) cells is above D-TRAK's; otherwise
# the default stays.
# Round 1 (200-step recipe, whose ground truth later proved to be seed noise): d-trak-mixed
# was selected and did not hold up on seed 0 (that confirmation rule was added after seeing
# those runs; it is now part of the rule above, fixed before round 2 ran).
# Round 2 (800-step recipe, one seed per subset): trak-ridge selected and confirmed.
# Round 3 (written down before it ran): the ground truth now averages two seeds per subset
# (both plans), the candidates include K = 100 timesteps, and "D-TRAK" means both its K = 10
# entry and its published K = 100 setting: a candidate must beat each of them. Outcome:
# trak-ridge-k100 had the best mean but trailed D-TRAK on generated targets; the default stayed.
# Round 4 (written down after round 3, before it ran; the same seed-1 quick models, so only
# scoring): variants that reuse round 3's K = 100 features — a weaker relative ridge, D-TRAK's
# train features with loss-gradient queries, unit-length D-TRAK train rows. Outcome:
# d-trak-unit-k100 had the best mean, above d-trak-k100 on held-back but 1.4 points below it on
# generated targets: not adopted.
# Round 5 (written down after rounds 3 and 4 had been seen, before any seed-0 figure with the
# two-seed ground truth existed): the seed-1 models are no longer blind, and the rule so far
# could never adopt D-TRAK at K = 100 itself, the best method on generated targets, which are
# what the museum attributes. So the decision moves to the seed-0 full run, once: of trak-ridge
# (the incumbent), d-trak-k100 and d-trak-unit-k100, the default is the one with the best LDS
# averaged over the four (data set × target set) cells there.
# Confirmation (written down before it ran): round 5 chose on the reported run, so it is
# checked once on seed 2 (full plan, never scored before: another split, other subsets, other
# retraining seeds) with the same three candidates. The default is confirmed if its four-cell
# mean is the best of the three there; if not, the default becomes the candidate with the best
# four-cell mean pooled over seeds 0 and 2. Outcomes and figures: SELECTION below.
# Round 6 (written down after the seed-2 confirmation, before it ran): the default's margin over
# D-TRAK at K = 100 fell short on seed 2's demo generated targets, so two candidates that
# weight timesteps equally (groups of 10, or each of the 100: d-trak-unit-g10-k100,
# d-trak-unit-g100-k100) are scored once on seed 3 (full plan, both data sets: never scored
# before) beside the default. Rule: a candidate replaces the default only if its smallest
# margin over d-trak-k100 across the four cells exceeds the default's by at least 1 point and
# its four-cell mean is not below the default's (of two such, the larger smallest margin);
# the default stays otherwise. A replacement is then reported as chosen on seed 3, and
# confirmed once on a further seed before the README calls a target met with it. Outcome: equal
# timestep weights changed no cell by more than 1.1 points; the default stays (SELECTION).
SELECTION = {
    "data": "digits-2 and demo",
    "plan": "full",
    "seed": 0,
    "round": 5,
    "candidates": ["trak-ridge", "d-trak-k100", "d-trak-unit-k100"],
    "rule": (
        "the candidate with the best LDS averaged over the four data-set × target-set cells "
        "of the seed-0 full run (two seeds per subset) becomes the default"
    ),
    "history": [
        "round 1 (200 steps): d-trak-mixed selected, not confirmed on seed 0; d-trak stayed",
        "round 2 (800 steps, one seed per subset): trak-ridge selected (+13.2 / +8.5 against "
        "d-trak's +6.5 / +7.6 on seed 1); confirmed on the seed-0 full run (mean of four "
        "cells +12.1 against +7.9): default",
        "round 3 (two seeds per subset; seed 1, quick; LDS % held-back / generated): "
        "trak-ridge +20.7 / +0.4, trak-k100 +26.2 / +4.0, trak-ridge-k100 +28.8 / +5.0 (best "
        "mean), d-trak-ridge-k100 +19.2 / −0.1; baselines d-trak +9.0 / +9.7, d-trak-k100 "
        "+20.2 / +16.5. trak-ridge-k100 trails both baselines on generated targets: not "
        "adopted, trak-ridge stays",
        "round 4 (same models): d-trak-ridge-weak-k100 +28.4 / +12.6, trak-ridge-weak-k100 "
        "+26.6 / +4.2, d-trak-mixed-k100 +1.9 / −0.9, d-trak-unit-k100 +26.6 / +15.1 (best "
        "mean; below d-trak-k100's +16.5 on generated): not adopted, trak-ridge stays",
    ],
    "outcome": (
        "round 5 (seed 0, full; LDS % digits-2 held-back / generated, demo held-back / "
        "generated): trak-ridge +8.3 / +7.9, +40.0 / +8.6 (mean +16.2); d-trak-k100 +9.2 / "
        "+10.4, +27.3 / +5.4 (+13.1); d-trak-unit-k100 +15.2 / +15.8, +37.8 / +12.1 (+20.2): "
        "d-trak-unit-k100 is the default"
    ),
    "confirmation": (
        "seed 2, full, same three candidates, run once: confirmed if d-trak-unit-k100 has the "
        "best four-cell mean there; otherwise the best four-cell mean pooled over seeds 0 and 2 "
        "becomes the default"
    ),
    "round_6": (
        "seed 3, full, both data sets, run once: d-trak-unit-g10-k100 or d-trak-unit-g100-k100 "
        "replaces d-trak-unit-k100 only if its smallest four-cell margin over d-trak-k100 "
        "beats the default's by at least 1 point and its four-cell mean is not below the "
        "default's (of two such, the larger smallest margin); then confirmed once on another seed"
    ),
    "round_6_outcome": (
        "seed 3, full (LDS % digits-2 held-back / generated, demo held-back / generated): "
        "d-trak-k100 +12.0 / +12.2, +30.2 / +16.1; d-trak-unit-k100 +17.5 / +10.7, +40.6 / "
        "+20.6 (smallest margin −1.5, mean +22.4); d-trak-unit-g10-k100 +17.9 / +10.8, +39.5 / "
        "+20.5 (−1.4, +22.2); d-trak-unit-g100-k100 +17.8 / +10.0, +39.6 / +20.5 (−2.2, +22.0): "
        "no candidate beats the default's smallest margin by 1 point; d-trak-unit-k100 stays"
    ),
    "confirmation_outcome": (
        "seed 2, full (LDS % digits-2 held-back / generated, demo held-back / generated): "
        "trak-ridge +9.4 / +5.9, +35.2 / +1.3 (mean +13.0); d-trak-k100 +8.4 / +3.8, +29.7 / "
        "+10.9 (+13.2); d-trak-unit-k100 +12.7 / +9.5, +38.8 / +12.6 (+18.4): confirmed, "
        "d-trak-unit-k100 stays the default"
    ),
}
# D-TRAK as the default's target compares it: its K = 10 entry and the published K = 100.
DTRAK_BASELINES: tuple[str, ...] = ("d-trak", "d-trak-k100")
LATENCY_ITEMS = 10_000
TRACIN_ITEMS = {"full": 128, "quick": 32}
TRACIN_TIMESTEPS: tuple[int, ...] = (100, 300, 500, 700, 900)


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
        attributor = build_attributor(
            method,
            model_factory=model.factory,
            checkpoints=model.checkpoints,
            scheduler=model.scheduler,
            item_ids=model.train.item_ids,
            images=model.train.images,
            class_ids=model.train.class_ids,
            seed=model.seed,
            batch_size=model.batch_size,
        )
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


def _tracin(learning_rate: float) -> Callable[[BenchModel], ScoreFn] | None:
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
    """TracIn, TRAK and D-TRAK (at K = 10 and at the published K = 100) and the default
    method (or the named methods), in that order."""
    wanted = (
        list(names)
        if names is not None
        else ["tracin", "trak", "d-trak", "trak-k100", "d-trak-k100", DEFAULT_METHOD]
    )
    entries: list[MethodEntry] = []
    for name in dict.fromkeys(wanted):
        if name == "tracin":
            build = _tracin(plan.learning_rate)
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
        method = METHODS.get(name)
        if method is None:
            raise ValueError(
                f"unknown method {name!r}; expected tracin or one of {sorted(METHODS)}"
            )
        entries.append(MethodEntry(name, _trak_family(method, keep), method.parameters()))
    return entries


# --- latency at 10,000 items ----------------------------------------------------------------


def _latency(
    model: BenchModel,
    attributor: Any,
    method: Method,
    query: torch.Tensor,
    label: torch.Tensor,
    items: int,
    tracin_items: int,
    learning_rate: float,
    seed: int,
) -> dict[str, Any]:
    """One query against `items` indexed rows (synthesised from the real ones), and TracInCP
    on the same query against `tracin_items` real items, extrapolated linearly."""
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
    big.scorer.fit(features)
    fit_s = time.perf_counter() - started
    # 2. End to end: first (cold) query, then warm ones (models and projector kept).
    times: list[float] = []
    for _ in range(4):
        started = time.perf_counter()
        scores = big.score(query, label)
        times.append(time.perf_counter() - started)
    if scores.shape != (1, items):
        raise ValueError(f"latency query returned shape {scores.shape}")
    warm = statistics.median(times[1:])
    result: dict[str, Any] = {
        "items": items,
        "index_rows": f"synthesised: {n} real feature rows tiled to {items} + 1% seeded noise",
        "kernel_fit_s": fit_s,
        "query_cold_s": times[0],
        "query_s": warm,
        "checkpoints": len(index.features),
        "method": method.name,
    }
    # 3. TracInCP on the same query against real items, extrapolated to `items`.
    build = _tracin(learning_rate)
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


# --- machine --------------------------------------------------------------------------------


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _machine(load_at_start: list[float] | None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "diffusers": metadata.version("diffusers"),
        "captum": metadata.version("captum"),
        "python": platform.python_version(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": _load(),
    }


# --- the bench ------------------------------------------------------------------------------


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    from ledger.settings import get_settings  # deferred: settings read the environment

    return get_settings().home / "bench" / "attribution"


def run(
    quick: bool = False,
    *,
    datasets: Sequence[str] = DATASETS,
    methods: Sequence[str] | None = None,
    seed: int = 0,
    workers: int = 2,
    cache_dir: Path | None = None,
    plan: BenchPlan | None = None,
    latency: bool = True,
    counterfactual: bool = True,
    threads: int | None = None,
    as_json: bool = False,
    console: Console | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the attribution bench, print its tables (or one JSON object) and return figures.

    `methods` replaces the default line-up (tracin, trak, d-trak, DEFAULT_METHOD); `plan`
    replaces the quick/full sizes (tests); `seed` moves every split, subset and seed.
    `threads` sets torch's threads in this process for scoring and timing (restored after;
    retraining workers always use one each): on a busy machine one thread avoids the stalls
    of threads waiting on each other.
    """
    with torch_threads(threads):
        return _run(
            quick,
            datasets=datasets,
            methods=methods,
            seed=seed,
            workers=workers,
            cache_dir=cache_dir,
            plan=plan,
            latency=latency,
            counterfactual=counterfactual,
            as_json=as_json,
            console=console,
            progress=progress,
        )


def _run(
    quick: bool,
    *,
    datasets: Sequence[str],
    methods: Sequence[str] | None,
    seed: int,
    workers: int,
    cache_dir: Path | None,
    plan: BenchPlan | None,
    latency: bool,
    counterfactual: bool,
    as_json: bool,
    console: Console | None,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(datasets, str) or not datasets:
        raise ValueError("name at least one data set, as a sequence of names")
    for name in datasets:
        if name not in DATASETS:
            raise ValueError(f"unknown data set {name!r}; expected one of: {', '.join(DATASETS)}")
    chosen = plan if plan is not None else (QUICK if quick else FULL)
    chosen = dataclasses.replace(chosen, seed=seed, workers=workers)
    began = time.perf_counter()
    load_at_start = _load()
    keep: dict[Any, Any] = {}
    entries = method_entries(methods, chosen, keep)
    names = [e.name for e in entries]
    pairs = [
        (a, b)
        for a, b in (
            (DEFAULT_METHOD, "d-trak"),
            (DEFAULT_METHOD, "d-trak-k100"),
            ("d-trak", "trak"),
            ("d-trak-k100", "trak-k100"),
            ("trak", "tracin"),
        )
        if a in names and b in names and a != b
    ]
    cf_method = DEFAULT_METHOD if counterfactual and DEFAULT_METHOD in names else None
    figures: dict[str, Any] = {
        "bench": "attribution",
        "quick": quick,
        "seed": seed,
        "default_method": DEFAULT_METHOD,
        "plan": plan_dict(chosen),
        "targets": dict(TARGETS),
        "published_anchor_lds_pct": {"d-trak": 26.0, "trak": 16.1, "tracin": "<= 4"},
        "default_selection": SELECTION,
    }
    results: list[dict[str, Any]] = []
    latency_figures: dict[str, Any] | None = None
    root = _cache_root(cache_dir)
    for name in datasets:
        keep.clear()
        data, model, generated = run_dataset(
            name,
            chosen,
            entries,
            cache_root=root,
            counterfactual_method=cf_method,
            comparisons=pairs,
            progress=progress,
        )
        for row in data["methods"]:
            shared = keep.get(("shared", row["name"]))
            if shared is not None:
                # Training features reused from an earlier row: say so, and what they cost.
                row["features_shared_with"] = shared[0]
                row["index_build_s_standalone"] = shared[1] + row["index_build_s"]
        results.append(data)
        if latency and latency_figures is None and DEFAULT_METHOD in keep:
            # Latency on the first data set's bench model, with one real generated target.
            if progress is not None:
                progress(f"{name}: query latency at {LATENCY_ITEMS:,d} items")
            latency_figures = _latency(
                model,
                keep[DEFAULT_METHOD],
                METHODS[DEFAULT_METHOD],
                generated[:1],
                torch.as_tensor(data_label(data, generated), dtype=torch.long),
                LATENCY_ITEMS,
                TRACIN_ITEMS["quick" if quick else "full"],
                chosen.learning_rate,
                seed,
            )
            latency_figures["dataset"] = name
    figures["datasets"] = results
    figures["latency"] = latency_figures
    figures["verdicts"] = _verdicts(figures)
    figures["machine"] = _machine(load_at_start)
    figures["seconds_total"] = time.perf_counter() - began
    out = console or Console()
    if as_json:
        out.print_json(dumps(figures)) if console is not None else print(dumps(figures))
    else:
        out.print(render_attribution_bench(figures))
    return json.loads(dumps(figures))  # type: ignore[no-any-return]


def data_label(data: dict[str, Any], generated: torch.Tensor) -> list[int]:
    """The class id of the first generated target (recorded by the harness)."""
    del generated
    labels: list[int] = data["generated_class_ids"][:1]
    return labels


def _lds(row: dict[str, Any], targets: str) -> float:
    return float(row["lds"][targets]["mean"])


def _verdicts(figures: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue, met or not, from the figures alone."""
    out: dict[str, Any] = {}
    default = figures["default_method"]
    for data in figures["datasets"]:
        rows = {r["name"]: r for r in data["methods"]}
        for targets in data["targets"]:
            key = f"{data['name']}/{targets}"
            lds = {name: _lds(row, targets) for name, row in rows.items()}
            ordering = None
            if {"d-trak", "trak", "tracin"} <= set(lds):
                ordering = lds["d-trak"] > lds["trak"] > lds["tracin"]
            ordering_k100 = None
            if {"d-trak-k100", "trak-k100", "tracin"} <= set(lds):
                ordering_k100 = lds["d-trak-k100"] > lds["trak-k100"] > lds["tracin"]
            # The target is against D-TRAK at its best: the K = 10 entry or the published
            # K = 100 setting, whichever scored higher on these targets.
            dtraks = [name for name in DTRAK_BASELINES if name in lds and name != default]
            margin = None
            if default in lds and dtraks:
                margin = 100.0 * (lds[default] - max(lds[name] for name in dtraks))
            out[key] = {
                "ordering_dtrak_trak_tracin": ordering,
                "ordering_at_100_timesteps": ordering_k100,
                "default_minus_dtrak_points": margin,
                "default_beats_dtrak_by_5": margin is not None and margin >= 5.0,
            }
        cf = data.get("counterfactual")
        if cf is not None:
            out[f"{data['name']}/counterfactual"] = cf["top_k_beats_random"]
    latency = figures.get("latency")
    if latency is not None:
        out["query_le_1s_at_10k"] = latency["query_s"] <= TARGETS["query_seconds_10k"]
        if latency.get("speedup") is not None:
            out["speedup_ge_100x"] = latency["speedup"] >= TARGETS["speedup_vs_tracincp"]
    return out


# --- rendering ------------------------------------------------------------------------------


def _pct(block: dict[str, Any]) -> str:
    return f"{100 * block['mean']:+.1f} [{100 * block['low']:+.1f}, {100 * block['high']:+.1f}]"


def _seconds(value: float | None) -> str:
    """A per-query time; TracIn's is the latency line's (each call redoes all train grads)."""
    if value is None or math.isnan(value):
        return "see latency"
    return f"{value:.3f}"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _lds_table(data: dict[str, Any], default: str) -> Table:
    targets = data["targets"]
    table = Table(
        title=(
            f"Attribution LDS: {data['name']} — {data['train_items']} training items, "
            f"{data['subsets']} subsets of {data['subset_size']}, targets "
            + ", ".join(f"{v} {k}" for k, v in targets.items())
        ),
        caption=(
            f"LDS % = mean over targets of Spearman(Σ scores over subset, −loss), 95% bootstrap "
            f"interval over targets · loss over {data['eval_timesteps']} timesteps, fixed noise · "
            f"models trained {data['models_trained']}, loaded from cache {data['models_loaded']}"
            + (
                " · † training features shared with an earlier row: its build time plus this "
                "row's kernel fit"
                if any("features_shared_with" in row for row in data["methods"])
                else ""
            )
        ),
    )
    table.add_column("method")
    for name in targets:
        table.add_column(f"LDS % {name}", justify="right")
    table.add_column("index build s", justify="right")
    table.add_column("per query s", justify="right")
    table.add_column("peak RSS MiB", justify="right")
    for row in data["methods"]:
        label = f"{row['name']} (default)" if row["name"] == default else row["name"]
        build = f"{row['index_build_s']:.1f}"
        if "features_shared_with" in row:
            build = f"{row['index_build_s_standalone']:.1f}†"
        table.add_row(
            label,
            *[_pct(row["lds"][name]) for name in targets],
            build,
            _seconds(row["per_query_s"]),
            _mib(row["peak_rss_mib"]),
        )
    return table


def _comparison_table(data: dict[str, Any]) -> Table:
    table = Table(
        title=f"Paired bootstrap over targets: {data['name']}",
        caption="difference of LDS points (a − b), 95% interval; better = interval excludes 0",
    )
    for label in ("a", "b", "targets", "a − b", "95% interval", "verdict"):
        table.add_column(label, justify="right" if label in ("a − b", "95% interval") else "left")
    for c in data["comparisons"]:
        verdict = "a better" if c["a_better"] else "b better" if c["b_better"] else "no call"
        table.add_row(
            c["a"],
            c["b"],
            c["targets"],
            f"{100 * c['diff']:+.1f}",
            f"[{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]",
            verdict,
        )
    return table


def _reliability_text(data: dict[str, Any]) -> Text:
    rel = data.get("ground_truth_reliability") or {}
    blocks: list[tuple[str, dict[str, Any]]] = [
        (name, rel[name]) for name in data["targets"] if rel.get(name) is not None
    ]
    if not rel.get("subsets") or len(blocks) < len(data["targets"]):
        return Text(f"{data['name']}: ground-truth reliability not measured", style="dim")
    parts = ", ".join(f"{name} {_pct(block)}" for name, block in blocks)
    line = (
        f"Ground truth {data['name']}: test-retest Spearman % over {rel['subsets']} subsets "
        f"retrained with another seed: {parts}"
    )
    seeds = rel.get("ground_truth_seeds", 1)
    if seeds > 1 and all("averaged" in block for _, block in blocks):
        averaged = ", ".join(f"{name} {_pct(block['averaged'])}" for name, block in blocks)
        line += f"; the ground truth averages {seeds} seeds per subset (Spearman–Brown): {averaged}"
    return Text(line + " (LDS is bounded by about its square root)")


def _counterfactual_text(data: dict[str, Any]) -> Text:
    cf = data.get("counterfactual")
    if cf is None:
        return Text(f"{data['name']}: no counterfactual check", style="dim")
    each = ", ".join(
        f"#{t['target']}: {t['top_k_rise']:+.4f} vs {t['random_rise_mean']:+.4f}"
        for t in cf["targets"]
    )
    ok = cf["top_k_beats_random"]
    return Text(
        f"Counterfactual {data['name']} ({cf['method']}, k = {cf['k']}, "
        f"{cf['random_draws']} random draws): loss rise removing top-k "
        f"{cf['top_k_rise_mean']:+.4f} vs random {cf['random_rise_mean']:+.4f} "
        f"{'✓' if ok else '✗'} · per target {each}",
        style="green" if ok else "red",
    )


def _latency_text(figures: dict[str, Any]) -> Text:
    lat = figures.get("latency")
    if lat is None:
        return Text("latency: not measured", style="dim")
    line = (
        f"Latency ({lat['dataset']}, {lat['method']}, {lat['checkpoints']} checkpoints): one "
        f"generation vs {lat['items']:,d} items {lat['query_s']:.3f} s warm "
        f"({lat['query_cold_s']:.3f} s cold) · target ≤ {TARGETS['query_seconds_10k']:.0f} s "
        f"{'✓' if lat['query_s'] <= TARGETS['query_seconds_10k'] else '✗'} · index rows "
        f"{lat['index_rows']}"
    )
    tracin = lat.get("tracin")
    if tracin is not None:
        line += (
            f" · TracInCP: {tracin['seconds_measured']:.2f} s for {tracin['items_measured']} "
            f"items, extrapolated linearly to {lat['items']:,d}: "
            f"{tracin['seconds_at_items_extrapolated']:.1f} s → speed-up {lat['speedup']:,.0f}× "
            f"(target ≥ {TARGETS['speedup_vs_tracincp']:.0f}×) "
            f"{'✓' if lat['speedup'] >= TARGETS['speedup_vs_tracincp'] else '✗'}"
        )
    return Text(line)


def render_attribution_bench(figures: dict[str, Any]) -> Group:
    """Per data set: the LDS table, the paired comparisons and the counterfactual line; then
    the latency line and a line about the machine."""
    parts: list[Any] = []
    for data in figures["datasets"]:
        parts.append(_lds_table(data, figures["default_method"]))
        if data["comparisons"]:
            parts.append(_comparison_table(data))
        parts.append(_reliability_text(data))
        parts.append(_counterfactual_text(data))
    parts.append(_latency_text(figures))
    machine = figures.get("machine", {})
    load_start, load_end = machine.get("load_average_at_start"), machine.get("load_average_at_end")
    parts.append(
        Text(
            f"{'quick run · ' if figures.get('quick') else ''}seed {figures['seed']} · "
            f"{machine.get('cpu_count')} CPUs ({machine.get('cpu')}) · torch "
            f"{machine.get('torch')} · captum {machine.get('captum')} · load "
            f"{load_start[0] if load_start else 'n/a'} at start, "
            f"{load_end[0] if load_end else 'n/a'} at end · "
            f"{figures.get('seconds_total', 0.0):.0f} s in all",
            style="dim",
        )
    )
    return Group(*parts)
