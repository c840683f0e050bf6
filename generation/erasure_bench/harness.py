"""`museum bench erasure`: what the right to delete costs, and whether it reaches the model.

1. The museum (`museum`): a real embedded ledger (SQLite, in a temporary directory) of donors
   whose stages are scikit-learn's bundled digits (16x16 grey, single-stage finals, the classes
   dealt in turn), as many donors in every shard of `balanced_over` (the least common multiple
   of the shard counts, so of every S); scans held back are never donated.
2. For each S the seeded ledger is copied (same donors, same ids), the base version is trained
   through `generation.service.train_run` with S shards of `total_steps / S` steps each (the
   same total budget for every S), and deployed.
3. A batch of donors that share one shard (of every S) ask for erasure
   (`ledger.erasures.Erasures.request`), one request each, inside one batching window; the
   clock runs from the first request to the new version deployed by the real path
   (`generation.retraining.retrain(now=True)`): one run, retraining only the affected shard.
4. The deployed model before and after: the held-back denoising loss of the ensemble, and the
   loss-threshold membership attack (erased items against never-seen ones; AUC with a bootstrap
   interval), each item's loss the mean over fixed (timestep, noise) draws
   (`scoring`).

Nothing here prints or asserts a timing: the figures are returned, each beside its target.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from generation.benchkit import torch_facts, torch_threads
from generation.erasure_bench.figures import (
    TARGETS,
    ErasureBenchRead,
    ShardCountRead,
)
from generation.erasure_bench.museum import Museum, seed_museum
from generation.erasure_bench.report import Measured, shard_count_read, verdicts
from generation.erasure_bench.scoring import spread_timesteps
from generation.model import build_unet
from generation.presets import preset
from generation.retraining import retrain
from generation.sampling import UNetEnsemble
from generation.seeds import check_seed
from generation.service import load_version, train_run
from ledger.application import MuseumLedger
from ledger.benchkit import host_facts, load_average
from ledger.domain.model import TrainingRun
from ledger.erasures import Erasures
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger

__all__ = ["FULL", "QUICK", "ErasurePlan", "run_erasure_bench"]

PRESET = "tiny"
REASON = "erasure bench: the donor withdraws"
MAX_STEPS = 1_000_000


@dataclasses.dataclass(frozen=True)
class ErasurePlan:
    """The sizes of one run: the full bench, or a few seconds' worth for tests."""

    digit_classes: tuple[int, ...]
    donors_per_shard: int  # of `balanced_over` shards
    stages_per_donor: int
    held_back: int
    erased_donors: int  # all in one shard; at most `donors_per_shard`
    total_steps: int
    eval_timesteps: int
    bootstrap: int


# Sized on the 2-core reference CPU (README, "museum bench erasure"): at 2,400 steps the single
# model's held-back loss is at its lowest for these 256 items (300 passes over each) and it has
# memorised them measurably; three donors of one shard give 24 erased items for the attack.
FULL = ErasurePlan(
    digit_classes=(0, 1, 2, 3),
    donors_per_shard=4,
    stages_per_donor=8,
    held_back=200,
    erased_donors=3,
    total_steps=2400,
    eval_timesteps=10,
    bootstrap=1000,
)
QUICK = ErasurePlan(
    digit_classes=(0, 1),
    donors_per_shard=2,
    stages_per_donor=2,
    held_back=8,
    erased_donors=1,
    total_steps=8,
    eval_timesteps=2,
    bootstrap=50,
)


def _check_plan(plan: ErasurePlan, counts: Sequence[int]) -> None:
    for name in (
        "donors_per_shard",
        "stages_per_donor",
        "held_back",
        "erased_donors",
        "total_steps",
    ):
        value = getattr(plan, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name.replace('_', ' ')} must be a positive integer, got {value!r}")
    if plan.erased_donors > plan.donors_per_shard:
        raise ValueError(
            f"{plan.erased_donors} erased donors do not fit in one shard of "
            f"{plan.donors_per_shard} donors"
        )
    if not max(counts) <= plan.total_steps <= MAX_STEPS:
        raise ValueError(
            f"the total budget must be between the largest shard count and {MAX_STEPS:,} "
            f"steps, got {plan.total_steps}"
        )


# --- 2.-4. one shard count ------------------------------------------------------------------


def _deployed_losses(
    ledger: MuseumLedger, run: TrainingRun, museum: Museum
) -> tuple[np.ndarray, np.ndarray]:
    """(never-seen, erased) per-item losses under the shard ensemble of a model version."""
    config, unets = load_version(ledger, run)
    ensemble = UNetEnsemble.from_unets(unets)
    return museum.held_probe.losses(ensemble, config), museum.erased_probe.losses(ensemble, config)


def _measure(
    museum: Museum,
    shards: int,
    home: Path,
    plan: ErasurePlan,
    seed: int,
    say: Callable[[str], None],
) -> Measured:
    shutil.copytree(museum.settings.home, home)
    settings = museum.settings.model_copy(update={"home": home})
    steps = max(1, round(plan.total_steps / shards))
    with opened_ledger(settings) as ledger:
        # 2. The base version: S shards, the same total budget.
        say(f"S = {shards}: training the base version, {shards} × {steps} steps")
        began, began_cpu = time.perf_counter(), time.process_time()
        base = train_run(
            ledger,
            job_id=f"bench-erasure-base-s{shards}",
            preset_name=PRESET,
            seed=seed,
            shards=shards,
            steps=steps,
        )
        base_seconds = time.perf_counter() - began
        base_cpu = time.process_time() - began_cpu
        held_before, erased_before = _deployed_losses(ledger, base, museum)

        # 3. The erasure: every request of the batch, then one retrain through the real path.
        say(f"S = {shards}: {len(museum.erased)} donors erased, retraining what held them")
        erasures = Erasures(ledger)
        asked, asked_cpu = time.perf_counter(), time.process_time()
        for artist_id in museum.erased:
            erasures.request(artist_id, REASON)
        requested = time.perf_counter()
        outcome = retrain(ledger, job_id=f"bench-erasure-retrain-s{shards}", now=True)
        deployed_at, deployed_cpu = time.perf_counter(), time.process_time()
        if outcome.run is None or outcome.run.state != "completed":
            raise RuntimeError(
                f"the erasure retrain of S = {shards} deployed nothing: {outcome.reason}"
            )
        new = outcome.run
        deployed = ModelRecords(ledger).model_version()
        if deployed.id != new.id or new.retraining is None:
            raise RuntimeError(f"S = {shards}: the retraining run is not the deployed version")

        # 4. The deployed model after the retrain.
        held_after, erased_after = _deployed_losses(ledger, deployed, museum)
        erased_ids = {str(artist_id) for artist_id in museum.erased}
        fingerprints = {i["fingerprint"] for i in base.items if i["artist_id"] in erased_ids}
        served = ledger.retraining_schedule().served
        per_shard = [0] * shards
        for item in base.items:
            per_shard[int(item["shard"])] += 1
        return Measured(
            shards=shards,
            steps_per_shard=steps,
            items_per_shard=per_shard,
            base_version=str(base.id),
            base_seconds=base_seconds,
            base_cpu_seconds=base_cpu,
            request_seconds=requested - asked,
            erasure_seconds=deployed_at - asked,
            erasure_cpu_seconds=deployed_cpu - asked_cpu,
            new_version=str(new.id),
            retraining_runs=len({served.get(n) for n in outcome.requests} - {None}),
            requests_served=len(outcome.requests),
            shards_retrained=list(new.retraining["retrained"]),
            shards_reused=list(new.retraining["reused"]),
            shards_dropped=sorted(new.dropped_shards),
            erasures_certified=sum(erasures.status(a).completed for a in museum.erased),
            holds_erased_fingerprints=bool(fingerprints & deployed.fingerprints()),
            held_before=held_before,
            held_after=held_after,
            erased_before=erased_before,
            erased_after=erased_after,
        )


# --- the bench ------------------------------------------------------------------------------


def _machine(load_at_start: list[float] | None) -> dict[str, object]:
    facts = {
        **host_facts("cpu_count", "usable_cpus", "cpu"),
        **torch_facts("torch", "torch_threads", "diffusers", "cuda", "cuda_device"),
        **host_facts("platform", "python"),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
    }
    # torch's version is a `str` subclass that msgspec will not encode: plain strings only.
    return {key: str(value) if isinstance(value, str) else value for key, value in facts.items()}


def run_erasure_bench(
    *,
    quick: bool = False,
    shard_counts: Sequence[int] = (1, 4, 8),
    total_steps: int | None = None,
    donors_per_shard: int | None = None,
    stages_per_donor: int | None = None,
    erased_donors: int | None = None,
    held_back: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ErasureBenchRead:
    """Train a base version per shard count on one museum, erase a batch of donors of one
    shard, time the retrain to the deployed version, and score the model before and after.

    S = 1 (the full retrain every cost is compared with) is always measured. Each size left
    None is the plan's (`FULL`, or `QUICK` with `quick`). `threads` sets torch's CPU threads
    for the run (restored after). `progress` hears one line as each part starts.
    """
    for shards in shard_counts:
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shard counts must be positive integers, got {shards!r}")
    check_seed(seed)
    counts = sorted({1, *shard_counts})
    plan = QUICK if quick else FULL
    plan = dataclasses.replace(
        plan,
        total_steps=plan.total_steps if total_steps is None else total_steps,
        donors_per_shard=plan.donors_per_shard if donors_per_shard is None else donors_per_shard,
        stages_per_donor=plan.stages_per_donor if stages_per_donor is None else stages_per_donor,
        erased_donors=plan.erased_donors if erased_donors is None else erased_donors,
        held_back=plan.held_back if held_back is None else held_back,
    )
    _check_plan(plan, counts)
    with torch_threads(threads):
        return _run(plan, quick, counts, seed, progress or (lambda _line: None))


def _run(
    plan: ErasurePlan, quick: bool, counts: list[int], seed: int, say: Callable[[str], None]
) -> ErasureBenchRead:
    began = time.perf_counter()
    load_at_start = load_average()
    model_config, train_config = preset(PRESET)
    balanced_over = math.lcm(*counts)
    timesteps = spread_timesteps(model_config, plan.eval_timesteps)
    measured: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="museum-bench-erasure-") as workdir:
        museum = seed_museum(
            Path(workdir) / "seed",
            config=model_config,
            classes=plan.digit_classes,
            balanced_over=balanced_over,
            donors_per_shard=plan.donors_per_shard,
            stages_per_donor=plan.stages_per_donor,
            erased_donors=plan.erased_donors,
            held_back=plan.held_back,
            timesteps=timesteps,
            seed=seed,
            say=say,
        )
        for shards in counts:
            measured.append(_measure(museum, shards, Path(workdir) / f"s{shards}", plan, seed, say))
    untrained = float(
        museum.held_probe.losses(build_unet(model_config, seed=seed), model_config).mean()
    )
    runs: list[ShardCountRead] = [
        shard_count_read(m, measured[0], plan.bootstrap, seed) for m in measured
    ]
    classes = ", ".join(map(str, plan.digit_classes))
    return ErasureBenchRead(
        bench="erasure",
        quick=quick,
        seed=seed,
        preset=PRESET,
        data=(
            f"scikit-learn digits, classes {classes}, {model_config.resolution}x"
            f"{model_config.resolution} grey: {museum.donors} donors × {plan.stages_per_donor} "
            f"single-stage donations (classes dealt in turn), {plan.held_back} scans never donated"
        ),
        budget=(
            f"same total optimiser steps: each of S shards trains {plan.total_steps} / S steps at "
            f"batch {train_config.batch_size} on its donors' stages; a retrained shard gets the "
            "same steps and seed again"
        ),
        total_steps=plan.total_steps,
        batch_size=train_config.batch_size,
        shard_counts=counts,
        balanced_over=balanced_over,
        donors=museum.donors,
        donors_per_shard=plan.donors_per_shard,
        registered=museum.registered,
        stages_per_donor=plan.stages_per_donor,
        training_items=museum.training_items,
        held_back_items=plan.held_back,
        erased_donors=len(museum.erased),
        erased_items=int(museum.erased_probe.images.shape[0]),
        erased_shard=museum.erased_shard,
        eval_timesteps=timesteps,
        bootstrap=plan.bootstrap,
        untrained_loss=untrained,
        seed_seconds=museum.seconds,
        targets=dict(TARGETS),
        runs=runs,
        verdicts=verdicts(runs),
        machine=_machine(load_at_start),
        seconds_total=time.perf_counter() - began,
    )
