"""Linear datamodeling score (LDS) harness: how well attribution scores predict retraining.

Protocol (TRAK, Park et al. 2023; D-TRAK, Zheng et al. 2024), with this repo's sign convention
(a score is the predicted DECREASE of the target's loss when the item is trained on):

1. Train the full model on the training set; its raw-weight checkpoints feed every method.
2. Targets: held-back real items (never trained on) and images the full model generates.
3. Draw M random subsets of half the training set (α = 0.5), retrain the same recipe on each
   (seed derived from the subset index) and measure each target's denoising loss, averaged
   over T evenly spaced timesteps with fixed per-target noise: the ground truth.
4. Per target, LDS = Spearman correlation over the M subsets between Σ_{i∈S_m} score_i and the
   NEGATIVE measured loss; the method's LDS is the mean over targets, with a 95% bootstrap
   interval over targets, and paired bootstraps (same resampled targets) for differences.
5. Counterfactual: for a few generated targets remove the default method's top-k items and
   retrain, versus removing k random items; the target's loss should rise more.

Nothing here prints; `api.cli.bench` renders the figures.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attribution._seeding import derived_seed
from attribution.bench.data import BenchData, load_dataset, split_held_back
from attribution.bench.ground_truth import (
    _counterfactual,
    _losses,
    _losses_of,
    ground_truth_reliability,
)
from attribution.bench.plan import BenchModel, BenchPlan, MethodEntry, StateDict, digest_array
from attribution.bench.seed_lds import LdsTruth, compare_lds, lds_of
from attribution.bench.stats import (
    peak_rss_meter,
    subset_masks,
)
from attribution.bench.train import (
    EvalSet,
    JobResult,
    TrainJob,
    load_checkpoints,
    run_jobs,
)
from attribution.methods import evenly_spaced
from generation.model import build_unet, checkpoint_hash, sampling_scheduler
from generation.presets import ModelConfig
from generation.sampling import MuseumPipeline


@dataclass(frozen=True)
class LdsTargets:
    """The LDS targets in row order (held-back real items, then generated images), their class
    ids, and the ground truth over them (what the stability block scores per projection seed)."""

    images: torch.Tensor
    labels: torch.Tensor
    truth: LdsTruth

    def rows(self, name: str) -> np.ndarray:
        """The row indices of target set `name` ("held-back", "generated")."""
        return np.asarray(self.truth.sets[name])

    @property
    def generated(self) -> torch.Tensor:
        """The full model's generated images (the targets whose credit the museum pays)."""
        return self.images[torch.as_tensor(self.rows("generated"), dtype=torch.long)]

    @property
    def generated_labels(self) -> torch.Tensor:
        """The class ids the generated images were made for."""
        return self.labels[torch.as_tensor(self.rows("generated"), dtype=torch.long)]


def _generate(
    model_config: ModelConfig, state: StateDict, class_ids: Sequence[int], seed: int, steps: int
) -> torch.Tensor:
    """Images of the full model, one per class id, from a seeded generator (DDIM)."""
    unet = build_unet(model_config)
    unet.load_state_dict(state)
    unet.eval()
    pipe = MuseumPipeline(
        unets=unet,
        scheduler=sampling_scheduler(model_config),
        null_class_id=model_config.null_class_id,
    )
    with torch.no_grad():
        out = pipe(list(class_ids), seed=seed, num_inference_steps=steps, device="cpu")
    return out.samples.float().clamp(-1.0, 1.0).contiguous()


def _time_method(
    entry: MethodEntry,
    model: BenchModel,
    targets: torch.Tensor,
    labels: torch.Tensor,
    plan: BenchPlan,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Index build time, median single-query time, peak RSS, and the scores of all targets."""
    with peak_rss_meter() as meter:
        # 1. Build the index (features of every training item at every checkpoint).
        started = time.perf_counter()
        score = entry.build(model)
        build_s = time.perf_counter() - started
        # 2. One query at a time, as the museum attributes a generation.
        singles: list[float] = []
        timed = (
            entry.single_queries if entry.single_queries is not None else plan.query_timing_queries
        )
        for j in range(min(timed, targets.shape[0])):
            started = time.perf_counter()
            score(targets[j : j + 1], labels[j : j + 1])
            singles.append(time.perf_counter() - started)
        # 3. All targets at once for the LDS.
        started = time.perf_counter()
        scores = np.asarray(score(targets, labels), dtype=np.float64)
        batch_s = time.perf_counter() - started
    if scores.shape != (targets.shape[0], len(model.train.item_ids)):
        raise ValueError(f"method {entry.name} returned scores of shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"method {entry.name} returned non-finite scores")
    timing = {
        "index_build_s": build_s,
        "per_query_s": statistics.median(singles) if singles else math.nan,
        "all_targets_s": batch_s,
        "peak_rss_mib": meter.mib,
    }
    return scores, timing


# --- one data set ---------------------------------------------------------------------------


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)


def run_dataset(
    name: str,
    plan: BenchPlan,
    methods: Sequence[MethodEntry],
    *,
    cache_root: Path,
    counterfactual_method: str | None,
    comparisons: Sequence[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
    data: BenchData | None = None,
    ground_truth_only: bool = False,
) -> tuple[dict[str, Any], BenchModel, LdsTargets]:
    """The whole LDS protocol on one data set; returns (figures, the full model's
    BenchModel, the targets with their ground truth). `data` overrides the named data set (tests);
    `ground_truth_only` stops once the subset models are trained and measured (to fill the
    cache ahead of scoring)."""
    if not methods and not ground_truth_only:
        raise ValueError("name at least one method")
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ValueError("method names must be unique")
    for a, b in comparisons:
        if a not in names or b not in names:
            raise ValueError(f"comparison {a} vs {b} names a method not in the run")
    if counterfactual_method is not None and counterfactual_method not in names:
        raise ValueError(f"counterfactual method {counterfactual_method!r} is not in the run")
    seeds = plan.ground_truth_seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"ground_truth_seeds must be a positive integer, got {seeds!r}")
    began = time.perf_counter()
    full_data = (
        data
        if data is not None
        else load_dataset(
            name, resolution=plan.resolution, seed=plan.seed, demo_artists=plan.demo_artists
        )
    )
    # 1. Split: held-back real targets, and the training set (optionally reduced).
    train_idx, held_idx = split_held_back(
        len(full_data.item_ids),
        fraction=plan.held_back_fraction,
        minimum=plan.held_back_minimum,
        seed=plan.seed,
    )
    if plan.train_limit is not None and plan.train_limit < train_idx.size:
        keep = np.random.default_rng([plan.seed, 404]).choice(
            train_idx.size, size=plan.train_limit, replace=False
        )
        train_idx = np.sort(train_idx[keep])
    train_set = full_data.subset(train_idx)
    held = full_data.subset(held_idx)
    n = len(train_set.item_ids)
    recipe = plan.recipe(full_data.channels)
    split_digest = digest_array(np.concatenate([train_idx, held_idx]))
    folder = cache_root / f"{name}-{recipe.digest()}-{split_digest}"
    trainings = {"trained": 0, "loaded": 0, "train_seconds": 0.0}

    def count(results: dict[str, JobResult]) -> None:
        for result in results.values():
            trainings["trained" if result.trained else "loaded"] += 1
            if result.trained:
                trainings["train_seconds"] += result.seconds

    def job_progress(what: str) -> Callable[[JobResult, int, int], None]:
        def report(result: JobResult, done: int, total: int) -> None:
            verb = "trained" if result.trained else "loaded"
            _say(
                progress,
                f"{name}: {what} {done}/{total} ({result.key} {verb}, {result.seconds:.0f} s)",
            )

        return report

    # 2. The full model, with its checkpoints (raw weights) for the attribution index.
    _say(progress, f"{name}: full model on {n} items")
    full_job = TrainJob("full", tuple(range(n)), plan.seed, keep_checkpoints=True)
    count(
        run_jobs(
            [full_job],
            images=train_set.images,
            class_ids=train_set.class_ids,
            recipe=recipe,
            folder=folder,
            evals=None,
            workers=plan.workers,
        )
    )
    saved = load_checkpoints(folder / "full.safetensors")
    checkpoints = tuple((checkpoint_hash(state), state) for _, state in saved)
    final_state = saved[-1][1]

    # 3. Generated targets: the full model's images for random training classes.
    rng = np.random.default_rng([plan.seed, 505])
    gen_classes = train_set.class_ids.numpy()[rng.integers(0, n, size=plan.generated_targets)]
    generated = _generate(
        recipe.model_config,
        final_state,
        [int(c) for c in gen_classes],
        derived_seed(plan.seed, "lds-generate", 0) % (2**62),
        plan.sampling_steps,
    )
    gen_labels = torch.as_tensor(gen_classes, dtype=torch.long)
    target_images = torch.cat([held.images, generated])
    target_labels = torch.cat([held.class_ids, gen_labels])
    n_held = held.images.shape[0]
    sets = {
        "held-back": np.arange(n_held),
        "generated": np.arange(n_held, n_held + generated.shape[0]),
    }
    evals = EvalSet.build(
        target_images,
        target_labels,
        evenly_spaced(plan.eval_timesteps, recipe.model_config.num_train_timesteps),
        plan.seed,
    )

    # 4. Ground truth: retrain on M random halves (S seeds each, losses averaged) and
    #    measure every target's loss.
    masks = subset_masks(n, plan.num_subsets, plan.subset_fraction, plan.seed)
    subset_jobs = [
        TrainJob(f"subset-{m}", tuple(np.flatnonzero(masks[m]).tolist()), recipe.subset_seed(m))
        for m in range(plan.num_subsets)
    ]
    # Seeds 1..S-1 of every subset; with S = 1, the first R subsets once more with another
    # seed, only to measure how much of the ground truth is data.
    replicas = plan.num_subsets if seeds > 1 else min(plan.reliability_subsets, plan.num_subsets)
    replica_jobs = [
        [
            TrainJob(f"subset-{m}-replicate-{s}", subset_jobs[m].indices, recipe.subset_seed(m, s))
            for m in range(replicas)
        ]
        for s in range(1, max(seeds, 2))
    ]
    _say(
        progress,
        f"{name}: {plan.num_subsets} subset models × {seeds} seeds"
        + (f" (+{replicas} reseeded)" if seeds == 1 else ""),
    )
    subset_results = run_jobs(
        [full_job, *subset_jobs, *[job for jobs in replica_jobs for job in jobs]],
        images=train_set.images,
        class_ids=train_set.class_ids,
        recipe=recipe,
        folder=folder,
        evals=evals,
        workers=plan.workers,
        on_done=job_progress("subset models"),
    )
    full_losses = subset_results.pop("full").losses
    count(subset_results)
    per_seed = [
        np.stack([_losses(subset_results[j.key]) for j in jobs])
        for jobs in [subset_jobs, *replica_jobs]
        if jobs
    ]  # each (M or R, targets)
    reliability = ground_truth_reliability(
        per_seed[0][:replicas],
        per_seed[1] if len(per_seed) > 1 else np.zeros((0, per_seed[0].shape[1])),
        sets,
        plan,
    )
    # The ground truth: each subset's losses averaged over its S trainings, (M, targets).
    losses = np.mean(per_seed[:seeds], axis=0)
    model = BenchModel(
        recipe.model_config, checkpoints, train_set, plan.seed, plan.attribution_batch
    )
    lds_targets = LdsTargets(
        target_images,
        target_labels,
        LdsTruth(masks, losses, sets, bootstrap=plan.bootstrap, seed=plan.seed),
    )
    if ground_truth_only:
        return {"name": name, "cache": str(folder), **trainings}, model, lds_targets

    # 5. Every method on the same full model and targets (the pool is idle: fair timings).
    truth = lds_targets.truth
    rows: list[dict[str, Any]] = []
    all_scores: dict[str, np.ndarray] = {}
    for entry in methods:
        _say(progress, f"{name}: scoring with {entry.name}")
        scores, timing = _time_method(entry, model, target_images, target_labels, plan)
        all_scores[entry.name] = scores
        lds = lds_of(scores, truth)
        rows.append({"name": entry.name, "parameters": entry.parameters, **timing, "lds": lds})

    # 6. Paired bootstraps: the same resampled targets for both methods of a pair.
    by_name = {row["name"]: row["lds"] for row in rows}
    compared = [
        {"a": a, "b": b, "targets": set_name, **result}
        for a, b in comparisons
        for set_name, result in compare_lds(by_name[a], by_name[b], truth).items()
    ]

    # 7. Counterfactual: remove the top-k items of a generation, or k random ones, retrain.
    counterfactual: dict[str, Any] | None = None
    if counterfactual_method is not None and plan.counterfactual_targets > 0:
        counterfactual = _counterfactual(
            name,
            plan,
            all_scores[counterfactual_method][sets["generated"]],
            sets["generated"],
            train_set,
            recipe,
            folder,
            evals,
            _losses_of(full_losses),
            count,
            job_progress("counterfactual models"),
        )
        counterfactual["method"] = counterfactual_method

    figures: dict[str, Any] = {
        "name": name,
        "items": len(full_data.item_ids),
        "train_items": n,
        "targets": {k: int(v.size) for k, v in sets.items()},
        "generated_class_ids": [int(c) for c in gen_labels.tolist()],
        "subsets": plan.num_subsets,
        "subset_size": int(masks[0].sum()),
        "eval_timesteps": len(evals.timesteps),
        "recipe": recipe.to_dict(),
        "recipe_hash": recipe.digest(),
        "cache": str(folder),
        "models_trained": trainings["trained"],
        "models_loaded": trainings["loaded"],
        "train_seconds": trainings["train_seconds"],
        "full_model_target_loss": {
            k: float(_losses_of(full_losses)[v].mean()) for k, v in sets.items()
        },
        "subset_model_target_loss": {k: float(losses[:, v].mean()) for k, v in sets.items()},
        "ground_truth_seeds": seeds,
        "subset_model_target_loss_per_seed": [
            {k: float(seed_losses[:, v].mean()) for k, v in sets.items()}
            for seed_losses in per_seed[:seeds]
        ],
        "ground_truth_reliability": reliability,
        "methods": rows,
        "comparisons": compared,
        "counterfactual": counterfactual,
        "seconds": time.perf_counter() - began,
    }
    return figures, model, lds_targets
