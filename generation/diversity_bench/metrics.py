"""What the diversity bench computes on features: Vendi, spread, precision / recall, intervals.

- Vendi score (Friedman & Dieng 2023): exp of the Shannon entropy of the eigenvalues of K/n,
  K the cosine-similarity matrix of the samples; from the `vendi-score` package (its numpy
  core, `vendi_score.vendi`; its image helpers import torchvision and are never loaded). It
  counts "effective distinct samples": 1 when all are alike, n when all are orthogonal.
- Precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls
  around its points reaching to the k-th nearest neighbour (k = 3); precision is the share of
  generated samples inside the real manifold, recall the share of real samples inside the
  generated one. Both are means of per-sample indicators, so they bootstrap by sample.
- Intervals: percentile bootstrap, 95 %, seeded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import pairwise_distances
from vendi_score import vendi

__all__ = [
    "CONFIDENCE",
    "Interval",
    "bootstrap_mean",
    "difference",
    "manifold_hits",
    "mean_pairwise_distance",
    "paired_difference",
    "vendi_score",
]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def vendi_score(features: np.ndarray) -> float:
    """Vendi score of the rows of `features` under the cosine kernel (rows L2-normalised)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError("vendi_score takes a non-empty (n, d) array")
    with warnings.catch_warnings():
        # vendi-score 0.0.3 checks `scipy.sparse.csr.csr_matrix`, a namespace SciPy deprecates.
        warnings.filterwarnings(
            "ignore", message=r".*scipy\.sparse\.csr", category=DeprecationWarning
        )
        return float(vendi.score_X(x, normalize=True))


def mean_pairwise_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance over distinct pairs of rows."""
    x = np.asarray(features, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        raise ValueError("a spread needs at least two samples")
    d = pairwise_distances(x)
    return float(d.sum() / (n * (n - 1)))


def _radii(x: np.ndarray, k: int) -> np.ndarray:
    d = pairwise_distances(x)
    # Column 0 of each sorted row is the point itself (distance 0).
    return np.sort(d, axis=1)[:, min(k, x.shape[0] - 1)]


def manifold_hits(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(precision indicators per generated sample, recall indicators per real sample)."""
    r, f = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    if r.shape[0] <= k or f.shape[0] <= k:
        raise ValueError(f"precision / recall with k = {k} needs more than {k} samples per set")
    cross = pairwise_distances(f, r)  # (fake, real)
    precision = (cross <= _radii(r, k)[None, :]).any(axis=1)
    recall = (cross <= _radii(f, k)[:, None]).any(axis=0)
    return precision.astype(np.float64), recall.astype(np.float64)


def _tail() -> tuple[float, float]:
    tail = (1.0 - CONFIDENCE) / 2.0
    return tail, 1.0 - tail


def bootstrap_mean(values: np.ndarray, *, resamples: int, seed: int) -> Interval:
    """Mean of `values` with a percentile bootstrap interval."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("bootstrap_mean takes at least one value")
    rng = np.random.default_rng([seed, 81])
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    low, high = (float(q) for q in np.quantile(means, _tail()))
    return Interval(float(v.mean()), low, high)


def paired_difference(a: np.ndarray, b: np.ndarray, *, resamples: int, seed: int) -> Interval:
    """Mean of a − b over paired units, its interval resampling the pairs together."""
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError("a paired difference takes two equally long, non-empty arrays")
    return bootstrap_mean(x - y, resamples=resamples, seed=seed)


def difference(a: np.ndarray, b: np.ndarray, *, resamples: int, seed: int) -> Interval:
    """Mean of a minus mean of b for unpaired samples, each resampled on its own."""
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if x.size == 0 or y.size == 0:
        raise ValueError("a difference takes two non-empty arrays")
    rng = np.random.default_rng([seed, 82])
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1) - y[
        rng.integers(0, y.size, size=(resamples, y.size))
    ].mean(axis=1)
    low, high = (float(q) for q in np.quantile(means, _tail()))
    return Interval(float(x.mean() - y.mean()), low, high)
