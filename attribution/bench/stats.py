"""The statistics of the LDS protocol: ranks, Spearman, subsets, bootstraps, peak memory."""

from __future__ import annotations

import math

import numpy as np

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
