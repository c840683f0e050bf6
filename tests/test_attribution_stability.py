"""Credit stability across projection seeds: the agreement figures, the ensemble of projections,
the dual-form kernel, and the bench block reproducing the Attributor's scores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from attribution.bench.agreement import credit_agreement, seed_agreement
from attribution.bench.data import BenchData
from attribution.bench.plan import BenchModel
from attribution.bench.seed_lds import LdsTruth, lds_of
from attribution.bench.stability import (
    StabilityPlan,
    gradients,
    measure_stability,
    score_exact,
    score_projected,
)
from attribution.bench.stats import subset_masks
from attribution.front import Attributor
from attribution.methods import METHODS, Method
from attribution.scoring import DUAL_DTYPE, PRIMAL_MAX_DIM, CosineTrakScorer, TrakScorer
from attribution.store import IndexStore
from generation.model import build_unet, checkpoint_hash
from generation.presets import preset

IDS = ["a/1", "a/2", "b/1", "c/1"]
ITEMS = {
    "a/1": {"artist_id": "a", "role": "sketch"},
    "a/2": {"artist_id": "a", "role": "final"},
    "b/1": {"artist_id": "b", "role": "final"},
    "c/1": {"artist_id": "c", "role": "sketch"},
}


def test_credit_agreement_is_the_common_share_mass_per_item_artist_and_role() -> None:
    same = np.array([3.0, 1.0, 0.0, -1.0])
    whole = credit_agreement(same, same.copy(), IDS, ITEMS, 2)
    assert whole == {"item": 1.0, "artist": 1.0, "role": 1.0, "top_k": 1.0, "spearman": 1.0}
    # a/1 3:1 a/2 against a/2 3:1 a/1: items share 0.25 + 0.25; artist a keeps all of it.
    swapped = credit_agreement(same, np.array([1.0, 3.0, 0.0, -1.0]), IDS, ITEMS, 2)
    assert swapped["item"] == pytest.approx(0.5)
    assert swapped["artist"] == 1.0
    assert swapped["role"] == pytest.approx(0.5)  # sketch 0.75 / final 0.25 against the reverse
    assert swapped["top_k"] == 1.0
    # Disjoint credit: nothing in common.
    other = credit_agreement(same, np.array([-1.0, 0.0, 2.0, 2.0]), IDS, ITEMS, 2)
    assert other["item"] == 0.0
    assert other["artist"] == 0.0
    assert other["top_k"] == 0.0
    with pytest.raises(ValueError, match="two score vectors"):
        credit_agreement(same, same[:3], IDS, ITEMS, 2)


def test_seed_agreement_averages_pairs_per_target_and_reports_the_smallest() -> None:
    a = np.array([[3.0, 1.0, 0.0, -1.0], [1.0, 2.0, 3.0, 4.0]])
    b = np.array([[1.0, 3.0, 0.0, -1.0], [1.0, 2.0, 3.0, 4.0]])
    out = seed_agreement([a, a.copy(), b], IDS, ITEMS, 2)
    assert out["pairs"] == 3
    # Target 0: pairs (a, a) 1, (a, b) 0.5, (a, b) 0.5; target 1: identical everywhere.
    assert out["per_target"][0]["item"] == pytest.approx(2.0 / 3.0)
    assert out["mean"]["item"] == pytest.approx((2.0 / 3.0 + 1.0) / 2)
    assert out["min"]["item"] == pytest.approx(2.0 / 3.0)
    with pytest.raises(ValueError, match="at least two"):
        seed_agreement([a], IDS, ITEMS, 2)


def test_dual_kernel_equals_the_primal_one_above_the_primal_size() -> None:
    assert TrakScorer.primal_max_dim == PRIMAL_MAX_DIM == 4096
    g = torch.Generator().manual_seed(3)
    train = torch.randn((12, 160), generator=g, dtype=torch.float64)
    query = torch.randn((3, 160), generator=g, dtype=torch.float64)
    scorer = CosineTrakScorer(0.5, normalise_queries=False)
    scorer.primal_max_dim = 128  # the dual form from k = 129 on, as from 4097 in production
    dual = scorer.fit([train]).score([query])
    # The primal form on the same rows, written out (12 unit rows: rank 12, λ = 0.5).
    unit = train / train.norm(dim=1, keepdim=True)
    primal = query @ torch.linalg.solve(
        unit.T @ unit + 0.5 * torch.eye(unit.shape[1], dtype=unit.dtype), unit.T
    )
    # Its weights are kept in float32 (the query's memory traffic), so float32's precision.
    assert scorer._weights[0].dtype == DUAL_DTYPE == torch.float32
    assert torch.allclose(dual, primal, rtol=1e-5, atol=1e-6)
    # And as repeatable as the primal form: the same rows give the same floats.
    again = CosineTrakScorer(0.5, normalise_queries=False)
    again.primal_max_dim = 128
    assert torch.equal(again.fit([train.clone()]).score([query.clone()]), dual)
    # At or below the primal size the k × k solve is kept (recorded attributions recompute).
    small = train[:, :64]
    kept = TrakScorer(0.5).fit([small]).score([query[:, :64]])
    direct = query[:, :64] @ torch.linalg.solve(
        small.T @ small + 0.5 * torch.eye(64, dtype=small.dtype), small.T
    )
    assert torch.equal(kept, direct)


def test_given_weights_score_as_fitted_ones_would_in_their_dtype() -> None:
    scorer = TrakScorer(0.5)
    assert scorer.weight_dtype(10, PRIMAL_MAX_DIM, 0.5) == torch.float64
    assert scorer.weight_dtype(10, PRIMAL_MAX_DIM + 1, 0.5) == DUAL_DTYPE
    assert scorer.weight_dtype(10, PRIMAL_MAX_DIM + 1, 0.0) == torch.float64  # no dual at λ = 0
    g = torch.Generator().manual_seed(4)
    weights = [torch.randn((6, 4), generator=g, dtype=DUAL_DTYPE) for _ in range(2)]
    query = [torch.randn((1, 6), generator=g) for _ in range(2)]
    out = scorer.use_weights(weights).score(query)
    # Each checkpoint's product in the weights' dtype, the average in float64.
    each = [(q.to(DUAL_DTYPE) @ w).to(torch.float64) for q, w in zip(query, weights, strict=True)]
    assert out.dtype == torch.float64
    assert torch.equal(out, (each[0] + each[1]) / 2)
    with pytest.raises(ValueError, match="one k × n matrix shape"):
        scorer.use_weights([weights[0], weights[1][:3]])


@pytest.fixture(scope="module")
def model() -> BenchModel:
    config = replace(preset("tiny")[0], block_out_channels=(8, 16), norm_num_groups=4)
    g = torch.Generator().manual_seed(5)
    images = (torch.rand((10, 1, 16, 16), generator=g) * 2 - 1).contiguous()
    labels = torch.randint(0, 4, (10,), generator=g)
    data = BenchData(
        "tiny",
        tuple(f"artist-{i % 3}/item-{i}" for i in range(10)),
        images,
        labels,
        channels=1,
        artists=tuple(f"artist-{i % 3}" for i in range(10)),
        roles=tuple("final" if i % 2 else "sketch" for i in range(10)),
    )
    checkpoints = []
    for seed in (0, 1):
        state = build_unet(config, seed=seed).state_dict()
        checkpoints.append((checkpoint_hash(state), state))
    return BenchModel(config, tuple(checkpoints), data, seed=7, batch_size=8)


def _method(**overrides: object) -> Method:
    base = Method("tiny-unit", "square_norm", "square_norm", (50, 400), 64, scorer="unit-train")
    return replace(base, **overrides)  # type: ignore[arg-type]


def _attributor(model: BenchModel, method: Method, store: IndexStore | None = None) -> Attributor:
    return model.attributor(method, store)


def test_ensemble_of_projections_is_the_mean_of_its_members_and_round_trips(
    model: BenchModel, tmp_path: Path
) -> None:
    queries, labels = model.train.images[:3].clone(), model.train.class_ids[:3]
    method = _method(projections=3)
    seeds = method.projection_seeds(model.seed)
    assert len(set(seeds)) == 3
    assert _method().projection_seeds(model.seed) == (model.seed,)
    assert method.parameters()["projections"] == 3
    assert "projections" not in _method().parameters()
    store = IndexStore(tmp_path / "index")
    ensemble = _attributor(model, method, store)
    index = ensemble.build_index()
    assert len(index.features) == 2 * 3  # checkpoints × projections
    assert index.extra["projection_seeds"] == list(seeds)
    scores = ensemble.score(queries, labels)
    # The harness's projections reproduce the attributor's: one gradient pass, R projections.
    grads, _ = gradients(model, method, queries, labels, model.seed)
    assert np.allclose(score_projected(grads, method, seeds), scores, rtol=1e-5, atol=1e-8)
    # A loaded ensemble index scores identically; a single-projection attributor refuses it.
    loaded = _attributor(model, method, store)
    loaded.load_index()
    assert np.array_equal(loaded.score(queries, labels), scores)
    with pytest.raises(ValueError, match="other items, checkpoints or settings"):
        _attributor(model, _method(), store).load_index()
    # One projection seeded by the seed is the index it always was (no projection_seeds).
    single = _attributor(model, _method())
    assert "projection_seeds" not in single.build_index().extra


def test_stability_block_reports_agreement_costs_and_the_noise_seed(model: BenchModel) -> None:
    targets, labels = model.train.images[:2].clone(), model.train.class_ids[:2]
    method = _method()
    plan = StabilityPlan(seeds=3, top=3, dims=(64, 128), ensembles=((2, 64),), exact=True)
    out = measure_stability(model, [method], method.name, targets, labels, plan)
    names = [row["name"] for row in out["rows"]]
    assert names == ["tiny-unit", "tiny-unit k=128", "tiny-unit R=2×k=64", "tiny-unit exact"]
    first = out["rows"][0]
    assert first["agreement"]["pairs"] == 3
    assert len(first["agreement"]["per_target"]) == 2
    assert 0.0 <= first["agreement"]["mean"]["item"] <= 1.0
    assert first["index_mib"] == pytest.approx(2 * 10 * 64 * 4 / 2**20)
    assert out["rows"][2]["index_mib"] == pytest.approx(2 * first["index_mib"])
    exact = out["rows"][3]
    assert exact["agreement"] is None
    assert exact["agreement_with_projected"]["pairs"] == 1
    assert out["noise_seed"]["noise_seeds"] == [7, 8]
    # The exact kernel does not depend on a projection: the same gradients, the same scores.
    grads, _ = gradients(model, method, targets, labels, model.seed)
    assert np.array_equal(score_exact(grads, method), score_exact(grads, method))
    with pytest.raises(ValueError, match="two projection seeds"):
        measure_stability(model, [method], method.name, targets, labels, replace(plan, seeds=1))


def test_with_a_ground_truth_every_projection_seed_gets_an_lds(model: BenchModel) -> None:
    targets, labels = model.train.images[:4].clone(), model.train.class_ids[:4]
    method, narrow = _method(), _method(name="tiny-unit-narrow", dim=32)
    plan = StabilityPlan(
        seeds=2, lds_seeds=4, top=3, dims=(128,), ensembles=(), exact=True, noise_seeds=False
    )
    rng = np.random.default_rng(2)
    sets = {"held-back": np.array([0, 1]), "generated": np.array([2, 3])}
    truth = LdsTruth(subset_masks(10, 8, 0.5, seed=0), rng.normal(size=(8, 4)), sets, 50)
    pairs = [(method.name, narrow.name), (f"{method.name} exact", narrow.name)]
    out = measure_stability(
        model,
        [narrow, method],
        method.name,
        targets,
        labels,
        plan,
        credited=[2, 3],
        truth=truth,
        lds_pairs=pairs,
    )
    rows = {row["name"]: row for row in out["rows"]}
    assert out["targets"] == 2
    own = rows[method.name]
    # The line-up's own rows: lds_seeds scorings, the first `seeds` of them the agreement's.
    assert own["lds_over_seeds"]["seeds"] == 4
    assert own["projection_seeds"] == own["lds_projection_seeds"][:2]
    assert rows[f"{method.name} k=128"]["lds_over_seeds"]["seeds"] == 2
    # Each seed's LDS is that projection's scoring of every target against the ground truth,
    # and the agreement compares the credited rows only.
    grads, _ = gradients(model, method, targets, labels, model.seed)
    runs = [score_projected(grads, method, tuple(s)) for s in own["lds_projection_seeds"]]
    for name in sets:
        expected = [lds_of(run, truth)[name]["mean"] for run in runs]
        assert own["lds_over_seeds"][name]["by_seed"] == pytest.approx(expected)
    assert own["agreement"] == seed_agreement(
        [run[2:] for run in runs[:2]], model.train.item_ids, model.train.items_by_id(), 3
    )
    exact = rows[f"{method.name} exact"]
    assert exact["lds"]["generated"]["mean"] == pytest.approx(
        lds_of(score_exact(grads, method), truth)["generated"]["mean"]
    )
    compared = out["lds_comparisons"]
    assert [(c["a"], c["targets"]) for c in compared] == [
        (method.name, "held-back"),
        (method.name, "generated"),
        (f"{method.name} exact", "held-back"),
        (f"{method.name} exact", "generated"),
    ]
    first = np.asarray(own["lds_over_seeds"]["generated"]["per_target"])
    second = np.asarray(rows[narrow.name]["lds_over_seeds"]["generated"]["per_target"])
    assert compared[1]["diff"] == pytest.approx(float((first - second).mean()))
    # Without a ground truth: no LDS, no comparisons (and the block runs as before).
    plain = measure_stability(model, [method], method.name, targets, labels, plan)
    assert plain["lds_comparisons"] == []
    assert "lds_over_seeds" not in plain["rows"][0]


def test_stability_refuses_a_ground_truth_or_pair_that_does_not_fit(model: BenchModel) -> None:
    targets, labels = model.train.images[:4].clone(), model.train.class_ids[:4]
    method = _method()
    plan = StabilityPlan(seeds=2, top=3, dims=(), ensembles=(), exact=False, noise_seeds=False)
    truth = LdsTruth(subset_masks(10, 8, 0.5, seed=0), np.zeros((8, 3)), {"g": np.arange(3)})
    with pytest.raises(ValueError, match="every target row"):
        measure_stability(model, [method], method.name, targets, labels, plan, truth=truth)
    fits = LdsTruth(subset_masks(10, 8, 0.5, seed=0), np.zeros((8, 4)), {"g": np.arange(4)})
    with pytest.raises(ValueError, match="without an LDS"):
        measure_stability(
            model, [method], method.name, targets, labels, plan, truth=fits, lds_pairs=[("x", "y")]
        )
    with pytest.raises(ValueError, match="at least one credited"):
        measure_stability(model, [method], method.name, targets, labels, plan, credited=[])


def test_methods_that_differ_only_in_the_kernel_share_one_gradient_pass(
    model: BenchModel,
) -> None:
    targets, labels = model.train.images[:2].clone(), model.train.class_ids[:2]
    weak, strong = _method(), _method(name="tiny-unit-strong", regularisation=0.1)
    plan = StabilityPlan(seeds=2, top=3, dims=(), ensembles=(), exact=False, noise_seeds=False)
    said: list[str] = []
    out = measure_stability(model, [weak, strong], weak.name, targets, labels, plan, said.append)
    assert said == ["stability: gradients for tiny-unit"]
    rows = {row["name"]: row for row in out["rows"]}
    assert set(rows) == {"tiny-unit", "tiny-unit-strong"}
    # Same gradients, another λ: other scores (the rows are not one computation twice).
    assert rows["tiny-unit"]["agreement"] != rows["tiny-unit-strong"]["agreement"]


def test_latency_with_synthesised_weights_times_a_query_of_the_fitted_shape(
    model: BenchModel,
) -> None:
    from attribution.bench.latency import measure_latency

    method = _method(dim=PRIMAL_MAX_DIM + 1)  # the dual form: float32 weights at 40 items
    attributor = _attributor(model, method)
    attributor.build_index()
    query, label = model.train.images[:1].clone(), model.train.class_ids[:1]
    out = measure_latency(
        model, attributor, method, query, label, 40, 2, 1e-3, 0, kernel="synthesised", repeats=2
    )
    assert out["kernel"] == "synthesised"
    assert out["items"] == 40
    assert out["warm_queries"] == 1
    assert out["query_s"] > 0
    assert out["tracin"]["items_measured"] == 2
    with pytest.raises(ValueError, match="kernel must be"):
        measure_latency(model, attributor, method, query, label, 40, 2, 1e-3, 0, kernel="none")


def test_measured_agreement_only_for_a_method_at_its_registered_settings() -> None:
    from attribution.methods import AGREEMENT, DEFAULT_METHOD, get_method, measured_agreement

    default = get_method(DEFAULT_METHOD)
    assert measured_agreement(default) == AGREEMENT[DEFAULT_METHOD]
    assert AGREEMENT[DEFAULT_METHOD]["item"] >= 0.90
    assert measured_agreement(default.with_settings(dim=64)) is None
    assert measured_agreement(_method()) is None


def test_registered_methods_keep_their_parameters() -> None:
    # Recorded attributions name their method's parameters: R = 1 adds no key.
    for method in METHODS.values():
        if method.projections == 1:
            assert "projections" not in method.parameters()


def test_the_bench_synthesises_the_latency_kernel_only_where_the_fit_is_a_dual_solve() -> None:
    from attribution.bench.harness import LATENCY_ITEMS, _latency_kernel
    from attribution.methods import DEFAULT_METHOD, PREVIOUS_DEFAULT

    assert _latency_kernel(METHODS[DEFAULT_METHOD]) == "synthesised"  # k = 65536 > 10,000 items
    assert _latency_kernel(METHODS[PREVIOUS_DEFAULT]) == "fitted"  # k = 2048: the primal form
    # The dual form needs k above the primal size AND above the 10,000 items, and a ridge.
    assert _latency_kernel(_method(dim=PRIMAL_MAX_DIM + 1)) == "fitted"
    assert _latency_kernel(_method(dim=LATENCY_ITEMS + 1)) == "synthesised"
    assert _latency_kernel(_method(dim=LATENCY_ITEMS + 1, regularisation=0.0)) == "fitted"
