"""`museum bench erasure`: the figures are complete and consistent. No timing is asserted."""

from __future__ import annotations

import json
import math

import msgspec
import pytest
import torch
from rich.console import Console

from api.cli.bench_views_erasure import render_erasure_bench
from api.cli.console import plain
from generation.erasure_bench.figures import (
    TARGET_AUC_AFTER,
    TARGETS,
    ErasureBenchRead,
    LossSpread,
    MembershipRead,
    ShardCountRead,
    cost_target,
)
from generation.erasure_bench.harness import QUICK, run_erasure_bench

SHARDS = (1, 2)
STEPS = 6  # not the quick plan's 8: the figures show that the budget given is the one used
THREADS_BEFORE = torch.get_num_threads()


@pytest.fixture(scope="module")
def figures() -> ErasureBenchRead:
    # One thread: the tiny model's steps stall badly when two threads share busy cores.
    return run_erasure_bench(quick=True, shard_counts=SHARDS, total_steps=STEPS, threads=1)


def positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_the_museum(figures: ErasureBenchRead) -> None:
    assert figures.bench == "erasure"
    assert figures.quick is True
    assert figures.shard_counts == list(SHARDS)
    assert figures.targets == TARGETS
    assert figures.total_steps == STEPS
    assert figures.balanced_over == 2
    assert figures.donors == figures.balanced_over * figures.donors_per_shard
    assert figures.registered >= figures.donors
    assert figures.training_items == figures.donors * figures.stages_per_donor
    assert figures.held_back_items == QUICK.held_back
    assert figures.erased_donors == QUICK.erased_donors
    assert figures.erased_items == figures.erased_donors * figures.stages_per_donor
    assert len(set(figures.eval_timesteps)) == len(figures.eval_timesteps) == QUICK.eval_timesteps
    assert positive(figures.untrained_loss)
    assert figures.machine["torch_threads"] == 1
    assert torch.get_num_threads() == THREADS_BEFORE
    assert positive(figures.seconds_total)


def check_spread(losses: LossSpread, n: int) -> None:
    assert losses.n == n
    assert 0 < losses.q1 <= losses.median <= losses.q3
    assert positive(losses.mean)


def check_attack(attack: MembershipRead, figures: ErasureBenchRead) -> None:
    check_spread(attack.erased, figures.erased_items)
    check_spread(attack.never_seen, figures.held_back_items)
    assert 0.0 <= attack.auc_low <= attack.auc_high <= 1.0
    assert 0.0 <= attack.auc <= 1.0


def test_each_shard_count(figures: ErasureBenchRead) -> None:
    runs = figures.runs
    assert [run.shards for run in runs] == list(SHARDS)
    single = runs[0]
    assert single.cost_vs_full == single.wall_cost_vs_full == 1.0
    assert single.loss_vs_single == 1.0
    for run in runs:
        shards = run.shards
        # Same budget, and shards balanced by construction: every shard holds as many items.
        assert run.total_steps == run.steps_per_shard * shards == STEPS
        assert run.items_per_shard == [figures.training_items // shards] * shards
        # One retrain served the batch, trained one shard again and reused every other.
        assert run.retraining_runs == 1
        assert run.requests_served == figures.erased_donors
        assert len(run.shards_retrained) == 1 <= shards
        assert sorted(run.shards_retrained + run.shards_reused) == list(range(shards))
        assert run.shards_dropped == []
        assert run.new_version != run.base_version
        # The erasure reached the deployed model, and was certified.
        assert run.erasures_certified == figures.erased_donors
        assert run.holds_erased_fingerprints is False
        for key in (
            "base_train_seconds",
            "base_train_cpu_seconds",
            "erasure_seconds",
            "erasure_cpu_seconds",
            "request_seconds",
        ):
            assert positive(getattr(run, key)), key
        assert run.request_seconds < run.erasure_seconds
        assert run.cost_vs_full == pytest.approx(
            run.erasure_cpu_seconds / single.erasure_cpu_seconds
        )
        assert run.wall_cost_vs_full == pytest.approx(run.erasure_seconds / single.erasure_seconds)
        assert run.cost_target == pytest.approx(1 / shards + 0.10)
        assert run.meets_cost_target is (run.cost_vs_full <= cost_target(shards))
        assert positive(run.held_back_loss)
        assert positive(run.held_back_loss_after)
        assert run.loss_vs_single == pytest.approx(run.held_back_loss / single.held_back_loss)
        # The held-back loss is the mean of the never-seen items' losses under the same model.
        assert run.held_back_loss == pytest.approx(run.before.never_seen.mean)
        assert run.held_back_loss_after == pytest.approx(run.after.never_seen.mean)
        check_attack(run.before, figures)
        check_attack(run.after, figures)
        assert run.meets_auc_target is (run.after.auc <= TARGET_AUC_AFTER)
    sharded = runs[1]
    assert len(sharded.shards_retrained) < sharded.shards
    # The shard that was not retrained is the same model: never-seen items score the same.
    assert sharded.shards_reused


def test_verdicts(figures: ErasureBenchRead) -> None:
    met = {verdict.target: verdict.met for verdict in figures.verdicts}
    assert len(met) == 5
    quality = next(target for target in met if "held-back loss" in target)
    assert met[quality] is None  # S = 4 was not measured
    (cost,) = (target for target in met if target.startswith("erasure cost"))
    assert met[cost] is figures.runs[1].meets_cost_target
    (reach,) = (target for target in met if target.startswith("one retrain"))
    assert met[reach] is True


def test_the_json_has_every_field(figures: ErasureBenchRead) -> None:
    data = json.loads(json.dumps(plain(figures)))
    assert list(data) == list(ErasureBenchRead.__struct_fields__)
    for run in data["runs"]:
        assert list(run) == list(ShardCountRead.__struct_fields__)
        for when in ("before", "after"):
            assert list(run[when]) == list(MembershipRead.__struct_fields__)
            assert list(run[when]["erased"]) == list(LossSpread.__struct_fields__)
    # And it reads back as the same typed figures.
    assert msgspec.convert(data, ErasureBenchRead) == figures


def test_renders(figures: ErasureBenchRead) -> None:
    console = Console(record=True, width=220)
    console.print(render_erasure_bench(figures))
    text = console.export_text()
    assert "Erasure bench" in text
    assert "1 of 2: #" in text
    assert "baseline" in text
    assert "not measured" in text
    assert "s in all" in text


def test_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="shard counts"):
        run_erasure_bench(quick=True, shard_counts=(0,))
    with pytest.raises(ValueError, match="do not fit"):
        run_erasure_bench(quick=True, erased_donors=QUICK.donors_per_shard + 1)
    with pytest.raises(ValueError, match="total budget"):
        run_erasure_bench(quick=True, shard_counts=(1, 8), total_steps=4)
    with pytest.raises(ValueError, match="too few"):
        run_erasure_bench(quick=True, held_back=100_000)
