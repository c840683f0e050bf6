"""Linear datamodeling score (LDS) harness: how well attribution scores predict retraining.

Protocol (TRAK, Park et al. 2023; D-TRAK, Zheng et al. 2024), with this repo's sign convention
(a score is the predicted DECREASE of the target's loss when the item is trained on):

1. Train the full model on the training set; its raw-weight checkpoints feed every method.
2. Targets: held-back real items (never trained on) and images the full model generates.
3. Draw M random subsets of half the training set (α = 0.5), retrain the same recipe on each
   (seed derived from the subset index) and measure each target's denoising loss, averaged
   over T evenly spaced timesteps with fixed per-target noise: the ground truth.
4. Per target, LDS = Spearman correlation over the M subsets between Σ_{i∈S_m} score_i and the
   NEGATIVE measured loss; the method's LDS is the mean over targets, with a 95% bootstrap
   interval over targets, and paired bootstraps (same resampled targets) for differences.
5. Counterfactual: for a few generated targets remove the default method's top-k items and
   retrain, versus removing k random items; the target's loss should rise more.

Nothing here prints; `api.bench_attribution` renders the figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attribution._seeding import derived_seed
from attribution.lds_data import BenchData, load_dataset, split_held_back
from attribution.lds_train import (
    EvalSet,
    JobResult,
    Recipe,
    TrainJob,
    load_checkpoints,
    run_jobs,
)
from generation.model import build_unet, checkpoint_hash, sampling_scheduler, training_scheduler
from generation.presets import ModelConfig, TrainConfig
from generation.sampling import MuseumPipeline

__all__ = [
    "BenchModel",
    "BenchPlan",
    "MethodEntry",
    "ScoreFn",
    "bootstrap_interval",
    "ground_truth_reliability",
    "lds_per_target",
    "paired_bootstrap",
    "peak_rss_meter",
    "rank",
    "run_dataset",
    "spearman",
    "spearman_brown",
    "subset_masks",
]

StateDict = dict[str, torch.Tensor]
ScoreFn = Callable[[torch.Tensor, torch.Tensor], np.ndarray]


# --- the maths ------------------------------------------------------------------------------


def rank(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their average rank (what Spearman's rho needs)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("rank takes a 1-D array")
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    starts = np.cumsum(counts) - counts
    return (starts + (counts - 1) / 2.0)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson on average ranks); NaN when either side is constant."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ValueError("spearman takes two 1-D arrays of the same length (at least 2)")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("spearman takes finite values only")
    ra, rb = rank(a) - (a.size - 1) / 2.0, rank(b) - (b.size - 1) / 2.0
    denominator = math.sqrt(float(ra @ ra) * float(rb @ rb))
    if denominator == 0.0:
        return math.nan
    return float(ra @ rb) / denominator


def subset_masks(n: int, num_subsets: int, fraction: float, seed: int) -> np.ndarray:
    """(M, n) boolean masks, each holding round(fraction·n) items drawn without replacement
    from a generator seeded by (seed, subset index): subset m never depends on M."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}")
    if isinstance(num_subsets, bool) or not isinstance(num_subsets, int) or num_subsets < 2:
        raise ValueError(f"num_subsets must be an integer of at least 2, got {num_subsets!r}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    size = max(1, round(fraction * n))
    masks = np.zeros((num_subsets, n), dtype=bool)
    for m in range(num_subsets):
        # 1. Each subset from its own generator: adding subsets leaves earlier ones unchanged.
        rng = np.random.default_rng([seed, 202, m])
        masks[m, rng.choice(n, size=size, replace=False)] = True
    return masks


def lds_per_target(scores: np.ndarray, masks: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """LDS of each target: Spearman over subsets of (Σ_{i∈S} score) and (−measured loss).

    scores (t, n): score of item i for target j; masks (M, n); losses (M, t). A target whose
    predictions are all equal (the method ranks nothing) gets 0, not NaN: it predicts nothing.
    """
    s = np.asarray(scores, dtype=np.float64)
    mk = np.asarray(masks, dtype=bool)
    y = np.asarray(losses, dtype=np.float64)
    if s.ndim != 2 or mk.ndim != 2 or y.ndim != 2:
        raise ValueError("scores, masks and losses must be 2-D")
    if mk.shape[1] != s.shape[1] or y.shape != (mk.shape[0], s.shape[0]):
        raise ValueError(
            f"shapes do not agree: scores {s.shape}, masks {mk.shape}, losses {y.shape}; "
            "expected scores (t, n), masks (M, n), losses (M, t)"
        )
    predicted = mk.astype(np.float64) @ s.T  # (M, t)
    out = np.empty(s.shape[0])
    for j in range(s.shape[0]):
        # 1. Rank agreement of predicted loss decrease with the measured (negated) loss.
        rho = spearman(predicted[:, j], -y[:, j])
        out[j] = 0.0 if math.isnan(rho) else rho
    return out


def _resamples(t: int, count: int, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, 303]).integers(0, t, size=(count, t))


def bootstrap_interval(
    values: np.ndarray, *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of the mean over targets."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError("values must be a non-empty 1-D array")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    means = v[_resamples(v.size, resamples, seed)].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(v.mean()), float(lo), float(hi)


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, *, resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> dict[str, float | bool]:
    """Mean of a − b over targets, its interval from the same resampled targets for both, the
    share of resamples where a ≤ b (a one-sided p-value), and whether the interval excludes 0."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("a and b must be 1-D arrays of the same non-zero length")
    diff = x - y
    means = diff[_resamples(diff.size, resamples, seed)].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return {
        "diff": float(diff.mean()),
        "low": float(lo),
        "high": float(hi),
        "p_a_not_better": float((means <= 0.0).mean()),
        "a_better": bool(lo > 0.0),
        "b_better": bool(hi < 0.0),
    }


# --- peak memory ----------------------------------------------------------------------------


def _status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class peak_rss_meter:
    """Peak resident memory of this process during a block, over the RSS at its start.

    Linux only: writing 5 to /proc/self/clear_refs resets VmHWM (the high-water mark), which
    is then read back at the end. Counts everything the process touches (torch's allocator,
    the model copies, numpy), unlike tracemalloc. `mib` is None where this is unavailable.
    """

    def __init__(self) -> None:
        self.mib: float | None = None
        self._start: int | None = None

    def __enter__(self) -> peak_rss_meter:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
            self._start = _status_kib("VmRSS")
        except OSError:
            self._start = None
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _status_kib("VmHWM")
        if self._start is not None and peak is not None:
            self.mib = max(0, peak - self._start) / 1024.0


# --- plans, models and methods --------------------------------------------------------------


@dataclass(frozen=True)
class BenchPlan:
    """Sizes of one benchmark run (`api.bench_attribution` has the quick and full plans)."""

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


@dataclass(frozen=True)
class MethodEntry:
    """A method in the comparison: `build(model)` makes its index (timed as the build) and
    returns the function that scores queries (m, C, R, R) → (m, n)."""

    name: str
    build: Callable[[BenchModel], ScoreFn]
    parameters: dict[str, Any] = field(default_factory=dict)
    single_queries: int | None = None  # overrides the plan's count of timed single queries


def _digest_array(values: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest()[:12]


def _generate(
    model_config: ModelConfig, state: StateDict, class_ids: Sequence[int], seed: int, steps: int
) -> torch.Tensor:
    """Images of the full model, one per class id, from a seeded generator (DDIM)."""
    unet = build_unet(model_config)
    unet.load_state_dict(state)
    unet.eval()
    pipe = MuseumPipeline(
        unets=unet,
        scheduler=sampling_scheduler(model_config),
        null_class_id=model_config.null_class_id,
    )
    with torch.no_grad():
        out = pipe(list(class_ids), seed=seed, num_inference_steps=steps, device="cpu")
    return out.samples.float().clamp(-1.0, 1.0).contiguous()


def _time_method(
    entry: MethodEntry,
    model: BenchModel,
    targets: torch.Tensor,
    labels: torch.Tensor,
    plan: BenchPlan,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Index build time, median single-query time, peak RSS, and the scores of all targets."""
    with peak_rss_meter() as meter:
        # 1. Build the index (features of every training item at every checkpoint).
        started = time.perf_counter()
        score = entry.build(model)
        build_s = time.perf_counter() - started
        # 2. One query at a time, as the museum attributes a generation.
        singles: list[float] = []
        timed = (
            entry.single_queries if entry.single_queries is not None else plan.query_timing_queries
        )
        for j in range(min(timed, targets.shape[0])):
            started = time.perf_counter()
            score(targets[j : j + 1], labels[j : j + 1])
            singles.append(time.perf_counter() - started)
        # 3. All targets at once for the LDS.
        started = time.perf_counter()
        scores = np.asarray(score(targets, labels), dtype=np.float64)
        batch_s = time.perf_counter() - started
    if scores.shape != (targets.shape[0], len(model.train.item_ids)):
        raise ValueError(f"method {entry.name} returned scores of shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"method {entry.name} returned non-finite scores")
    timing = {
        "index_build_s": build_s,
        "per_query_s": statistics.median(singles) if singles else math.nan,
        "all_targets_s": batch_s,
        "peak_rss_mib": meter.mib,
    }
    return scores, timing


# --- one data set ---------------------------------------------------------------------------


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)


def run_dataset(
    name: str,
    plan: BenchPlan,
    methods: Sequence[MethodEntry],
    *,
    cache_root: Path,
    counterfactual_method: str | None,
    comparisons: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    data: BenchData | None = None,
    ground_truth_only: bool = False,
) -> tuple[dict[str, Any], BenchModel, torch.Tensor]:
    """The whole LDS protocol on one data set; returns (figures, the full model's
    BenchModel, the generated targets). `data` overrides the named data set (tests);
    `ground_truth_only` stops once the subset models are trained and measured (to fill the
    cache ahead of scoring)."""
    if not methods and not ground_truth_only:
        raise ValueError("name at least one method")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError("method names must be unique")
    for a, b in comparisons:
        if a not in names or b not in names:
            raise ValueError(f"comparison {a} vs {b} names a method not in the run")
    if counterfactual_method is not None and counterfactual_method not in names:
        raise ValueError(f"counterfactual method {counterfactual_method!r} is not in the run")
    seeds = plan.ground_truth_seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"ground_truth_seeds must be a positive integer, got {seeds!r}")
    began = time.perf_counter()
    full_data = (
        data
        if data is not None
        else load_dataset(
            name, resolution=plan.resolution, seed=plan.seed, demo_artists=plan.demo_artists
        )
    )
    # 1. Split: held-back real targets, and the training set (optionally reduced).
    train_idx, held_idx = split_held_back(
        len(full_data.item_ids),
        fraction=plan.held_back_fraction,
        minimum=plan.held_back_minimum,
        seed=plan.seed,
    )
    if plan.train_limit is not None and plan.train_limit < train_idx.size:
        keep = np.random.default_rng([plan.seed, 404]).choice(
            train_idx.size, size=plan.train_limit, replace=False
        )
        train_idx = np.sort(train_idx[keep])
    train_set = full_data.subset(train_idx)
    held = full_data.subset(held_idx)
    n = len(train_set.item_ids)
    recipe = plan.recipe(full_data.channels)
    split_digest = _digest_array(np.concatenate([train_idx, held_idx]))
    folder = cache_root / f"{name}-{recipe.digest()}-{split_digest}"
    trainings = {"trained": 0, "loaded": 0, "train_seconds": 0.0}

    def count(results: dict[str, JobResult]) -> None:
        for result in results.values():
            trainings["trained" if result.trained else "loaded"] += 1
            if result.trained:
                trainings["train_seconds"] += result.seconds

    def job_progress(what: str) -> Callable[[JobResult, int, int], None]:
        def report(result: JobResult, done: int, total: int) -> None:
            verb = "trained" if result.trained else "loaded"
            _say(
                progress,
                f"{name}: {what} {done}/{total} ({result.key} {verb}, {result.seconds:.0f} s)",
            )

        return report

    # 2. The full model, with its checkpoints (raw weights) for the attribution index.
    _say(progress, f"{name}: full model on {n} items")
    full_job = TrainJob("full", tuple(range(n)), plan.seed, keep_checkpoints=True)
    count(
        run_jobs(
            [full_job],
            images=train_set.images,
            class_ids=train_set.class_ids,
            recipe=recipe,
            folder=folder,
            evals=None,
            workers=plan.workers,
        )
    )
    saved = load_checkpoints(folder / "full.safetensors")
    checkpoints = tuple((checkpoint_hash(state), state) for _, state in saved)
    final_state = saved[-1][1]

    # 3. Generated targets: the full model's images for random training classes.
    rng = np.random.default_rng([plan.seed, 505])
    gen_classes = train_set.class_ids.numpy()[rng.integers(0, n, size=plan.generated_targets)]
    generated = _generate(
        recipe.model_config,
        final_state,
        [int(c) for c in gen_classes],
        derived_seed(plan.seed, "lds-generate", 0) % (2**62),
        plan.sampling_steps,
    )
    gen_labels = torch.as_tensor(gen_classes, dtype=torch.long)
    target_images = torch.cat([held.images, generated])
    target_labels = torch.cat([held.class_ids, gen_labels])
    n_held = held.images.shape[0]
    sets = {
        "held-back": np.arange(n_held),
        "generated": np.arange(n_held, n_held + generated.shape[0]),
    }
    evals = EvalSet.build(
        target_images,
        target_labels,
        _eval_timesteps(plan.eval_timesteps, recipe.model_config.num_train_timesteps),
        plan.seed,
    )

    # 4. Ground truth: retrain on M random halves (S seeds each, losses averaged) and
    #    measure every target's loss.
    masks = subset_masks(n, plan.num_subsets, plan.subset_fraction, plan.seed)
    subset_jobs = [
        TrainJob(f"subset-{m}", tuple(np.flatnonzero(masks[m]).tolist()), recipe.subset_seed(m))
        for m in range(plan.num_subsets)
    ]
    # Seeds 1..S-1 of every subset; with S = 1, the first R subsets once more with another
    # seed, only to measure how much of the ground truth is data.
    replicas = plan.num_subsets if seeds > 1 else min(plan.reliability_subsets, plan.num_subsets)
    replica_jobs = [
        [
            TrainJob(f"subset-{m}-replicate-{s}", subset_jobs[m].indices, recipe.subset_seed(m, s))
            for m in range(replicas)
        ]
        for s in range(1, max(seeds, 2))
    ]
    _say(
        progress,
        f"{name}: {plan.num_subsets} subset models × {seeds} seeds"
        + (f" (+{replicas} reseeded)" if seeds == 1 else ""),
    )
    subset_results = run_jobs(
        [full_job, *subset_jobs, *[job for jobs in replica_jobs for job in jobs]],
        images=train_set.images,
        class_ids=train_set.class_ids,
        recipe=recipe,
        folder=folder,
        evals=evals,
        workers=plan.workers,
        on_done=job_progress("subset models"),
    )
    full_losses = subset_results.pop("full").losses
    count(subset_results)
    per_seed = [
        np.stack([_losses(subset_results[j.key]) for j in jobs])
        for jobs in [subset_jobs, *replica_jobs]
        if jobs
    ]  # each (M or R, targets)
    reliability = ground_truth_reliability(
        per_seed[0][:replicas],
        per_seed[1] if len(per_seed) > 1 else np.zeros((0, per_seed[0].shape[1])),
        sets,
        plan,
    )
    # The ground truth: each subset's losses averaged over its S trainings, (M, targets).
    losses = np.mean(per_seed[:seeds], axis=0)
    model = BenchModel(
        recipe.model_config, checkpoints, train_set, plan.seed, plan.attribution_batch
    )
    if ground_truth_only:
        return {"name": name, "cache": str(folder), **trainings}, model, generated

    # 5. Every method on the same full model and targets (the pool is idle: fair timings).
    rows: list[dict[str, Any]] = []
    per_target: dict[str, dict[str, np.ndarray]] = {}
    all_scores: dict[str, np.ndarray] = {}
    for entry in methods:
        _say(progress, f"{name}: scoring with {entry.name}")
        scores, timing = _time_method(entry, model, target_images, target_labels, plan)
        all_scores[entry.name] = scores
        per_target[entry.name] = {}
        lds: dict[str, Any] = {}
        for set_name, idx in sets.items():
            values = lds_per_target(scores[idx], masks, losses[:, idx])
            per_target[entry.name][set_name] = values
            mean, lo, hi = bootstrap_interval(values, resamples=plan.bootstrap, seed=plan.seed)
            lds[set_name] = {"mean": mean, "low": lo, "high": hi, "per_target": values.tolist()}
        rows.append({"name": entry.name, "parameters": entry.parameters, **timing, "lds": lds})

    # 6. Paired bootstraps: the same resampled targets for both methods of a pair.
    compared: list[dict[str, Any]] = []
    for a, b in comparisons:
        for set_name in sets:
            result = paired_bootstrap(
                per_target[a][set_name],
                per_target[b][set_name],
                resamples=plan.bootstrap,
                seed=plan.seed,
            )
            compared.append({"a": a, "b": b, "targets": set_name, **result})

    # 7. Counterfactual: remove the top-k items of a generation, or k random ones, retrain.
    counterfactual: dict[str, Any] | None = None
    if counterfactual_method is not None and plan.counterfactual_targets > 0:
        counterfactual = _counterfactual(
            name,
            plan,
            all_scores[counterfactual_method][sets["generated"]],
            sets["generated"],
            train_set,
            recipe,
            folder,
            evals,
            _losses_of(full_losses),
            count,
            job_progress("counterfactual models"),
        )
        counterfactual["method"] = counterfactual_method

    figures: dict[str, Any] = {
        "name": name,
        "items": len(full_data.item_ids),
        "train_items": n,
        "targets": {k: int(v.size) for k, v in sets.items()},
        "generated_class_ids": [int(c) for c in gen_labels.tolist()],
        "subsets": plan.num_subsets,
        "subset_size": int(masks[0].sum()),
        "eval_timesteps": len(evals.timesteps),
        "recipe": recipe.to_dict(),
        "recipe_hash": recipe.digest(),
        "cache": str(folder),
        "models_trained": trainings["trained"],
        "models_loaded": trainings["loaded"],
        "train_seconds": trainings["train_seconds"],
        "full_model_target_loss": {
            k: float(_losses_of(full_losses)[v].mean()) for k, v in sets.items()
        },
        "subset_model_target_loss": {k: float(losses[:, v].mean()) for k, v in sets.items()},
        "ground_truth_seeds": seeds,
        "subset_model_target_loss_per_seed": [
            {k: float(seed_losses[:, v].mean()) for k, v in sets.items()}
            for seed_losses in per_seed[:seeds]
        ],
        "ground_truth_reliability": reliability,
        "methods": rows,
        "comparisons": compared,
        "counterfactual": counterfactual,
        "seconds": time.perf_counter() - began,
    }
    return figures, model, generated


def ground_truth_reliability(
    first: np.ndarray,
    second: np.ndarray,
    sets: dict[str, np.ndarray],
    plan: BenchPlan,
    level: float = 0.95,
) -> dict[str, Any]:
    """Test-retest agreement of the ground truth: per target, the Spearman correlation over
    the reseeded subsets between the losses of the two trainings of each subset, averaged
    over the targets of each set.

    Why: a target's loss on a subset model is data plus training noise; if retraining the
    same subset with another seed does not reproduce its ranking, no attribution method can
    (LDS is bounded by about the square root of this agreement). Near 0 means the recipe
    measures its seeds, not its data. The interval resamples the retrained subsets, not the
    targets: every target is measured on the same few models, so a lucky or unlucky seed
    moves all of them together, and an interval over targets would be far too narrow.
    With `plan.ground_truth_seeds` = S > 1, `first` and `second` are seeds 0 and 1 of every
    subset, and each set also gets the agreement predicted for the S-seed mean ("averaged").
    """
    r = first.shape[0]
    seeds = plan.ground_truth_seeds
    out: dict[str, Any] = {"subsets": int(r), "ground_truth_seeds": int(seeds)}
    draws = np.random.default_rng([plan.seed, 707]).integers(0, r, size=(plan.bootstrap, r))

    def mean_agreement(rows: np.ndarray, idx: np.ndarray) -> float:
        values = [spearman(first[rows, j], second[rows, j]) for j in idx]
        return float(np.mean([0.0 if math.isnan(v) else v for v in values]))

    for set_name, idx in sets.items():
        if r < 3 or idx.size == 0:
            out[set_name] = None
            continue
        means = np.array([mean_agreement(rows, idx) for rows in draws])
        tail = (1.0 - level) / 2.0
        lo, hi = np.quantile(means, [tail, 1.0 - tail])
        out[set_name] = {
            "mean": mean_agreement(np.arange(r), idx),
            "low": float(lo),
            "high": float(hi),
        }
        if seeds > 1:
            out[set_name]["averaged"] = {
                key: spearman_brown(value, seeds)
                for key, value in out[set_name].items()
                if key in ("mean", "low", "high")
            }
    return out


def spearman_brown(agreement: float, seeds: int) -> float:
    """Predicted test-retest agreement of the mean of `seeds` trainings from that of one.

    Why: the ground truth averages S independently seeded trainings of each subset; its
    seed noise shrinks as 1/S while the data's effect stays, so its reliability is
    S·r / (1 + (S−1)·r) (Spearman–Brown; exact for Pearson correlations, a close guide for
    Spearman's). Below r = 0 there is nothing to average up: returned unchanged.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if agreement <= 0.0 or seeds == 1:
        return float(agreement)
    return float(seeds * agreement / (1.0 + (seeds - 1) * agreement))


def _eval_timesteps(count: int, limit: int) -> tuple[int, ...]:
    """`count` timesteps at the centres of equal slices of 0..limit-1."""
    if not 1 <= count <= limit:
        raise ValueError(f"eval timesteps must be between 1 and {limit}, got {count}")
    width = limit / count
    return tuple(int(width * i + width / 2) for i in range(count))


def _losses(result: JobResult) -> np.ndarray:
    if result.losses is None:
        raise ValueError(f"job {result.key} has no measured losses")
    return result.losses


def _losses_of(values: np.ndarray | None) -> np.ndarray:
    if values is None:
        raise ValueError("the full model has no measured losses")
    return values


def _counterfactual(
    name: str,
    plan: BenchPlan,
    scores: np.ndarray,
    target_index: np.ndarray,
    train_set: BenchData,
    recipe: Recipe,
    folder: Path,
    evals: EvalSet,
    full_losses: np.ndarray,
    count: Callable[[dict[str, JobResult]], None],
    on_done: Callable[[JobResult, int, int], None],
) -> dict[str, Any]:
    """Loss rise of each chosen generated target when its top-k items, or k random items, are
    removed and the full recipe (same seed as the full model) is retrained."""
    n = len(train_set.item_ids)
    k = min(plan.counterfactual_k, n - 1)
    chosen = list(range(min(plan.counterfactual_targets, scores.shape[0])))
    jobs: list[TrainJob] = []
    plans: list[tuple[int, str, str]] = []  # (target, kind, job key)
    for j in chosen:
        # 1. Top-k by the method's score (stable: ties keep training order) ...
        top = np.argsort(-scores[j], kind="stable")[:k]
        # 2. ... and k random items, several draws, each from its own seeded generator.
        draws = [
            np.random.default_rng([plan.seed, 606, j, r]).choice(n, size=k, replace=False)
            for r in range(plan.counterfactual_random)
        ]
        for kind, removed in [("top", top), *[(f"random-{r}", d) for r, d in enumerate(draws)]]:
            keep = np.setdiff1d(np.arange(n), removed)
            key = f"removal-{_digest_array(np.sort(removed))}"
            if key not in {job.key for job in jobs}:
                jobs.append(TrainJob(key, tuple(keep.tolist()), plan.seed))
            plans.append((j, kind, key))
    results = run_jobs(
        jobs,
        images=train_set.images,
        class_ids=train_set.class_ids,
        recipe=recipe,
        folder=folder,
        evals=evals,
        workers=plan.workers,
        on_done=on_done,
    )
    count(results)
    per_target: list[dict[str, Any]] = []
    for j in chosen:
        # 3. Rise of target j's loss over the full model's, for each removal.
        column = int(target_index[j])
        base = float(full_losses[column])
        top_rise = next(
            float(_losses(results[key])[column]) - base
            for t, kind, key in plans
            if t == j and kind == "top"
        )
        random_rises = [
            float(_losses(results[key])[column]) - base
            for t, kind, key in plans
            if t == j and kind != "top"
        ]
        per_target.append(
            {
                "target": j,
                "full_loss": base,
                "top_k_rise": top_rise,
                "random_rise_mean": float(np.mean(random_rises)) if random_rises else math.nan,
                "random_rises": random_rises,
            }
        )
    top_mean = float(np.mean([p["top_k_rise"] for p in per_target])) if per_target else math.nan
    random_mean = (
        float(np.mean([p["random_rise_mean"] for p in per_target])) if per_target else math.nan
    )
    return {
        "k": k,
        "random_draws": plan.counterfactual_random,
        "targets": per_target,
        "top_k_rise_mean": top_mean,
        "random_rise_mean": random_mean,
        "top_k_beats_random": bool(top_mean > random_mean),
        "top_k_beats_random_each": int(
            sum(p["top_k_rise"] > p["random_rise_mean"] for p in per_target)
        ),
    }


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
