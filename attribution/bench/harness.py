"""`museum bench attribution`: attribution quality (LDS), speed and a counterfactual check.

Model code (the ledger only for its settings and the bench kit): the data sets are built by
`attribution.bench.data` (scikit-learn's bundled digits 0/1, and the demo founding collection),
the models by `generation.training`. Returns its figures and prints nothing: `api.cli.bench`
renders them.

1. LDS (`attribution.bench.lds`): for each data set, the full model's raw checkpoints feed TracIn
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
5. Credit stability (`attribution.bench.stability`, no retraining, so in `--quick` too): per
   method, on every generated target, the credit agreement of R independent projection seeds
   (per item, artist and stage role, top-k overlap, Spearman), with what the default would
   agree on at other k, as an ensemble, or with no projection, and the noise seed's share;
   every one of those scorings also gets an LDS on the LDS table's targets, so a method's LDS
   is reported over its projection seeds and the default is compared seed-averaged
   (`attribution.bench.seed_lds`).

Retrained models are cached under `$MUSEUM_HOME/bench/attribution/`, so a rerun only scores.
Nothing here asserts a timing: each figure is reported beside its target.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attribution.bench.candidates import BENCH_METHODS, method_entries
from attribution.bench.data import DATASETS
from attribution.bench.latency import measure_latency
from attribution.bench.lds import run_dataset
from attribution.bench.plan import BenchPlan, dumps, plan_dict
from attribution.bench.stability import StabilityPlan, measure_stability
from attribution.methods import DEFAULT_METHOD, METHODS, PREVIOUS_DEFAULT, SCORERS, Method
from generation.benchkit import torch_facts, torch_threads
from generation.seeds import check_seed
from ledger.benchkit import host_facts, load_average

__all__ = ["FULL", "QUICK", "TARGETS", "run"]

TARGETS: dict[str, float] = {
    "default_minus_dtrak_lds_points": 5.0,
    "query_seconds_10k": 1.0,
    "speedup_vs_tracincp": 100.0,
    # Credit agreement across projection seeds, mean over generated targets (issue 20).
    "credit_agreement_item": 0.90,
    "credit_agreement_artist": 0.95,
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
# How DEFAULT_METHOD was chosen (the rule of every selection round, written down before it ran,
# its candidates and outcomes with their figures): docs/attribution.md.
SELECTION_RECORD = "docs/attribution.md"
# D-TRAK as the default's target compares it: its K = 10 entry and the published K = 100.
DTRAK_BASELINES: tuple[str, ...] = ("d-trak", "d-trak-k100")
# The credit-stability block: 3 projection seeds, top-10 credit, the default also at k = 2048,
# 8192, 16384 and 32768, as 4 projections of 2048, and exact; one more noise seed for it.
STABILITY = StabilityPlan()
LATENCY_ITEMS = 10_000
TRACIN_ITEMS = {"full": 128, "quick": 32}


# --- machine --------------------------------------------------------------------------------


def _machine(load_at_start: list[float] | None) -> dict[str, Any]:
    return {
        **host_facts("cpu_count", "cpu"),
        **torch_facts("torch", "torch_threads", "diffusers", "captum"),
        **host_facts("python"),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
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
    stability: StabilityPlan | None = STABILITY,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the attribution bench and return its figures (JSON-ready: NaN as None); prints nothing.

    `methods` replaces the default line-up (tracin, trak, d-trak, DEFAULT_METHOD); `plan`
    replaces the quick/full sizes (tests); `seed` moves every split, subset and seed;
    `stability` sizes the credit-stability block (None: skip it).
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
            stability=stability,
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
    stability: StabilityPlan | None,
    progress: Callable[[str], None] | None,
) -> dict[str, Any]:
    check_seed(seed)
    if isinstance(datasets, str) or not datasets:
        raise ValueError("name at least one data set, as a sequence of names")
    for name in datasets:
        if name not in DATASETS:
            raise ValueError(f"unknown data set {name!r}; expected one of: {', '.join(DATASETS)}")
    chosen = plan if plan is not None else (QUICK if quick else FULL)
    chosen = dataclasses.replace(chosen, seed=seed, workers=workers)
    began = time.perf_counter()
    load_at_start = load_average()
    keep: dict[Any, Any] = {}
    entries = method_entries(methods, chosen, keep)
    names = [e.name for e in entries]
    pairs = [
        (a, b)
        for a, b in (
            (DEFAULT_METHOD, "d-trak"),
            (DEFAULT_METHOD, "d-trak-k100"),
            (DEFAULT_METHOD, PREVIOUS_DEFAULT),
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
        "default_selection": {"method": DEFAULT_METHOD, "record": SELECTION_RECORD},
    }
    results: list[dict[str, Any]] = []
    latency_figures: dict[str, Any] | None = None
    root = _cache_root(cache_dir)
    for name in datasets:
        keep.clear()
        data, model, lds_targets = run_dataset(
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
        if stability is not None:
            # Credit stability on the generated targets (no retraining, only more projections),
            # and every scoring's LDS on all targets, so LDS is reported over projection seeds.
            stable = [BENCH_METHODS[e.name] for e in entries if e.name in BENCH_METHODS]
            data["stability"] = measure_stability(
                model,
                stable,
                DEFAULT_METHOD,
                lds_targets.images,
                lds_targets.labels,
                stability,
                progress=progress,
                credited=lds_targets.rows("generated").tolist(),
                truth=lds_targets.truth,
                lds_pairs=[
                    (m.name, PREVIOUS_DEFAULT)
                    for m in stable
                    if PREVIOUS_DEFAULT in names and m.name != PREVIOUS_DEFAULT
                ],
            )
        results.append(data)
        if latency and latency_figures is None and DEFAULT_METHOD in keep:
            # Latency on the first data set's bench model, with one real generated target.
            if progress is not None:
                progress(f"{name}: query latency at {LATENCY_ITEMS:,d} items")
            latency_figures = measure_latency(
                model,
                keep[DEFAULT_METHOD],
                METHODS[DEFAULT_METHOD],
                lds_targets.generated[:1],
                lds_targets.generated_labels[:1],
                LATENCY_ITEMS,
                TRACIN_ITEMS["quick" if quick else "full"],
                chosen.learning_rate,
                seed,
                kernel=_latency_kernel(METHODS[DEFAULT_METHOD]),
            )
            latency_figures["dataset"] = name
    figures["datasets"] = results
    figures["latency"] = latency_figures
    figures["verdicts"] = _verdicts(figures)
    figures["machine"] = _machine(load_at_start)
    figures["seconds_total"] = time.perf_counter() - began
    return json.loads(dumps(figures))  # type: ignore[no-any-return]


def _latency_kernel(method: Method) -> str:
    """How the 10,000-item query gets its kernel: fitted where the scorer solves its k × k
    primal form; synthesised (random weights of the fitted shape and dtype, which is all a
    query's cost depends on) where it would solve the 10,000 × 10,000 dual with k right-hand
    sides — minutes and gigabytes, and not part of a query."""
    scorer = SCORERS[method.scorer](method.regularisation)
    dual = scorer.dual(LATENCY_ITEMS, method.dim, method.regularisation)
    return "synthesised" if dual else "fitted"


def _lds(row: dict[str, Any], targets: str) -> float:
    return float(row["lds"][targets]["mean"])


def _not_lower(comparisons: list[dict[str, Any]], default: str, targets: str) -> bool | None:
    """Whether the default's paired interval against the previous default reaches 0 or above
    on `targets` (None: not compared)."""
    for c in comparisons:
        if (c["a"], c["b"], c["targets"]) == (default, PREVIOUS_DEFAULT, targets):
            return bool(c["high"] >= 0.0)
    return None


def _verdicts(figures: dict[str, Any]) -> dict[str, Any]:
    """Each target of the issue, met or not, from the figures alone."""
    out: dict[str, Any] = {}
    default = figures["default_method"]
    for data in figures["datasets"]:
        rows = {r["name"]: r for r in data["methods"]}
        block = data.get("stability")
        over_seeds = block.get("lds_comparisons", []) if block else []
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
                # Not lower than the previous default: the paired interval reaches 0 or above,
                # against its LDS at the bench's projection seed and averaged over seeds.
                "default_not_lower_than_previous": {
                    "at_the_bench_seed": _not_lower(data.get("comparisons", []), default, targets),
                    "over_projection_seeds": _not_lower(over_seeds, default, targets),
                },
            }
        stable = {r["name"]: r for r in block["rows"]} if block else {}
        if stable.get(default) is not None:
            mean = stable[default]["agreement"]["mean"]
            out[f"{data['name']}/credit_agreement"] = {
                "item": mean["item"],
                "artist": mean["artist"],
                "met": mean["item"] >= TARGETS["credit_agreement_item"]
                and mean["artist"] >= TARGETS["credit_agreement_artist"],
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
