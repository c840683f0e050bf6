"""How far the ground truth can be trusted (test-retest agreement), and the counterfactual
check: retraining without a method's top-k items of a target against k random ones."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from attribution.bench.data import BenchData
from attribution.bench.plan import BenchPlan, digest_array
from attribution.bench.stats import spearman
from attribution.bench.train import (
    EvalSet,
    JobResult,
    Recipe,
    TrainJob,
    run_jobs,
)


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
        # 1. Top-k by the method's score (stable: ties keep training order) ... Positions of a
        #    score row, not item ids, so not `ledger.shares.highest`; exact ties in real-valued
        #    scores are rare, and the removal sets (and their cached retrains) stay as they were.
        top = np.argsort(-scores[j], kind="stable")[:k]
        # 2. ... and k random items, several draws, each from its own seeded generator.
        draws = [
            np.random.default_rng([plan.seed, 606, j, r]).choice(n, size=k, replace=False)
            for r in range(plan.counterfactual_random)
        ]
        for kind, removed in [("top", top), *[(f"random-{r}", d) for r, d in enumerate(draws)]]:
            keep = np.setdiff1d(np.arange(n), removed)
            key = f"removal-{digest_array(np.sort(removed))}"
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
