"""Core attribution roles: per-example gradients, chunked projection, TRAK scoring, the index
store and the `Attributor` front, on a UNet smaller than the tiny preset (fast on one thread)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch
from diffusers.models.unets.unet_2d import UNet2DModel

from attribution.front import Attributor
from attribution.gradients import GradientComputer
from attribution.methods import METHODS, Method, build_attributor, evenly_spaced, get_method
from attribution.projector import ChunkedGaussianProjector, SparseSignProjector, make_projector
from attribution.scoring import RelativeRidgeScorer, TrakScorer
from attribution.store import IndexStore
from generation.model import build_unet, checkpoint_hash, training_scheduler
from generation.presets import ModelConfig, preset
from generation.training import denoising_loss

TIMESTEPS = (50, 400)


@pytest.fixture(scope="module")
def config() -> ModelConfig:
    base = preset("tiny")[0]
    return replace(base, block_out_channels=(8, 16), norm_num_groups=4)


def _images(n: int, seed: int) -> tuple[torch.Tensor, list[int]]:
    g = torch.Generator().manual_seed(seed)
    images = (torch.rand((n, 1, 16, 16), generator=g) * 2 - 1).contiguous()
    labels = torch.randint(0, 20, (n,), generator=g).tolist()
    return images, labels


def _loop_gradient(
    model: UNet2DModel,
    config: ModelConfig,
    computer: GradientComputer,
    image: torch.Tensor,
    label: int,
    index: int,
    output: str,
) -> torch.Tensor:
    """Reference: one plain backward per example through the training code's own loss."""
    noise = computer.noise_for(index, image.shape)
    model.zero_grad()
    k = len(TIMESTEPS)
    batch = image.unsqueeze(0).repeat(k, 1, 1, 1)
    if output == "loss":
        value = denoising_loss(
            model, training_scheduler(config), batch, [label] * k, list(TIMESTEPS), noise
        ).mean()
    else:
        noisy = training_scheduler(config).add_noise(
            batch, noise, cast(torch.IntTensor, torch.tensor(TIMESTEPS))
        )
        predicted = model(noisy, torch.tensor(TIMESTEPS), class_labels=torch.tensor([label] * k))
        value = (predicted.sample**2).sum(dim=(1, 2, 3)).mean()
    value.backward()  # type: ignore[no-untyped-call]
    return torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])


@pytest.mark.parametrize("output", ["loss", "square_norm"])
def test_vmap_gradients_equal_per_example_backward(config: ModelConfig, output: str) -> None:
    model = build_unet(config, seed=1)
    computer = GradientComputer(
        model, training_scheduler(config), output, TIMESTEPS, seed=5, batch_size=3
    )
    images, labels = _images(5, seed=0)
    grads = computer.compute(images, labels)
    assert grads.shape == (5, computer.num_params)
    assert grads.dtype == torch.float32
    for i in range(5):
        reference = _loop_gradient(model, config, computer, images[i], labels[i], i, output)
        torch.testing.assert_close(grads[i], reference, rtol=1e-4, atol=1e-5)
    # Noise depends on the example index only, not on batching or order.
    again = computer.compute(images[[3, 1]], [labels[3], labels[1]], indices=[3, 1])
    torch.testing.assert_close(again, grads[[3, 1]], rtol=1e-5, atol=1e-6)
    # A sample budget of K (one example × its K timesteps per call) bounds memory, not rows.
    frugal = GradientComputer(
        model,
        training_scheduler(config),
        output,
        TIMESTEPS,
        seed=5,
        batch_size=3,
        max_samples=len(TIMESTEPS),
    )
    assert frugal.batch_size == 1
    torch.testing.assert_close(frugal.compute(images, labels), grads, rtol=1e-4, atol=1e-5)


def test_grouped_rows_are_the_mean_of_each_timestep_groups_unit_gradient(
    config: ModelConfig,
) -> None:
    """G groups: each group's gradient (same noise as ungrouped) is scaled to unit length."""
    model = build_unet(config, seed=1)
    scheduler = training_scheduler(config)
    steps = (50, 400, 700, 900)
    plain = GradientComputer(model, scheduler, "square_norm", steps, seed=5, batch_size=2)
    grouped = GradientComputer(
        model, scheduler, "square_norm", steps, seed=5, batch_size=2, timestep_groups=2
    )
    assert grouped.groups == ((0, 2), (2, 4))
    images, labels = _images(3, seed=0)
    rows = grouped.compute(images, labels)
    for i in range(3):
        # Reference: one plain backward per group, the group's slice of the example's noise.
        noise = plain.noise_for(i, images.shape[1:])
        parts = []
        for lo, hi in grouped.groups:
            model.zero_grad()
            at = torch.tensor(steps[lo:hi])
            noisy = scheduler.add_noise(
                images[i].unsqueeze(0).repeat(hi - lo, 1, 1, 1),
                noise[lo:hi],
                cast(torch.IntTensor, at),
            )
            predicted = model(noisy, at, class_labels=torch.tensor([labels[i]] * (hi - lo)))
            (predicted.sample**2).sum(dim=(1, 2, 3)).mean().backward()
            flat = torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])
            parts.append(flat / flat.norm())
        torch.testing.assert_close(rows[i], (parts[0] + parts[1]) / 2, rtol=1e-4, atol=1e-6)
    # Unit-length parts: a row is never longer than 1, and differs from the plain mean.
    assert bool((rows.norm(dim=1) <= 1 + 1e-5).all())
    assert not torch.allclose(rows / rows.norm(dim=1, keepdim=True), plain.compute(images, labels))
    # One group is exactly the ungrouped computer.
    single = GradientComputer(
        model, scheduler, "square_norm", steps, seed=5, batch_size=2, timestep_groups=1
    )
    assert torch.equal(single.compute(images, labels), plain.compute(images, labels))
    with pytest.raises(ValueError, match="do not divide"):
        GradientComputer(model, scheduler, "square_norm", steps, timestep_groups=3)
    with pytest.raises(ValueError, match="positive integer"):
        GradientComputer(model, scheduler, "square_norm", steps, timestep_groups=0)


def test_projector_equals_dense_reference_and_is_deterministic() -> None:
    projector = ChunkedGaussianProjector(num_params=53, dim=16, seed=7, chunk_rows=10)
    g = torch.randn((4, 53), generator=torch.Generator().manual_seed(0))
    dense = projector.dense()
    assert dense.shape == (53, 16)
    torch.testing.assert_close(projector.project(g), g @ dense, rtol=1e-5, atol=1e-5)
    twin = ChunkedGaussianProjector(num_params=53, dim=16, seed=7, chunk_rows=10)
    assert torch.equal(twin.project(g), projector.project(g))
    other = ChunkedGaussianProjector(num_params=53, dim=16, seed=8, chunk_rows=10)
    assert not torch.allclose(other.project(g), projector.project(g))
    # Gradients may arrive in parameter-chunks of any widths and order.
    pieces = [(30, g[:, 30:]), (0, g[:, :7]), (7, g[:, 7:30])]
    torch.testing.assert_close(
        projector.project_chunks(pieces, batch=4), projector.project(g), rtol=1e-5, atol=1e-5
    )


def test_sparse_projector_equals_its_dense_matrix_and_is_deterministic() -> None:
    projector = SparseSignProjector(num_params=53, dim=16, seed=7, chunk_rows=10, nonzeros=3)
    g = torch.randn((4, 53), generator=torch.Generator().manual_seed(0))
    dense = projector.dense()
    assert dense.shape == (53, 16)
    # Each row holds at most `nonzeros` entries of ±1/sqrt(3) (two draws on a column add up).
    assert int((dense != 0).sum(dim=1).max()) <= 3
    assert torch.allclose(dense.abs().sum(dim=1).max(), torch.tensor(3 / 3**0.5))
    torch.testing.assert_close(projector.project(g), g @ dense, rtol=1e-5, atol=1e-5)
    twin = SparseSignProjector(num_params=53, dim=16, seed=7, chunk_rows=10, nonzeros=3)
    twin._cache.clear()
    assert torch.equal(twin.project(g), projector.project(g))
    other = SparseSignProjector(num_params=53, dim=16, seed=8, chunk_rows=10, nonzeros=3)
    assert not torch.allclose(other.project(g), projector.project(g))
    pieces = [(30, g[:, 30:]), (0, g[:, :7]), (7, g[:, 7:30])]
    torch.testing.assert_close(
        projector.project_chunks(pieces, batch=4), projector.project(g), rtol=1e-5, atol=1e-5
    )
    # Without a cache the chunks are redrawn identically.
    uncached = SparseSignProjector(53, 16, 7, chunk_rows=10, nonzeros=3, cache_entries=0)
    assert torch.equal(uncached.project(g), projector.project(g))
    assert not uncached._cache


@pytest.mark.parametrize("kind", ["gaussian", "sparse"])
def test_projector_roughly_preserves_norms(kind: str) -> None:
    projector = make_projector(kind, num_params=3000, dim=1024, seed=0)
    g = torch.randn((8, 3000), generator=torch.Generator().manual_seed(1))
    ratio = projector.project(g).norm(dim=1) / g.norm(dim=1)
    assert bool(((ratio > 0.85) & (ratio < 1.15)).all()), ratio
    # Inner products too (what the TRAK kernel consumes), within JL distortion.
    h = g + 0.5 * torch.randn((8, 3000), generator=torch.Generator().manual_seed(2))
    exact = (g * h).sum(dim=1)
    projected = (projector.project(g) * projector.project(h)).sum(dim=1)
    assert bool(((projected - exact).abs() < 0.15 * g.norm(dim=1) * h.norm(dim=1)).all())


def test_projector_scales_without_materialising_the_matrix() -> None:
    """30M parameters × 4096: only (chunk_rows × dim) blocks are ever drawn."""
    p, dim, rows = 30_000_000, 4096, 1024
    projector = ChunkedGaussianProjector(num_params=p, dim=dim, seed=0, chunk_rows=rows)
    assert projector.num_chunks == 29_297
    assert projector.chunk_bounds(0) == (0, rows)
    assert projector.chunk_bounds(projector.num_chunks - 1) == (29_999_104, p)
    last = projector.matrix_chunk(projector.num_chunks - 1)
    assert last.shape == (896, dim)  # 14.7 MB, against 492 GB for the dense matrix
    assert torch.equal(last, projector.matrix_chunk(projector.num_chunks - 1))
    with pytest.raises(ValueError, match="small projections"):
        projector.dense()
    # A one-parameter-chunk at the far end touches only the last matrix chunk.
    piece = torch.ones((1, 896))
    pieces = list(projector._rows(29_999_104, p))
    assert [(lo, hi, tuple(r.shape)) for lo, hi, r in pieces] == [(29_999_104, p, (896, dim))]
    torch.testing.assert_close((piece @ last)[0], last.sum(dim=0))


def test_trak_scorer_matches_closed_form_and_ranks_nearest_item() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn((20, 64), generator=g, dtype=torch.float64)
    query = x[7:8] + 0.05 * torch.randn((1, 64), generator=g, dtype=torch.float64)
    lam = 0.1
    scorer = TrakScorer(lam).fit([x])
    scores = scorer.score([query])
    expected = query @ torch.linalg.inv(x.T @ x + lam * torch.eye(64, dtype=torch.float64)) @ x.T
    torch.testing.assert_close(scores, expected)
    assert int(scores.argmax()) == 7
    # Ensemble: the average of per-checkpoint scores.
    y = torch.randn((20, 64), generator=g, dtype=torch.float64)
    both = TrakScorer(lam).fit([x, y]).score([query, query])
    single_y = TrakScorer(lam).fit([y]).score([query])
    torch.testing.assert_close(both, (scores + single_y) / 2)


def test_relative_ridge_is_scale_free_and_sized_by_the_spectrum() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn((12, 40), generator=g, dtype=torch.float64)  # fewer items than dimensions
    query = torch.randn((2, 40), generator=g, dtype=torch.float64)
    scorer = RelativeRidgeScorer(0.1)
    # λ = 0.1 × trace(XᵀX) / min(n, k): the mean of the 12 non-zero eigenvalues, a tenth of it.
    eigen = torch.linalg.eigvalsh(x @ x.T)
    assert scorer.ridge(x) == pytest.approx(0.1 * float(eigen.mean()))
    scores = scorer.fit([x]).score([query])
    lam = 0.1 * float(eigen.mean())
    torch.testing.assert_close(scores, TrakScorer(lam).fit([x]).score([query]))
    # Scaling every feature (another output function, a later checkpoint) changes nothing ...
    scaled = RelativeRidgeScorer(0.1).fit([1e3 * x]).score([1e3 * query])
    torch.testing.assert_close(scaled, scores)
    # ... whereas a fixed λ smooths the scaled features a million times less.
    fixed = TrakScorer(lam).fit([1e3 * x]).score([1e3 * query])
    assert not torch.allclose(fixed, scores, rtol=1e-3)


def test_trak_sign_agrees_with_exact_leave_one_out_least_squares() -> None:
    """Loss output on ridge regression: score ≈ decrease of the query loss due to the item."""
    g = torch.Generator().manual_seed(3)
    n, d, lam = 40, 5, 1e-2
    x = torch.randn((n, d), generator=g, dtype=torch.float64)
    w_true = torch.randn(d, generator=g, dtype=torch.float64)
    y = x @ w_true + 0.5 * torch.randn(n, generator=g, dtype=torch.float64)

    def fit(mask: torch.Tensor) -> torch.Tensor:
        xs, ys = x[mask], y[mask]
        solved: torch.Tensor = torch.linalg.solve(
            xs.T @ xs + lam * torch.eye(d, dtype=x.dtype), xs.T @ ys
        )
        return solved

    w = fit(torch.ones(n, dtype=torch.bool))
    xq = torch.randn((1, d), generator=g, dtype=torch.float64)
    yq = xq @ w_true + 1.0

    def query_loss(weights: torch.Tensor) -> float:
        return float(0.5 * ((xq @ weights - yq) ** 2).sum())

    base = query_loss(w)
    # Exact: loss after dropping item i minus loss with it (its presence's loss decrease).
    exact = torch.tensor(
        [query_loss(fit(torch.arange(n) != i)) - base for i in range(n)], dtype=torch.float64
    )
    # TRAK with the loss as output: features are per-example loss gradients r_i x_i, and the
    # Gauss-Newton kernel of the squared loss is built from the output gradients x_i.
    phi_train = x
    residual = (x @ w - y).unsqueeze(1)
    residual_q = xq @ w - yq
    scores = TrakScorer(lam).fit([phi_train]).score([xq])[0] * float(residual_q) * residual[:, 0]
    assert torch.corrcoef(torch.stack([scores, exact]))[0, 1] > 0.95
    assert int(scores.argmax()) == int(exact.argmax())
    assert bool((torch.sign(scores) == torch.sign(exact)).float().mean() > 0.9)


def _attributor(config: ModelConfig, store: IndexStore | None, **overrides: object) -> Attributor:
    images, labels = _images(16, seed=2)
    checkpoints = []
    for seed in (0, 1):
        state = build_unet(config, seed=seed).state_dict()
        checkpoints.append((checkpoint_hash(state), state))
    kwargs: dict[str, object] = {
        "model_factory": lambda: build_unet(config),
        "checkpoints": checkpoints,
        "scheduler": training_scheduler(config),
        "item_ids": [f"item-{i:02d}" for i in range(16)],
        "images": images,
        "class_ids": labels,
        "output": "loss",
        "timesteps": TIMESTEPS,
        "dim": 64,
        "seed": 11,
        "regularisation": 1e-2,
        "store": store,
        "batch_size": 8,
        "chunk_rows": 4096,
    }
    kwargs.update(overrides)
    return Attributor(**kwargs)  # type: ignore[arg-type]


def test_attributor_end_to_end_store_round_trip_and_identical_rebuild(
    config: ModelConfig, tmp_path: Path
) -> None:
    store = IndexStore(tmp_path / "index")
    attributor = _attributor(config, store)
    index = attributor.build_index()
    assert len(index.features) == 2
    assert index.features[0].shape == (16, 64)
    # Queries equal to items 5, 9 and 12 (scored with their own, query-stream noise).
    queries = attributor.images[[5, 9, 12]].clone()
    query_labels = attributor.class_ids[[5, 9, 12]].tolist()
    scores = attributor.score(queries, query_labels)
    assert scores.shape == (3, 16)
    assert scores.dtype == np.float64
    top = attributor.top_k(scores, 3)
    assert len(top) == 3
    assert [len(row) for row in top] == [3, 3, 3]
    # Untrained random weights and 2 timesteps make features noisy, so the copied item is only
    # required among the top 3 (it is rank 2, 2 and 3 with these seeds).
    for row, item in zip(top, ["item-05", "item-09", "item-12"], strict=True):
        assert item in [item_id for item_id, _ in row]
        assert row[0][1] >= row[1][1] >= row[2][1]

    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["timesteps"] == list(TIMESTEPS)
    assert manifest["seed"] == 11
    assert manifest["checkpoint_hashes"] == list(index.checkpoint_hashes)
    assert manifest["content_hash"] == attributor.index_hash

    # Round trip: a fresh attributor loads the index and scores identically without rebuilding.
    loaded = _attributor(config, store)
    loaded.load_index()
    for a, b in zip(loaded.index.features, index.features, strict=True):  # type: ignore[union-attr]
        assert torch.equal(a, b)
    assert np.array_equal(loaded.score(queries, query_labels), scores)

    # Rebuild from scratch with the same seeds: bit-identical features and scores.
    rebuilt = _attributor(config, None)
    rebuilt.build_index()
    assert rebuilt.index_hash == attributor.index_hash
    assert np.array_equal(rebuilt.score(queries, query_labels), scores)

    # The D-TRAK output function gives another, equally shaped index.
    dtrak = _attributor(config, None, output="square_norm")
    dtrak.build_index()
    assert dtrak.score(queries[:1], query_labels[:1]).shape == (1, 16)

    # A tampered manifest fails the content hash; a mismatched index is refused.
    (tmp_path / "index" / "manifest.json").write_text(
        json.dumps({**manifest, "item_ids": manifest["item_ids"][::-1]})
    )
    with pytest.raises(ValueError, match="content hash"):
        store.load()
    with pytest.raises(ValueError, match="no attribution index"):
        IndexStore(tmp_path / "missing").load()


def test_methods_registry_and_query_output(config: ModelConfig) -> None:
    assert evenly_spaced(4) == (125, 375, 625, 875)
    assert get_method("d-trak").output == "square_norm"
    assert set(METHODS) >= {"trak", "d-trak"}
    changed = get_method("trak").with_settings(timesteps=2, dim=32)
    assert changed.timesteps == (250, 750)
    assert changed.dim == 32
    assert changed.parameters()["timesteps"] == [250, 750]
    with pytest.raises(ValueError, match="unknown attribution method"):
        get_method("magic")
    with pytest.raises(ValueError, match="K"):
        get_method("trak").with_settings(timesteps=0)
    with pytest.raises(ValueError, match="projection dimension"):
        get_method("trak").with_settings(dim=0)
    with pytest.raises(ValueError, match="projection dimension"):
        get_method("trak").with_settings(dim=1_000_000)
    with pytest.raises(ValueError, match="unknown projection"):
        Method("x", "loss", "loss", (1,), 8, projection="dct")
    # Timestep groups: recorded only when there is more than one (earlier keys stay), kept by
    # another K that they divide, refused by one that they do not.
    assert "timestep_groups" not in get_method("d-trak-unit-k100").parameters()
    from attribution.bench.candidates import BENCH_METHODS

    grouped_method = BENCH_METHODS["d-trak-unit-g10-k100"]
    assert grouped_method.parameters()["timestep_groups"] == 10
    assert grouped_method.with_settings(timesteps=20).timestep_groups == 10
    with pytest.raises(ValueError, match="do not divide"):
        grouped_method.with_settings(timesteps=15)
    # A mixed method (square-norm train features, loss queries) builds and records both.
    mixed = Method("mixed", "square_norm", "loss", TIMESTEPS, 32, regularisation=1e-2)
    images, labels = _images(6, seed=4)
    state = build_unet(config, seed=0).state_dict()

    def build(method: Method) -> Attributor:
        return build_attributor(
            method,
            model_factory=lambda: build_unet(config),
            checkpoints=[(checkpoint_hash(state), state)],
            scheduler=training_scheduler(config),
            item_ids=[f"i{n}" for n in range(6)],
            images=images,
            class_ids=labels,
        )

    attributor = build(mixed)
    index = attributor.build_index()
    assert index.extra == {"query_output": "loss", "projection": "sparse"}
    # A grouped method's index says so (and so hashes apart from the ungrouped one).
    grouped_index = build(replace(mixed, timestep_groups=2)).build_index()
    assert grouped_index.extra["timestep_groups"] == 2
    assert not torch.equal(grouped_index.features[0], index.features[0])
    assert attributor.score(images[:2], labels[:2]).shape == (2, 6)
    # Train features come from the square norm, query features from the loss.
    dtrak = build(Method("d", "square_norm", "square_norm", TIMESTEPS, 32))
    trak = build(Method("t", "loss", "loss", TIMESTEPS, 32))
    one, label = images[:1], torch.tensor(labels[:1])
    for stream, same, other in (("train", dtrak, trak), ("query", trak, dtrak)):
        (mine,) = attributor._features(0, one, label, stream)
        assert torch.equal(mine, same._features(0, one, label, stream)[0])
        assert not torch.allclose(mine, other._features(0, one, label, stream)[0])


def test_bad_inputs_raise_value_error(config: ModelConfig) -> None:
    model = build_unet(config)
    scheduler = training_scheduler(config)
    with pytest.raises(ValueError, match="unknown output"):
        GradientComputer(model, scheduler, "margin", TIMESTEPS, 0)
    with pytest.raises(ValueError, match="timesteps"):
        GradientComputer(model, scheduler, "loss", (1000,), 0)
    with pytest.raises(ValueError, match="timesteps"):
        GradientComputer(model, scheduler, "loss", (), 0)
    with pytest.raises(ValueError, match="seed"):
        GradientComputer(model, scheduler, "loss", TIMESTEPS, -1)
    with pytest.raises(ValueError, match="max_samples"):
        GradientComputer(model, scheduler, "loss", TIMESTEPS, 0, max_samples=0)
    computer = GradientComputer(model, scheduler, "loss", TIMESTEPS, 0)
    with pytest.raises(ValueError, match="class_ids"):
        computer.compute(torch.zeros((2, 1, 16, 16)), [1])
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        computer.compute(torch.zeros((1, 16, 16)), [1])

    with pytest.raises(ValueError, match="dim"):
        ChunkedGaussianProjector(10, 0, 0)
    projector = ChunkedGaussianProjector(10, 4, 0, chunk_rows=3)
    with pytest.raises(ValueError, match="columns"):
        projector.project(torch.zeros((2, 9)))
    with pytest.raises(ValueError, match="exactly once"):
        projector.project_chunks([(0, torch.zeros((1, 6))), (4, torch.zeros((1, 6)))], batch=1)
    with pytest.raises(ValueError, match="out of range"):
        projector.project_chunks([(5, torch.zeros((1, 6)))], batch=1)

    with pytest.raises(ValueError, match="regularisation"):
        TrakScorer(-1.0)
    with pytest.raises(ValueError, match="not fitted"):
        TrakScorer(0.1).score([torch.zeros((1, 3))])
    with pytest.raises(ValueError, match="NaN"):
        TrakScorer(0.1).fit([torch.full((2, 3), float("nan"))])
    with pytest.raises(ValueError, match="same shape"):
        TrakScorer(0.1).fit([torch.zeros((2, 3)), torch.zeros((3, 3))])
    with pytest.raises(ValueError, match="columns"):
        TrakScorer(0.1).fit([torch.zeros((2, 3))]).score([torch.zeros((1, 4))])

    with pytest.raises(ValueError, match="unique"):
        _attributor(config, None, item_ids=["a"] * 16)
    with pytest.raises(ValueError, match="images for"):
        _attributor(config, None, item_ids=["a", "b"])
    with pytest.raises(ValueError, match="unknown output"):
        _attributor(config, None, output="margin")
    with pytest.raises(ValueError, match="timesteps"):
        _attributor(config, None, timesteps=(-1,))
    state = build_unet(config).state_dict()
    wrong = _attributor(config, None, checkpoints=[("0" * 64, state)])
    with pytest.raises(ValueError, match="does not match"):
        wrong.build_index()
    with pytest.raises(ValueError, match="does not fit"):
        _attributor(config, None, checkpoints=[("0" * 64, {"bogus": torch.zeros(1)})])
    with pytest.raises(ValueError, match="build_index"):
        wrong.score(torch.zeros((1, 1, 16, 16)), [0])
    with pytest.raises(ValueError, match="no store"):
        wrong.load_index()
    with pytest.raises(ValueError, match="k must"):
        wrong.top_k(np.zeros((1, 16)), 0)
    with pytest.raises(ValueError, match="finite"):
        wrong.top_k(np.full((1, 16), np.nan), 3)
    # Ties go by item id (the ledger's rule), not by training order: ids stored in reverse.
    backwards = _attributor(config, None, item_ids=[f"item-{i:02d}" for i in reversed(range(16))])
    tied = np.zeros((1, 16))
    tied[0, 0] = 1.0  # item-15, first in training order, scores highest
    assert backwards.top_k(tied, 3) == [[("item-15", 1.0), ("item-00", 0.0), ("item-01", 0.0)]]
