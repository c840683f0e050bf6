"""LDS across projection seeds: is a method's LDS a property of the method or of one seed?

The LDS table scores every method once, at the bench's seed. For a method whose projection is
narrow (k = 2048), that figure is one draw of a random variable: another projection seed moves
it by points. Comparing a wide, seed-stable projection against that single draw compares a
method against a lucky (or unlucky) seed. So, on the same retrained models, the stability
block's R independent scorings of each method also get an LDS each; reported per target set:
every seed's LDS, their mean and spread, and — for the pairs the harness names — the paired
bootstrap of the seed-averaged per-target LDS (each target's LDS averaged over the method's
seeds, then the same resampled targets for both methods). The LDS table itself is `lds_of` and
`compare_lds` on each method's one scoring.

Pure: numbers in, numbers out.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from attribution.bench.stats import bootstrap_interval, lds_per_target, paired_bootstrap

__all__ = ["LdsTruth", "compare_lds", "lds_of", "lds_over_seeds"]


@dataclass(frozen=True)
class LdsTruth:
    """The LDS ground truth over a row-ordered list of targets: the subset masks (M, n), each
    subset's measured loss of every target (M, t), and the target sets as row indices."""

    masks: np.ndarray
    losses: np.ndarray
    sets: Mapping[str, np.ndarray]
    bootstrap: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        masks, losses = np.asarray(self.masks), np.asarray(self.losses)
        if masks.ndim != 2 or losses.ndim != 2 or masks.shape[0] != losses.shape[0]:
            raise ValueError("masks (M, n) and losses (M, t) must name the same M subsets")
        for name, rows in self.sets.items():
            rows = np.asarray(rows)
            if rows.size == 0 or rows.min() < 0 or rows.max() >= losses.shape[1]:
                raise ValueError(f"target set {name!r} names no rows or rows past the targets")

    @property
    def targets(self) -> int:
        return int(np.asarray(self.losses).shape[1])


def _per_target(scores: np.ndarray, truth: LdsTruth) -> dict[str, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape != (truth.targets, np.asarray(truth.masks).shape[1]):
        raise ValueError(
            f"scores must be (targets, items) = ({truth.targets}, "
            f"{np.asarray(truth.masks).shape[1]}), got {s.shape}"
        )
    losses = np.asarray(truth.losses)
    return {
        name: lds_per_target(s[rows], truth.masks, losses[:, rows])
        for name, rows in truth.sets.items()
    }


def lds_of(scores: np.ndarray, truth: LdsTruth) -> dict[str, Any]:
    """One scoring's LDS per set: mean, 95% bootstrap interval, per target."""
    out: dict[str, Any] = {}
    for name, values in _per_target(scores, truth).items():
        mean, low, high = bootstrap_interval(values, resamples=truth.bootstrap, seed=truth.seed)
        out[name] = {"mean": mean, "low": low, "high": high, "per_target": values.tolist()}
    return out


def lds_over_seeds(runs: Sequence[np.ndarray], truth: LdsTruth) -> dict[str, Any]:
    """R scorings of the same targets (one per projection seed): per set, each seed's mean
    LDS, their mean, standard deviation, smallest and largest, and each target's LDS averaged
    over the seeds (with its bootstrap interval over targets)."""
    if len(runs) < 2:
        raise ValueError("an LDS across seeds needs at least two scorings")
    per_run = [_per_target(run, truth) for run in runs]
    out: dict[str, Any] = {"seeds": len(runs)}
    for name in truth.sets:
        by_seed = [float(values[name].mean()) for values in per_run]
        averaged = np.mean([values[name] for values in per_run], axis=0)
        mean, low, high = bootstrap_interval(averaged, resamples=truth.bootstrap, seed=truth.seed)
        out[name] = {
            "by_seed": by_seed,
            "mean": mean,
            "low": low,
            "high": high,
            "sd": statistics.stdev(by_seed),
            "min": min(by_seed),
            "max": max(by_seed),
            "per_target": averaged.tolist(),
        }
    return out


def compare_lds(
    a: Mapping[str, Any], b: Mapping[str, Any], truth: LdsTruth
) -> dict[str, dict[str, float | bool]]:
    """Per set, the paired bootstrap of a − b on their per-target LDS: the output of `lds_of`
    (one scoring: the LDS table) or of `lds_over_seeds` (seed-averaged), in any mix."""
    out: dict[str, dict[str, float | bool]] = {}
    for name in truth.sets:
        out[name] = paired_bootstrap(
            np.asarray(a[name]["per_target"]),
            np.asarray(b[name]["per_target"]),
            resamples=truth.bootstrap,
            seed=truth.seed,
        )
    return out
