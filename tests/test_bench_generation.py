"""`museum bench generation`: the figures are complete and consistent. No timing is asserted."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import torch
from rich.console import Console

from api.cli.bench_views import render_generation_bench
from generation.bench import TARGET_SHARD_LOSS_RATIO, TARGETS, run_generation_bench

PRESETS = ("tiny",)
THREADS_BEFORE = torch.get_num_threads()
SHARDS = (1, 2)
SHARD_STEPS = 6  # not the quick plan's 8: the figures show that the budget given is the one used


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    # One thread: the tiny model's steps stall badly when two threads share busy cores.
    return run_generation_bench(
        quick=True, presets=PRESETS, shard_counts=SHARDS, seed=0, threads=1, shard_steps=SHARD_STEPS
    )


def rendered(figures: dict[str, Any]) -> str:
    console = Console(record=True, width=200)
    console.print(render_generation_bench(figures))
    return console.export_text()


def positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_top_level(figures: dict[str, Any]) -> None:
    assert figures["bench"] == "generation"
    assert figures["quick"] is True
    assert figures["presets"] == list(PRESETS)
    assert figures["shard_counts"] == list(SHARDS)
    assert figures["targets"] == TARGETS
    assert figures["devices"][0] == "cpu"
    machine = figures["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["torch"]
    assert machine["torch_threads"] == 1
    assert machine["devices"] == figures["devices"]
    assert positive(figures["seconds_total"])
    json.dumps(figures)  # JSON-ready, as `--json` prints it


def test_training_speed(figures: dict[str, Any]) -> None:
    rows = figures["training"]
    assert [(r["preset"], r["device"]) for r in rows] == [
        (p, d) for p in PRESETS for d in figures["devices"]
    ]
    for row in rows:
        for key in ("seconds", "steps_per_s", "examples_per_s", "parameters", "items"):
            assert positive(row[key]), key
        assert row["timed_steps"] >= 1
        assert row["steps_per_s"] == pytest.approx(row["timed_steps"] / row["seconds"])
        assert row["examples_per_s"] == pytest.approx(row["steps_per_s"] * row["batch_size"])
        assert row["device_name"]
        assert math.isfinite(row["final_loss"])


def test_sampling_speed(figures: dict[str, Any]) -> None:
    rows = figures["sampling"]
    assert [(r["preset"], r["device"]) for r in rows] == [
        (p, d) for p in PRESETS for d in figures["devices"]
    ]
    for row in rows:
        assert row["batch"] == 16
        for key in ("seconds", "seconds_per_batch", "images_per_s", "unet_steps_per_s"):
            assert positive(row[key]), key
        assert row["images_per_s"] == pytest.approx(row["batch"] * row["repeats"] / row["seconds"])


def test_sharding_cost(figures: dict[str, Any]) -> None:
    data = figures["sharding"]
    runs = data["runs"]
    assert [run["shards"] for run in runs] == list(SHARDS)
    assert data["total_steps"] == SHARD_STEPS
    assert data["training_items"] + data["held_back_items"] == data["items"]
    assert data["held_back_items"] >= 1
    assert data["eval_examples"] == data["held_back_items"] * len(data["eval_timesteps"])
    assert len(set(data["eval_timesteps"])) == len(data["eval_timesteps"])
    assert positive(data["untrained_loss"])
    baseline = runs[0]
    assert baseline["ratio_vs_single"] == 1.0
    for run in runs:
        shards = run["shards"]
        # Same budget: every S trains the same total number of optimiser steps.
        assert run["total_steps"] == run["steps_per_shard"] * shards == data["total_steps"]
        # The shards partition the training items.
        assert len(run["items_per_shard"]) == shards
        assert sum(run["items_per_shard"]) == data["training_items"]
        assert all(n >= 1 for n in run["items_per_shard"])
        for key in ("train_seconds", "held_back_loss", "mean_single_shard_loss"):
            assert positive(run[key]), key
        assert len(run["single_shard_losses"]) == shards
        assert run["mean_single_shard_loss"] == pytest.approx(
            sum(run["single_shard_losses"]) / shards
        )
        assert run["ratio_vs_single"] == pytest.approx(
            run["held_back_loss"] / baseline["held_back_loss"]
        )
        assert run["meets_target"] is (run["ratio_vs_single"] <= TARGET_SHARD_LOSS_RATIO)
    assert data["meets_target"] is all(run["meets_target"] for run in runs)
    # One shard is one model: its ensemble is the model itself.
    assert baseline["held_back_loss"] == pytest.approx(baseline["single_shard_losses"][0])


def test_threads_are_restored(figures: dict[str, Any]) -> None:
    assert figures["machine"]["torch_threads"] == 1
    assert torch.get_num_threads() == THREADS_BEFORE


def test_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="shard counts"):
        run_generation_bench(quick=True, presets=PRESETS, shard_counts=(0,))
    with pytest.raises(ValueError, match="unknown preset"):
        run_generation_bench(quick=True, presets=("huge",))
    with pytest.raises(ValueError, match="threads"):
        run_generation_bench(quick=True, presets=PRESETS, threads=0)
    for budget in (0, 3, True, 2.5):  # 3: fewer steps than shards
        with pytest.raises(ValueError, match="shard budget"):
            run_generation_bench(
                quick=True,
                presets=PRESETS,
                shard_counts=(1, 4),
                shard_steps=budget,  # type: ignore[arg-type]
            )


def test_renders(figures: dict[str, Any]) -> None:
    text = rendered(figures)
    assert "Generation bench" in text
    assert "Cost of sharding" in text
    assert "tiny" in text
    assert f"≤ {TARGET_SHARD_LOSS_RATIO:.2f}" in text
    assert "baseline" in text
    assert "s in all" in text
