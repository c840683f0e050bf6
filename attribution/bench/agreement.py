"""How far two scorings of the same generations agree on the credit they would pay.

Credit is what `ledger.domain.attribution` records from scores: the positively scored top-k
items' exact ppm shares, rolled up per artist and per stage role. Two scorings (two projection
seeds, say) agree on a generation by the credited share mass they have in common,
Σ over keys of min(share_a, share_b) (1 = identical credit, 0 = disjoint), on that rule's own
shares, so the figure is what would move in money; beside it the top-k overlap and the Spearman
correlation of the full score vectors. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from attribution.bench.stats import spearman
from ledger.domain.attribution import PPM, exact_shares, roll_up
from ledger.errors import InvalidInput

__all__ = ["FIGURES", "credit_agreement", "seed_agreement"]

# The figures of one comparison, in the order the bench reports them.
FIGURES: tuple[str, ...] = ("item", "artist", "role", "top_k", "spearman")


def _common_mass(a: Sequence[tuple[str, int]], b: Sequence[tuple[str, int]]) -> float:
    """Σ min(a_key, b_key) / 1,000,000 over the keys of two ppm share lists."""
    other = dict(b)
    return sum(min(ppm, other.get(key, 0)) for key, ppm in a) / PPM


def _shares(scores: Mapping[str, float], k: int) -> list[tuple[str, int]]:
    """The recorded rule's shares, or none when no item scored positively (nothing credited)."""
    try:
        return exact_shares(scores, k)
    except InvalidInput:
        return []


def credit_agreement(
    a: np.ndarray,
    b: np.ndarray,
    item_ids: Sequence[str],
    items_by_id: Mapping[str, Mapping[str, Any]],
    k: int,
) -> dict[str, float]:
    """Agreement of two score vectors of one generation over the same items (see FIGURES).

    Where neither credits anything the share figures are 1 (they agree); where one does and
    the other not, 0."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != (len(item_ids),) or y.shape != x.shape:
        raise ValueError(f"two score vectors of {len(item_ids)} items are required")
    shares = [_shares(dict(zip(item_ids, map(float, v), strict=True)), k) for v in (x, y)]
    out: dict[str, float] = {}
    for name, key in (("item", None), ("artist", "artist_id"), ("role", "role")):
        if not shares[0] and not shares[1]:
            out[name] = 1.0
            continue
        lists = [s if key is None else roll_up(s, items_by_id, key) for s in shares]
        out[name] = _common_mass(lists[0], lists[1])
    # Top-k as `ledger.shares.highest` ranks it (ties by item id).
    order = sorted(range(len(item_ids)), key=lambda i: (-x[i], item_ids[i]))[:k]
    other = sorted(range(len(item_ids)), key=lambda i: (-y[i], item_ids[i]))[:k]
    out["top_k"] = len(set(order) & set(other)) / min(k, len(item_ids))
    out["spearman"] = spearman(x, y)
    return out


def seed_agreement(
    runs: Sequence[np.ndarray],
    item_ids: Sequence[str],
    items_by_id: Mapping[str, Mapping[str, Any]],
    k: int,
) -> dict[str, Any]:
    """Agreement of R ≥ 2 scorings of the same m generations, (m, n) each: every pair of runs
    compared on every generation; per generation the mean over pairs, and over generations
    the mean and the smallest."""
    if len(runs) < 2:
        raise ValueError("agreement needs at least two scorings")
    shape = np.asarray(runs[0]).shape
    if any(np.asarray(r).shape != shape for r in runs) or len(shape) != 2:
        raise ValueError("every scoring must be an (m, n) array of the same shape")
    per_target: list[dict[str, float]] = []
    for j in range(shape[0]):
        pairs = [
            credit_agreement(np.asarray(a)[j], np.asarray(b)[j], item_ids, items_by_id, k)
            for a, b in itertools.combinations(runs, 2)
        ]
        per_target.append({name: float(np.mean([p[name] for p in pairs])) for name in FIGURES})

    def column(name: str) -> list[float]:
        return [t[name] for t in per_target if not math.isnan(t[name])]

    return {
        "seeds": len(runs),
        "pairs": len(runs) * (len(runs) - 1) // 2,
        "k": k,
        "mean": {
            name: float(np.mean(column(name))) if column(name) else math.nan for name in FIGURES
        },
        "min": {
            name: float(np.min(column(name))) if column(name) else math.nan for name in FIGURES
        },
        "per_target": per_target,
    }
