"""From what the erasure bench measured for one shard count to its typed figures: costs against
the full retrain, quality against the single model, the attack before and after, the targets."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from generation.erasure_bench.figures import (
    QUALITY_TARGET_SHARDS,
    TARGET_AUC_AFTER,
    TARGET_COST_SLACK,
    TARGET_QUALITY_RATIO,
    ShardCountRead,
    VerdictRead,
    cost_target,
)
from generation.erasure_bench.scoring import membership


@dataclasses.dataclass(frozen=True)
class Measured:
    """The raw figures of one shard count; per-item losses as arrays (never-seen, erased)."""

    shards: int
    steps_per_shard: int
    items_per_shard: list[int]
    base_version: str
    base_seconds: float
    base_cpu_seconds: float
    request_seconds: float
    erasure_seconds: float
    erasure_cpu_seconds: float
    new_version: str
    retraining_runs: int
    requests_served: int
    shards_retrained: list[int]
    shards_reused: list[int]
    shards_dropped: list[int]
    erasures_certified: int
    holds_erased_fingerprints: bool
    held_before: np.ndarray
    held_after: np.ndarray
    erased_before: np.ndarray
    erased_after: np.ndarray


def _ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline > 0 else float("inf")


def shard_count_read(
    measured: Measured, single: Measured, resamples: int, seed: int
) -> ShardCountRead:
    """The figures of `measured`, its costs and quality relative to `single` (S = 1)."""
    cost = _ratio(measured.erasure_cpu_seconds, single.erasure_cpu_seconds)
    held_back = float(measured.held_before.mean())
    quality = _ratio(held_back, float(single.held_before.mean()))
    before = membership(
        measured.erased_before, measured.held_before, resamples=resamples, seed=seed
    )
    after = membership(measured.erased_after, measured.held_after, resamples=resamples, seed=seed)
    return ShardCountRead(
        shards=measured.shards,
        steps_per_shard=measured.steps_per_shard,
        total_steps=measured.steps_per_shard * measured.shards,
        items_per_shard=measured.items_per_shard,
        base_version=measured.base_version,
        base_train_seconds=measured.base_seconds,
        base_train_cpu_seconds=measured.base_cpu_seconds,
        request_seconds=measured.request_seconds,
        erasure_seconds=measured.erasure_seconds,
        erasure_cpu_seconds=measured.erasure_cpu_seconds,
        cost_vs_full=cost,
        wall_cost_vs_full=_ratio(measured.erasure_seconds, single.erasure_seconds),
        cost_target=cost_target(measured.shards),
        meets_cost_target=cost <= cost_target(measured.shards),
        new_version=measured.new_version,
        retraining_runs=measured.retraining_runs,
        requests_served=measured.requests_served,
        shards_retrained=measured.shards_retrained,
        shards_reused=measured.shards_reused,
        shards_dropped=measured.shards_dropped,
        erasures_certified=measured.erasures_certified,
        holds_erased_fingerprints=measured.holds_erased_fingerprints,
        held_back_loss=held_back,
        held_back_loss_after=float(measured.held_after.mean()),
        loss_vs_single=quality,
        meets_quality_target=quality <= TARGET_QUALITY_RATIO,
        before=before,
        after=after,
        meets_auc_target=after.auc <= TARGET_AUC_AFTER,
    )


def verdicts(runs: Sequence[ShardCountRead]) -> list[VerdictRead]:
    """The issue's targets, met or not, over every shard count measured."""
    sharded = [run for run in runs if run.shards > 1]
    at_target = [run for run in runs if run.shards == QUALITY_TARGET_SHARDS]
    single = [run for run in runs if run.shards == 1]
    return [
        VerdictRead(
            target=f"erasure cost ≤ 1/S + {TARGET_COST_SLACK:.0%} of a full retrain (every S > 1)",
            met=all(run.meets_cost_target for run in sharded) if sharded else None,
        ),
        VerdictRead(
            target=(
                f"held-back loss within {TARGET_QUALITY_RATIO - 1:.0%} of S = 1 "
                f"at S = {QUALITY_TARGET_SHARDS}"
            ),
            met=at_target[0].meets_quality_target if at_target else None,
        ),
        VerdictRead(
            target=f"membership-inference AUC after the retrain ≤ {TARGET_AUC_AFTER} (every S)",
            met=all(run.meets_auc_target for run in runs),
        ),
        VerdictRead(
            target="memorisation measurable before (S = 1: AUC interval above 0.5)",
            met=single[0].before.auc_low > 0.5 if single else None,
        ),
        VerdictRead(
            target="one retrain, only the affected shard; every erasure certified; "
            "no erased fingerprint deployed",
            met=all(
                run.retraining_runs == 1
                and len(run.shards_retrained) == 1
                and run.erasures_certified == run.requests_served
                and not run.holds_erased_fingerprints
                for run in runs
            ),
        ),
    ]
