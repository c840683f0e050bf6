"""The LDS harness: its maths on data with a known answer, seeded subsets, the on-disk cache
of retrained models, and a tiny end-to-end run of the whole protocol."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from attribution.bench.data import BenchData, load_dataset, split_held_back
from attribution.bench.ground_truth import ground_truth_reliability, spearman_brown
from attribution.bench.lds import run_dataset
from attribution.bench.plan import BenchModel, BenchPlan, MethodEntry, ScoreFn
from attribution.bench.stats import (
    bootstrap_interval,
    lds_per_target,
    paired_bootstrap,
    peak_rss_meter,
    rank,
    spearman,
    subset_masks,
)
from attribution.bench.train import EvalSet, JobResult, Recipe, TrainJob, run_jobs
from attribution.methods import METHODS
from generation.presets import ModelConfig, TrainConfig

# --- maths ----------------------------------------------------------------------------------


def test_rank_gives_ties_their_average_rank() -> None:
    assert rank(np.array([10.0, 30.0, 20.0, 30.0])).tolist() == [0.0, 2.5, 1.0, 2.5]


def test_spearman_of_monotone_reversed_and_constant() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -np.exp(x)) == pytest.approx(-1.0)
    assert math.isnan(spearman(x, np.ones(5)))
    # A known value: one swapped pair of five gives 1 - 6·2/(5·24) = 0.9.
    assert spearman(x, np.array([1.0, 3.0, 2.0, 4.0, 5.0])) == pytest.approx(0.9)


def test_spearman_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="same length"):
        spearman(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        spearman(np.array([1.0, np.nan]), np.array([1.0, 2.0]))


def _linear_world(
    seed: int, n: int = 60, targets: int = 40, subsets: int = 64, noise: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Items with true effects w (t, n): subset loss = 5 − Σ_{i∈S} w_ji (+ noise)."""
    rng = np.random.default_rng(seed)
    effects = rng.normal(size=(targets, n))
    masks = subset_masks(n, subsets, 0.5, seed)
    losses = 5.0 - masks.astype(float) @ effects.T + noise * rng.normal(size=(subsets, targets))
    return effects, masks, losses


def test_lds_is_one_for_the_true_linear_model_and_minus_one_negated() -> None:
    effects, masks, losses = _linear_world(0)
    assert lds_per_target(effects, masks, losses) == pytest.approx(np.ones(40))
    assert lds_per_target(-effects, masks, losses) == pytest.approx(-np.ones(40))
    # Positive rescaling of a target's scores does not change its rank correlation.
    scaled = effects * np.linspace(0.1, 10.0, 40)[:, None]
    assert lds_per_target(scaled, masks, losses) == pytest.approx(np.ones(40))


def test_lds_of_random_scores_is_near_zero_and_noise_lowers_it() -> None:
    effects, masks, losses = _linear_world(1, targets=200)
    random_scores = np.random.default_rng(99).normal(size=effects.shape)
    assert abs(lds_per_target(random_scores, masks, losses).mean()) < 0.05
    _, _, noisy = _linear_world(1, targets=200, noise=5.0)
    noisy_lds = lds_per_target(effects, masks, noisy).mean()
    assert 0.2 < noisy_lds < 0.95


def test_lds_gives_zero_to_a_target_the_method_cannot_rank() -> None:
    effects, masks, losses = _linear_world(2, targets=3)
    effects[1] = 0.0
    assert lds_per_target(effects, masks, losses)[1] == 0.0


def test_lds_refuses_mismatched_shapes() -> None:
    effects, masks, losses = _linear_world(3)
    with pytest.raises(ValueError, match="shapes do not agree"):
        lds_per_target(effects, masks, losses.T)


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_agreement() -> None:
    values = np.random.default_rng(4).normal(0.3, 0.2, size=50)
    mean, lo, hi = bootstrap_interval(values, resamples=500, seed=0)
    assert lo < mean < hi
    assert mean == pytest.approx(values.mean())
    # About ±1.96·σ/√n around the mean.
    assert hi - lo == pytest.approx(2 * 1.96 * values.std() / math.sqrt(50), rel=0.3)
    same = bootstrap_interval(np.full(20, 0.25), resamples=200, seed=0)
    assert same == pytest.approx((0.25, 0.25, 0.25))


def test_paired_bootstrap_calls_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(5)
    b = rng.normal(0.2, 0.3, size=40)
    better = paired_bootstrap(b + 0.1 + rng.normal(0, 0.01, size=40), b, resamples=500)
    assert better["a_better"]
    assert not better["b_better"]
    assert better["diff"] == pytest.approx(0.1, abs=0.01)
    # The pairing matters: unpaired, the spread of b (0.3) would hide a 0.1 difference.
    null = paired_bootstrap(b + rng.normal(0, 0.05, size=40), b, resamples=500)
    assert not null["a_better"]
    assert not null["b_better"]
    worse = paired_bootstrap(b - 0.1, b, resamples=500)
    assert worse["b_better"]
    assert worse["p_a_not_better"] == 1.0


def test_subset_masks_are_seeded_half_sets_independent_of_their_count() -> None:
    masks = subset_masks(21, 8, 0.5, seed=3)
    assert masks.shape == (8, 21)
    assert (masks.sum(axis=1) == 10).all()  # round(10.5) = 10
    assert (subset_masks(21, 8, 0.5, seed=3) == masks).all()
    assert (subset_masks(21, 16, 0.5, seed=3)[:8] == masks).all()
    assert not (subset_masks(21, 8, 0.5, seed=4) == masks).all()
    assert len({row.tobytes() for row in masks}) == 8
    with pytest.raises(ValueError, match="fraction"):
        subset_masks(21, 8, 1.0, seed=3)


def test_held_back_split_is_disjoint_and_seeded() -> None:
    train, held = split_held_back(100, fraction=0.1, minimum=12, seed=0)
    assert held.size == 12
    assert train.size == 88
    assert not set(train.tolist()) & set(held.tolist())
    again, _ = split_held_back(100, fraction=0.1, minimum=12, seed=0)
    assert (again == train).all()
    with pytest.raises(ValueError, match="cannot hold back"):
        split_held_back(10, fraction=0.5, minimum=10, seed=0)


def test_peak_rss_meter_sees_a_large_allocation() -> None:
    with peak_rss_meter() as meter:
        block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB, touched
        del block
    assert meter.mib is not None, "the meter needs Linux's /proc/self/clear_refs and VmHWM"
    assert meter.mib >= 48


# --- data sets ------------------------------------------------------------------------------


def test_digits_two_has_two_classes_at_sixteen_pixels() -> None:
    data = load_dataset("digits-2")
    assert data.images.shape[1:] == (1, 16, 16)
    assert sorted(set(data.class_ids.tolist())) == [0, 1]
    assert float(data.images.min()) >= -1.0
    assert float(data.images.max()) <= 1.0
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("cifar-2")


# --- the cache ------------------------------------------------------------------------------


def _tiny_data(n: int = 16, seed: int = 0) -> BenchData:
    g = torch.Generator().manual_seed(seed)
    images = torch.rand((n, 1, 8, 8), generator=g) * 2 - 1
    labels = torch.arange(n) % 2
    return BenchData("tiny", tuple(f"item-{i}" for i in range(n)), images, labels, channels=1)


def _tiny_recipe() -> Recipe:
    model = ModelConfig(resolution=8, channels=1, block_out_channels=(8, 16))
    train = TrainConfig(steps=3, batch_size=4, checkpoint_every=0, log_every=0)
    return Recipe(model, train)


def test_cache_answers_a_rerun_without_training(tmp_path: Path) -> None:
    data = _tiny_data()
    recipe = _tiny_recipe()
    evals = EvalSet.build(data.images[:3], data.class_ids[:3], (10, 500, 900), seed=0)
    jobs = [TrainJob(f"subset-{m}", tuple(range(m, 16, 2)), recipe.subset_seed(m)) for m in (0, 1)]

    def go(targets: EvalSet = evals) -> dict[str, JobResult]:
        return run_jobs(
            jobs,
            images=data.images,
            class_ids=data.class_ids,
            recipe=recipe,
            folder=tmp_path,
            evals=targets,
            workers=0,
        )

    first = go()
    assert sum(r.trained for r in first.values()) == 2
    second = go()
    assert sum(r.trained for r in second.values()) == 0
    for key in first:
        assert np.array_equal(first[key].losses, second[key].losses)  # type: ignore[arg-type]
    # New targets: the cached weights are re-evaluated, not retrained.
    other = EvalSet.build(data.images[3:5], data.class_ids[3:5], (10, 500, 900), seed=0)
    third = go(other)
    assert not any(r.trained for r in third.values())
    assert all(r.losses is not None and r.losses.shape == (2,) for r in third.values())


def test_training_is_deterministic_for_a_job(tmp_path: Path) -> None:
    data = _tiny_data()
    recipe = _tiny_recipe()
    evals = EvalSet.build(data.images[:2], data.class_ids[:2], (100, 600), seed=1)
    job = TrainJob("subset-0", tuple(range(0, 16, 2)), recipe.subset_seed(0))
    kwargs = {"images": data.images, "class_ids": data.class_ids, "recipe": recipe}
    a = run_jobs([job], folder=tmp_path / "a", evals=evals, workers=0, **kwargs)  # type: ignore[arg-type]
    b = run_jobs([job], folder=tmp_path / "b", evals=evals, workers=0, **kwargs)  # type: ignore[arg-type]
    assert np.array_equal(a["subset-0"].losses, b["subset-0"].losses)  # type: ignore[arg-type]
    assert recipe.subset_seed(0) != recipe.subset_seed(1)


def test_eval_noise_of_a_target_does_not_depend_on_the_others() -> None:
    data = _tiny_data()
    many = EvalSet.build(data.images[:4], data.class_ids[:4], (1, 2), seed=0)
    few = EvalSet.build(data.images[:2], data.class_ids[:2], (1, 2), seed=0)
    assert torch.equal(many.noise[:2], few.noise)
    assert many.digest() != few.digest()


def test_ground_truth_reliability_is_the_test_retest_rank_agreement() -> None:
    rng = np.random.default_rng(0)
    first = rng.normal(size=(10, 4))  # 10 subsets, 4 targets
    second = first.copy()
    second[:, 2:] = -first[:, 2:]  # targets 2, 3: the retrained ranking is reversed
    sets = {"held-back": np.array([0, 1]), "generated": np.array([2, 3])}
    out = ground_truth_reliability(first, second, sets, BenchPlan(bootstrap=20))
    assert out["subsets"] == 10
    assert out["held-back"]["mean"] == pytest.approx(1.0)
    assert out["generated"]["mean"] == pytest.approx(-1.0)
    noise = ground_truth_reliability(first, rng.normal(size=(10, 4)), sets, BenchPlan(bootstrap=20))
    assert abs(noise["held-back"]["mean"]) < 1.0
    # Too few reseeded subsets to rank: reported as not measured, not as a number.
    few = ground_truth_reliability(first[:2], second[:2], sets, BenchPlan(bootstrap=20))
    assert few["held-back"] is None


# --- end to end -----------------------------------------------------------------------------


def _fixed_scores(seed: int) -> Callable[[BenchModel], ScoreFn]:
    def build(model: BenchModel) -> ScoreFn:
        n = len(model.train.item_ids)

        def score(images: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
            del labels
            rng = np.random.default_rng(seed)
            return rng.normal(size=(images.shape[0], n))

        return score

    return build


def _dtrak_small() -> Callable[[BenchModel], ScoreFn]:
    from attribution.bench.candidates import _trak_family

    method = METHODS["d-trak"].with_settings(timesteps=2, dim=32)
    return _trak_family(method, {})


def _tiny_plan(**changes: Any) -> BenchPlan:
    """A plan that trains 8×8 models for a few steps: the protocol's shape in seconds."""
    base: dict[str, Any] = {
        "batch_size": 4,
        "block_out_channels": (8, 16),
        "resolution": 8,
        "held_back_minimum": 3,
        "sampling_steps": 2,
        "query_timing_queries": 1,
        "reliability_subsets": 3,
    }
    return BenchPlan(**{**base, **changes})


def test_tiny_end_to_end_run_and_rerun_from_cache(tmp_path: Path) -> None:
    plan = _tiny_plan(
        num_subsets=4,
        steps=4,
        checkpoint_every=2,
        eval_timesteps=4,
        held_back_fraction=0.2,
        generated_targets=2,
        counterfactual_targets=1,
        counterfactual_k=2,
        counterfactual_random=1,
        bootstrap=50,
        workers=0,
        attribution_batch=8,
    )
    methods = [
        MethodEntry("random", _fixed_scores(0)),
        MethodEntry("d-trak", _dtrak_small()),
    ]
    figures, model, lds_targets = run_dataset(
        "tiny",
        plan,
        methods,
        cache_root=tmp_path,
        counterfactual_method="d-trak",
        comparisons=[("d-trak", "random")],
        data=_tiny_data(20),
    )
    assert figures["targets"] == {"held-back": 4, "generated": 2}
    assert figures["train_items"] == 16
    assert figures["subset_size"] == 8
    assert len(model.checkpoints) == 2  # steps 2 and 4: the raw weights of the full run
    assert lds_targets.generated.shape == (2, 1, 8, 8)
    # Every target in row order (held-back, then generated) with its ground truth: M subsets.
    assert lds_targets.images.shape[0] == lds_targets.labels.shape[0] == 6
    assert lds_targets.rows("generated").tolist() == [4, 5]
    assert np.asarray(lds_targets.truth.losses).shape == (4, 6)
    assert torch.equal(lds_targets.images[4:], lds_targets.generated)
    # Full model + 4 subsets + 3 of them reseeded + 2 counterfactual removals (top-k and one
    # random draw).
    assert figures["models_trained"] == 10
    reliability = figures["ground_truth_reliability"]
    assert reliability["subsets"] == 3
    for name in ("held-back", "generated"):
        block = reliability[name]
        # A percentile interval of resampled models need not straddle the point estimate.
        assert -1.0 <= block["low"] <= block["high"] <= 1.0
        assert -1.0 <= block["mean"] <= 1.0
    for row in figures["methods"]:
        for block in row["lds"].values():
            assert -1.0 <= block["low"] <= block["mean"] <= block["high"] <= 1.0
        assert len(row["lds"]["held-back"]["per_target"]) == 4
    assert {c["targets"] for c in figures["comparisons"]} == {"held-back", "generated"}
    cf = figures["counterfactual"]
    assert cf["k"] == 2
    assert len(cf["targets"]) == 1
    assert len(cf["targets"][0]["random_rises"]) == 1
    # A rerun trains nothing and reproduces every LDS figure.
    again, _, _ = run_dataset(
        "tiny",
        plan,
        methods,
        cache_root=tmp_path,
        counterfactual_method="d-trak",
        comparisons=[("d-trak", "random")],
        data=_tiny_data(20),
    )
    assert again["models_trained"] == 0
    assert again["models_loaded"] == 10
    assert again["ground_truth_reliability"] == reliability
    for first, second in zip(figures["methods"], again["methods"], strict=True):
        assert first["lds"] == second["lds"]


def test_run_dataset_refuses_unknown_comparison(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="comparison"):
        run_dataset(
            "tiny",
            BenchPlan(),
            [MethodEntry("random", _fixed_scores(0))],
            cache_root=tmp_path,
            counterfactual_method=None,
            comparisons=[("random", "d-trak")],
            data=_tiny_data(),
        )


def test_bench_front_end_reports_lds_and_ground_truth_reliability(tmp_path: Path) -> None:
    """`museum bench attribution`'s front end on a tiny plan: tables, reliability line, JSON."""
    from rich.console import Console

    from api.cli.bench_views import render_attribution_bench
    from attribution.bench.harness import run
    from attribution.bench.stability import StabilityPlan
    from attribution.methods import DEFAULT_METHOD, PREVIOUS_DEFAULT

    plan = _tiny_plan(
        num_subsets=3,
        steps=2,
        checkpoint_every=1,
        eval_timesteps=2,
        held_back_fraction=0.05,
        train_limit=12,
        generated_targets=3,
        bootstrap=20,
        attribution_batch=12,
        ground_truth_seeds=2,
    )
    console = Console(record=True, width=200)
    figures = run(
        datasets=("digits-2",),
        methods=("d-trak", PREVIOUS_DEFAULT, DEFAULT_METHOD),
        workers=1,
        cache_dir=tmp_path,
        plan=plan,
        latency=False,
        counterfactual=False,
        stability=StabilityPlan(
            seeds=2, lds_seeds=3, top=3, dims=(256,), ensembles=(), exact=False, noise_seeds=False
        ),
    )
    console.print(render_attribution_bench(figures))
    text = console.export_text()
    (data,) = figures["datasets"]
    assert [row["name"] for row in data["methods"]] == ["d-trak", PREVIOUS_DEFAULT, DEFAULT_METHOD]
    assert data["models_trained"] == 1 + 3 * 2  # full, subsets × two seeds
    assert data["ground_truth_reliability"]["subsets"] == 3
    assert "Ground truth digits-2: test-retest Spearman % over 3 subsets" in text
    assert "the ground truth averages 2 seeds per subset" in text
    assert f"{DEFAULT_METHOD} (default)" in text
    # The credit-stability block: each method over 2 projection seeds, the default also at
    # k = 256; its verdict against the targets.
    block = data["stability"]
    assert [row["name"] for row in block["rows"]] == [
        "d-trak",
        PREVIOUS_DEFAULT,
        DEFAULT_METHOD,
        f"{DEFAULT_METHOD} k=256",
    ]
    assert block["targets"] == 3
    assert "Credit stability: digits-2 — 3 generations, 2 projection seeds" in text
    assert "digits-2: noise seed not measured" in text
    assert "met" in figures["verdicts"]["digits-2/credit_agreement"]
    # Every scoring of the block also gets an LDS on all the LDS table's targets: the line-up's
    # methods at 3 seeds, the default's other k at the agreement's 2; and the default against
    # the previous default with both averaged over their seeds.
    rows = {row["name"]: row for row in block["rows"]}
    assert rows[DEFAULT_METHOD]["lds_over_seeds"]["seeds"] == 3
    assert rows[f"{DEFAULT_METHOD} k=256"]["lds_over_seeds"]["seeds"] == 2
    for name, count in data["targets"].items():
        assert len(rows[PREVIOUS_DEFAULT]["lds_over_seeds"][name]["per_target"]) == count
    assert {(c["a"], c["b"]) for c in block["lds_comparisons"]} == {
        ("d-trak", PREVIOUS_DEFAULT),
        (DEFAULT_METHOD, PREVIOUS_DEFAULT),
    }
    assert "LDS across projection seeds: digits-2" in text
    assert "LDS averaged over projection seeds: digits-2" in text
    verdict = figures["verdicts"]["digits-2/generated"]["default_not_lower_than_previous"]
    assert isinstance(verdict["at_the_bench_seed"], bool)
    assert isinstance(verdict["over_projection_seeds"], bool)


def test_spearman_brown_predicts_the_agreement_of_a_mean_of_seeds() -> None:
    assert spearman_brown(0.5, 1) == pytest.approx(0.5)
    assert spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert spearman_brown(0.2, 4) == pytest.approx(0.8 / 1.6)
    assert spearman_brown(1.0, 3) == pytest.approx(1.0)
    # Nothing to average up below zero: reported as measured.
    assert spearman_brown(-0.2, 2) == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="seeds"):
        spearman_brown(0.5, 0)


def test_ground_truth_averages_the_seeds_of_every_subset(tmp_path: Path) -> None:
    plan = _tiny_plan(
        num_subsets=4,
        steps=2,
        checkpoint_every=1,
        eval_timesteps=3,
        held_back_fraction=0.2,
        generated_targets=2,
        bootstrap=20,
        workers=0,
        ground_truth_seeds=2,
    )
    methods = [MethodEntry("random", _fixed_scores(0))]
    kwargs: dict[str, Any] = {
        "cache_root": tmp_path,
        "counterfactual_method": None,
        "data": _tiny_data(20),
    }
    figures, _, _ = run_dataset("tiny", plan, methods, **kwargs)
    # Full model, then 4 subsets × 2 seeds.
    assert figures["models_trained"] == 1 + 4 * 2
    reliability = figures["ground_truth_reliability"]
    assert reliability["subsets"] == 4  # seeds 0 and 1 of every subset
    assert reliability["ground_truth_seeds"] == 2
    for name in ("held-back", "generated"):
        block = reliability[name]
        assert block["averaged"]["mean"] == pytest.approx(spearman_brown(block["mean"], 2))
    per_seed = figures["subset_model_target_loss_per_seed"]
    assert len(per_seed) == 2
    for name in ("held-back", "generated"):
        mean = figures["subset_model_target_loss"][name]
        assert mean == pytest.approx((per_seed[0][name] + per_seed[1][name]) / 2)
        assert per_seed[0][name] != pytest.approx(per_seed[1][name])  # other seeds, other models
    # One seed per subset on the same cache: trains nothing, its ground truth is seed 0's.
    single, _, _ = run_dataset(
        "tiny",
        dataclasses.replace(plan, ground_truth_seeds=1, reliability_subsets=4),
        methods,
        **kwargs,
    )
    assert single["models_trained"] == 0
    assert single["subset_model_target_loss"] == pytest.approx(per_seed[0])
    with pytest.raises(ValueError, match="ground_truth_seeds"):
        run_dataset("tiny", dataclasses.replace(plan, ground_truth_seeds=0), methods, **kwargs)


def test_verdicts_hold_the_default_to_the_better_dtrak_setting() -> None:
    """The ≥ 5-point target is against D-TRAK at its best (K = 10 or the published K = 100)."""
    from attribution.bench.harness import _verdicts
    from attribution.methods import PREVIOUS_DEFAULT

    def row(name: str, held: float, generated: float) -> dict[str, Any]:
        return {
            "name": name,
            "lds": {"held-back": {"mean": held}, "generated": {"mean": generated}},
        }

    figures = {
        "default_method": "trak-ridge",
        "datasets": [
            {
                "name": "digits-2",
                "targets": {"held-back": 24, "generated": 24},
                "methods": [
                    row("tracin", 0.01, 0.01),
                    row("trak", 0.05, 0.02),
                    row("d-trak", 0.04, 0.03),
                    row("trak-k100", 0.06, 0.04),
                    row("d-trak-k100", 0.10, 0.08),
                    row("trak-ridge", 0.20, 0.12),
                ],
                # Against the previous default: lower at the bench's seed on generated targets
                # (the interval ends below 0), not lower over projection seeds.
                "comparisons": [
                    {"a": "trak-ridge", "b": PREVIOUS_DEFAULT, "targets": t, "high": high}
                    for t, high in (("held-back", 0.01), ("generated", -0.001))
                ],
                "stability": {
                    "rows": [],
                    "lds_comparisons": [
                        {
                            "a": "trak-ridge",
                            "b": PREVIOUS_DEFAULT,
                            "targets": "generated",
                            "high": 0.0,
                        }
                    ],
                },
            }
        ],
    }
    verdicts = _verdicts(figures)
    assert verdicts["digits-2/generated"]["default_not_lower_than_previous"] == {
        "at_the_bench_seed": False,
        "over_projection_seeds": True,
    }
    assert verdicts["digits-2/held-back"]["default_not_lower_than_previous"] == {
        "at_the_bench_seed": True,
        "over_projection_seeds": None,
    }
    held, generated = verdicts["digits-2/held-back"], verdicts["digits-2/generated"]
    assert held["default_minus_dtrak_points"] == pytest.approx(10.0)  # 20 − max(4, 10)
    assert held["default_beats_dtrak_by_5"] is True
    assert generated["default_minus_dtrak_points"] == pytest.approx(4.0)  # 12 − max(3, 8)
    assert generated["default_beats_dtrak_by_5"] is False
    assert held["ordering_dtrak_trak_tracin"] is False  # d-trak 4 < trak 5
    assert held["ordering_at_100_timesteps"] is True  # 10 > 6 > 1
