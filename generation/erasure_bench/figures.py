"""The figures of `museum bench erasure` as typed, frozen views, and the targets they are held to.

Torch-free, so that the command line can render a saved JSON object without loading a model.
"""

from __future__ import annotations

from typing import Any

from ledger.views import View

TARGET_COST_SLACK = 0.10  # an erasure retrain costs at most 1/S + this, as a share of a full one
TARGET_QUALITY_RATIO = 1.10  # held-back loss of the S-shard ensemble over the single model's
QUALITY_TARGET_SHARDS = 4  # ... at this S (the target)
TARGET_AUC_AFTER = 0.55  # membership-inference AUC on the erased items after the retrain
TARGETS: dict[str, float] = {
    "cost_slack": TARGET_COST_SLACK,
    "quality_ratio": TARGET_QUALITY_RATIO,
    "quality_target_shards": QUALITY_TARGET_SHARDS,
    "auc_after": TARGET_AUC_AFTER,
}


def cost_target(shards: int) -> float:
    """The most an erasure may cost at S shards, as a share of a full (S = 1) retrain."""
    return 1.0 / shards + TARGET_COST_SLACK


class LossSpread(View, frozen=True, kw_only=True):
    """Per-item denoising losses of one set of items: how many, their mean and quartiles."""

    n: int
    mean: float
    q1: float
    median: float
    q3: float


class MembershipRead(View, frozen=True, kw_only=True):
    """The loss-threshold attack under one model: erased items (positive, lower loss = member)
    against never-seen ones; the AUC with a bootstrap 95 % interval."""

    erased: LossSpread
    never_seen: LossSpread
    auc: float
    auc_low: float
    auc_high: float


class ShardCountRead(View, frozen=True, kw_only=True):
    """One shard count S: its base version, the erasure retrain through the real path, and the
    quality and membership figures of the deployed model before and after."""

    shards: int
    steps_per_shard: int
    total_steps: int
    items_per_shard: list[int]
    base_version: str
    base_train_seconds: float
    base_train_cpu_seconds: float
    request_seconds: float  # the erasure requests themselves (withdraw, shred, schedule)
    erasure_seconds: float  # first request → new version deployed, wall clock
    erasure_cpu_seconds: float  # the same span in this process's CPU time
    # The cost held to the target: CPU time over S = 1's, which other work on a shared machine
    # leaves alone; the wall-clock ratio beside it moves with that work.
    cost_vs_full: float
    wall_cost_vs_full: float
    cost_target: float
    meets_cost_target: bool
    new_version: str
    retraining_runs: int
    requests_served: int
    shards_retrained: list[int]
    shards_reused: list[int]
    shards_dropped: list[int]
    erasures_certified: int
    holds_erased_fingerprints: bool
    held_back_loss: float
    held_back_loss_after: float
    loss_vs_single: float
    meets_quality_target: bool
    before: MembershipRead
    after: MembershipRead
    meets_auc_target: bool


class VerdictRead(View, frozen=True, kw_only=True):
    """A target in words and whether it was met (None: not measured in this run)."""

    target: str
    met: bool | None


class ErasureBenchRead(View, frozen=True, kw_only=True):
    """Every figure of one run of the bench (`--json` prints exactly this)."""

    bench: str
    quick: bool
    seed: int
    preset: str
    data: str
    budget: str
    total_steps: int
    batch_size: int
    shard_counts: list[int]
    balanced_over: int  # donors are balanced over this many shards (a multiple of every S)
    donors: int
    donors_per_shard: int
    registered: int  # donors registered to fill every shard evenly (the rest donate nothing)
    stages_per_donor: int
    training_items: int
    held_back_items: int
    erased_donors: int
    erased_items: int
    erased_shard: int  # shard of the erased donors, of `balanced_over` (so of every S)
    eval_timesteps: list[int]
    bootstrap: int
    untrained_loss: float
    seed_seconds: float
    targets: dict[str, float]
    runs: list[ShardCountRead]
    verdicts: list[VerdictRead]
    machine: dict[str, Any]
    seconds_total: float
