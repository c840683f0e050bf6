"""Credit stability: how much of a generation's credit depends on a seed nobody chose.

Two seeds move a TRAK score: the projection's (which random p → k map) and the noise's (which
noised copies of each item the K timesteps see). For each method of the line-up, on the data
set's full model and generated targets, the training and query gradients are computed ONCE
(with the bench's noise seed) and projected with R independent projection seeds, exactly as
`Attributor` does (`GradientComputer` → projector → the method's scorer; the equality is
tested), so the R scorings differ by the projection alone. The same gradients then answer what
a larger k, an ensemble of projections, or no projection at all (the exact kernel through the
n × n dual, feasible here because n is small) would agree on, and a second gradient pass with
another noise seed measures the noise's share for the default method. Given the LDS ground
truth of the same targets (`seed_lds.LdsTruth`), every scoring also gets an LDS, so a method's
LDS is reported over its projection seeds, not at one of them (`attribution.bench.seed_lds`).

Costs are reported from shapes, not guessed: the index's and the kernel's bytes at this n and at
10,000 items, and the measured time of one query's projection and kernel beside its gradients.
Pure measurement: prints nothing, asserts no timing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from attribution.bench.agreement import seed_agreement
from attribution.bench.plan import BenchModel
from attribution.bench.seed_lds import LdsTruth, compare_lds, lds_of, lds_over_seeds
from attribution.gradients import GradientComputer
from attribution.methods import SCORERS, Method
from attribution.projector import make_projector
from attribution.scoring import DUAL_DTYPE

__all__ = ["StabilityPlan", "Variant", "measure_stability", "variants_for"]

ITEMS_AT_SCALE = 10_000

Gradients = list[tuple[torch.Tensor, torch.Tensor]]  # per checkpoint: (train n×p, query m×p)


@dataclass(frozen=True)
class StabilityPlan:
    """Sizes of the stability block: R projection seeds per variant, the credited top-k, the
    default's extra projection sizes and ensembles, and whether to measure the noise seed.
    With an LDS ground truth, the line-up's own methods are scored at `lds_seeds` projection
    seeds (the first `seeds` of them also give the agreement), the other variants at `seeds`."""

    seeds: int = 3
    lds_seeds: int = 5
    top: int = 10
    dims: tuple[int, ...] = (2048, 8192, 16384, 32768)
    ensembles: tuple[tuple[int, int], ...] = ((4, 2048),)  # (R, k) pairs
    exact: bool = True
    noise_seeds: bool = True


@dataclass(frozen=True)
class Variant:
    """One row: a method at some k and R (R projections averaged per scoring; 0: exact)."""

    label: str
    method: Method
    exact: bool = False


def variants_for(method: Method, default: str, plan: StabilityPlan) -> list[Variant]:
    """The method as registered; for the default also other k, ensembles and exact."""
    rows = [Variant(method.name, method)]
    if method.name != default:
        return rows
    for dim in plan.dims:
        if dim != method.dim:
            rows.append(Variant(f"{method.name} k={dim}", replace(method, dim=dim, projections=1)))
    for r, dim in plan.ensembles:
        if (r, dim) != (method.projections, method.dim):
            label = f"{method.name} R={r}×k={dim}"
            rows.append(Variant(label, replace(method, dim=dim, projections=r)))
    if plan.exact:
        rows.append(Variant(f"{method.name} exact", method, exact=True))
    return rows


def _gradient_signature(method: Method) -> tuple[Any, ...]:
    """What a method's unprojected gradients depend on (not k, R, the scorer or λ)."""
    return (
        method.output,
        method.query_output,
        method.timesteps,
        method.timestep_groups,
        method.checkpoints,
    )


def _checkpoints(model: BenchModel, method: Method) -> list[tuple[str, Any]]:
    saved = list(model.checkpoints)
    return saved[-method.checkpoints :] if method.checkpoints else saved


def gradients(
    model: BenchModel, method: Method, targets: torch.Tensor, labels: torch.Tensor, seed: int
) -> tuple[Gradients, float]:
    """Unprojected train and query gradients at each checkpoint the method uses (noise seed
    `seed`), and the seconds one query's gradients took (its first target, alone)."""
    out: Gradients = []
    one_query = 0.0
    train = model.train
    for _, state in _checkpoints(model, method):
        computers = {}
        for output in dict.fromkeys((method.output, method.query_output)):
            net = model.factory()
            net.load_state_dict(dict(state))
            computers[output] = GradientComputer(
                net,
                model.scheduler,
                output,
                method.timesteps,
                seed,
                model.batch_size,
                timestep_groups=method.timestep_groups,
            )
        g = computers[method.output].compute(train.images, train.class_ids, None, "train")
        query = computers[method.query_output]
        started = time.perf_counter()
        query.compute(targets[:1], labels[:1], [0], "query")
        one_query += time.perf_counter() - started
        out.append((g, query.compute(targets, labels, None, "query")))
    return out, one_query


def _project(grads: Gradients, method: Method, seeds: Sequence[int]) -> list[list[torch.Tensor]]:
    """[train features per (checkpoint, seed)], [query features likewise], checkpoint-major."""
    train: list[torch.Tensor] = []
    query: list[torch.Tensor] = []
    for g, q in grads:
        for s in seeds:
            projector = make_projector(method.projection, g.shape[1], method.dim, s)
            train.append(projector.project(g))
            query.append(projector.project(q))
    return [train, query]


def score_projected(grads: Gradients, method: Method, seeds: Sequence[int]) -> np.ndarray:
    """(m, n) scores of one scoring with projections `seeds` (averaged), as `Attributor`."""
    train, query = _project(grads, method, seeds)
    scorer = SCORERS[method.scorer](method.regularisation).fit(train)
    return scorer.score(query).numpy()


def score_exact(grads: Gradients, method: Method) -> np.ndarray:
    """(m, n) scores with no projection: the method's scorer on the p-dimensional gradients
    (its n × n dual form, since n < p)."""
    scorer = SCORERS[method.scorer](method.regularisation).fit([g for g, _ in grads])
    return scorer.score([q for _, q in grads]).numpy()


def _member_seeds(method: Method, base: int, count: int) -> list[tuple[int, ...]]:
    """`count` independent seed tuples, each of the method's R projections."""
    return [method.projection_seeds(base + 1000 * (i + 1)) for i in range(count)]


def _query_cost(grads: Gradients, method: Method, seeds: Sequence[int]) -> float:
    """Median seconds to project one query's gradients and apply the kernel (3 runs)."""
    train, _ = _project(grads, method, seeds)
    scorer = SCORERS[method.scorer](method.regularisation).fit(train)
    one = [(g, q[:1]) for g, q in grads]
    times = []
    for _ in range(3):
        started = time.perf_counter()
        _, query = _project(one, method, seeds)
        scorer.score(query)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _bytes(method: Method, checkpoints: int, n: int, p: int, exact: bool) -> dict[str, float]:
    """Index (float32 features) and kernel (k × n weights: float64, or `DUAL_DTYPE` where the
    scorer solves the dual form) MiB, here and at 10,000 items."""
    dim = p if exact else method.dim
    dims = dim * (1 if exact else method.projections)
    mib = 1024.0 * 1024.0
    scorer = SCORERS[method.scorer](method.regularisation)

    def weight_bytes(items: int) -> int:
        dual = scorer.dual(items, dim, method.regularisation)
        return DUAL_DTYPE.itemsize if dual else 8

    return {
        "index_mib": checkpoints * n * dims * 4 / mib,
        "kernel_mib": checkpoints * n * dims * weight_bytes(n) / mib,
        "index_mib_at_10k": checkpoints * ITEMS_AT_SCALE * dims * 4 / mib,
        "kernel_mib_at_10k": checkpoints
        * ITEMS_AT_SCALE
        * dims
        * weight_bytes(ITEMS_AT_SCALE)
        / mib,
    }


def measure_stability(
    model: BenchModel,
    methods: Sequence[Method],
    default: str,
    targets: torch.Tensor,
    labels: torch.Tensor,
    plan: StabilityPlan,
    progress: Callable[[str], None] | None = None,
    *,
    credited: Sequence[int] | None = None,
    truth: LdsTruth | None = None,
    lds_pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Per variant: agreement over R projection seeds (mean, smallest, per target) and costs;
    for the default, agreement over two noise seeds (exact kernel, so noise alone).

    `credited` are the rows of `targets` whose credit is compared (the generations; default:
    every row). With `truth` (the LDS ground truth of every row of `targets`) each scoring
    also gets an LDS: per seed and seed-averaged, and for each pair of `lds_pairs` (row
    names) the paired comparison of their seed-averaged LDS."""
    if plan.seeds < 2:
        raise ValueError("agreement needs at least two projection seeds")
    if truth is not None and truth.targets != targets.shape[0]:
        raise ValueError("the LDS ground truth must cover every target row")
    rows_credited = torch.as_tensor(
        list(range(targets.shape[0])) if credited is None else list(credited), dtype=torch.long
    )
    if rows_credited.numel() == 0:
        raise ValueError("credit agreement needs at least one credited target")
    picked = rows_credited.numpy()
    train = model.train
    items = train.items_by_id()

    def agreement(runs: Sequence[np.ndarray]) -> dict[str, Any]:
        return seed_agreement([run[picked] for run in runs], train.item_ids, items, plan.top)

    rows: list[dict[str, Any]] = []
    noise: dict[str, Any] | None = None
    # Methods that differ only in k, R or the kernel's λ share one gradient pass.
    computed: dict[tuple[Any, ...], tuple[Gradients, float, float]] = {}
    for method in methods:
        signature = _gradient_signature(method)
        if signature not in computed:
            if progress is not None:
                progress(f"stability: gradients for {method.name}")
            started = time.perf_counter()
            grads, gradient_s = gradients(model, method, targets, labels, model.seed)
            computed[signature] = (grads, gradient_s, time.perf_counter() - started)
        grads, gradient_s, gradients_s = computed[signature]
        p = grads[0][0].shape[1]
        exact_scores: np.ndarray | None = None  # the exact variant's, reused by the noise seed
        for variant in variants_for(method, default, plan):
            v = variant.method
            row: dict[str, Any] = {
                "name": variant.label,
                "method": method.name,
                "dim": None if variant.exact else v.dim,
                "projections": 0 if variant.exact else v.projections,
                "checkpoints": len(grads),
                "gradients_s": gradients_s,
                "query_gradients_s": gradient_s,
                **_bytes(v, len(grads), train.images.shape[0], p, variant.exact),
            }
            if variant.exact:
                exact = exact_scores = score_exact(grads, v)
                row["agreement"] = None  # no projection seed to disagree
                row["agreement_with_projected"] = agreement(
                    [exact, score_projected(grads, v, v.projection_seeds(model.seed))]
                )
                row["query_projection_kernel_s"] = None
                if truth is not None:
                    row["lds"] = lds_of(exact, truth)
            else:
                count = plan.seeds
                if truth is not None and variant.label == method.name:
                    count = max(plan.seeds, plan.lds_seeds)
                seed_sets = _member_seeds(v, model.seed, count)
                runs = [score_projected(grads, v, seeds) for seeds in seed_sets]
                row["projection_seeds"] = [list(s) for s in seed_sets[: plan.seeds]]
                row["agreement"] = agreement(runs[: plan.seeds])
                row["query_projection_kernel_s"] = _query_cost(grads, v, seed_sets[0])
                if truth is not None:
                    row["lds_projection_seeds"] = [list(s) for s in seed_sets]
                    row["lds_over_seeds"] = lds_over_seeds(runs, truth)
            rows.append(row)
        if method.name == default and plan.noise_seeds:
            if progress is not None:
                progress(f"stability: another noise seed for {method.name}")
            other, _ = gradients(
                model, method, targets[rows_credited], labels[rows_credited], model.seed + 1
            )
            if exact_scores is None:
                exact_scores = score_exact(grads, method)
            noise = {
                "method": method.name,
                "noise_seeds": [model.seed, model.seed + 1],
                "exact": seed_agreement(
                    [exact_scores[picked], score_exact(other, method)],
                    train.item_ids,
                    items,
                    plan.top,
                ),
            }
    computed.clear()
    return {
        "top": plan.top,
        "seeds": plan.seeds,
        "targets": int(rows_credited.numel()),
        "items": len(train.item_ids),
        "rows": rows,
        "noise_seed": noise,
        "lds_comparisons": _lds_comparisons(rows, lds_pairs, truth),
    }


def _lds_comparisons(
    rows: Sequence[dict[str, Any]], pairs: Sequence[tuple[str, str]], truth: LdsTruth | None
) -> list[dict[str, Any]]:
    """Seed-averaged LDS of a − b, per pair of row names and target set."""
    if truth is None:
        return []
    by_name = {row["name"]: row.get("lds_over_seeds") or row.get("lds") for row in rows}
    out: list[dict[str, Any]] = []
    for a, b in pairs:
        first, second = by_name.get(a), by_name.get(b)
        if first is None or second is None:
            raise ValueError(f"LDS comparison {a} vs {b} names a row without an LDS")
        for name, result in compare_lds(first, second, truth).items():
            out.append({"a": a, "b": b, "targets": name, **result})
    return out
