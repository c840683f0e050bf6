"""LDS across projection seeds: each seed's LDS, their spread, and the seed-averaged paired
comparison, on ground truths whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from attribution.bench.seed_lds import LdsTruth, compare_lds, lds_of, lds_over_seeds
from attribution.bench.stats import subset_masks


def _truth(targets: int = 6, items: int = 20) -> tuple[LdsTruth, np.ndarray]:
    """Losses that are exactly linear in the items' effects: the effects score LDS 1."""
    rng = np.random.default_rng(3)
    masks = subset_masks(items, 30, 0.5, seed=1)
    effects = rng.normal(size=(targets, items))  # a score is a predicted loss DECREASE
    losses = -(masks.astype(float) @ effects.T)  # (M, t)
    sets = {"held-back": np.arange(targets // 2), "generated": np.arange(targets // 2, targets)}
    return LdsTruth(masks, losses, sets, bootstrap=200, seed=0), effects


def test_each_seed_gets_its_own_lds_and_the_average_is_per_target() -> None:
    truth, effects = _truth()
    # Seed a: the true effects (LDS 1 on every target); seed b: reversed on the generated set.
    flipped = effects.copy()
    flipped[3:] = -flipped[3:]
    out = lds_over_seeds([effects, flipped], truth)
    assert out["seeds"] == 2
    assert out["held-back"]["by_seed"] == pytest.approx([1.0, 1.0])
    assert out["held-back"]["sd"] == pytest.approx(0.0)
    generated = out["generated"]
    assert generated["by_seed"] == pytest.approx([1.0, -1.0])
    assert generated["min"] == pytest.approx(-1.0)
    assert generated["max"] == pytest.approx(1.0)
    # Per target the mean of its two LDS (1 and −1), so 0 on every generated target.
    assert generated["per_target"] == pytest.approx([0.0, 0.0, 0.0])
    assert generated["mean"] == pytest.approx(0.0)
    assert generated["sd"] == pytest.approx(np.std([1.0, -1.0], ddof=1))
    with pytest.raises(ValueError, match="at least two"):
        lds_over_seeds([effects], truth)


def test_one_scoring_and_the_seed_averaged_comparison() -> None:
    truth, effects = _truth()
    single = lds_of(effects, truth)
    assert single["generated"]["mean"] == pytest.approx(1.0)
    assert single["generated"]["low"] <= single["generated"]["mean"] <= single["generated"]["high"]
    rng = np.random.default_rng(9)
    noisy = [effects + rng.normal(scale=3.0, size=effects.shape) for _ in range(3)]
    over = lds_over_seeds(noisy, truth)
    compared = compare_lds(single, over, truth)
    assert set(compared) == {"held-back", "generated"}
    for name, result in compared.items():
        # The exact effects beat noisy scorings on average; the difference is per target.
        expected = 1.0 - np.mean(over[name]["per_target"])
        assert result["diff"] == pytest.approx(expected)
        assert result["diff"] > 0.0
    # Compared with itself: no difference, and no call either way.
    same = compare_lds(over, over, truth)["generated"]
    assert same["diff"] == 0.0
    assert not same["a_better"]
    assert not same["b_better"]


def test_bad_shapes_and_sets_are_refused() -> None:
    truth, effects = _truth()
    with pytest.raises(ValueError, match="scores must be"):
        lds_of(effects[:, :5], truth)
    with pytest.raises(ValueError, match="scores must be"):
        lds_over_seeds([effects, effects[:4]], truth)
    masks, losses = np.asarray(truth.masks), np.asarray(truth.losses)
    with pytest.raises(ValueError, match="same M subsets"):
        LdsTruth(masks[:5], losses, truth.sets)
    with pytest.raises(ValueError, match="rows past the targets"):
        LdsTruth(masks, losses, {"generated": np.array([5, 6])})
    with pytest.raises(ValueError, match="names no rows"):
        LdsTruth(masks, losses, {"generated": np.array([], dtype=int)})
