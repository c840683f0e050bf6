"""`museum bench diversity` at test sizes: the figures are complete and consistent, nothing is
marked measured, the metrics say what they should on known inputs, bad sizes are refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import msgspec
import numpy as np
import pytest
from factories import main_in_process
from PIL import Image
from prdc import compute_prdc
from rich.console import Console

from api.cli.bench_views_diversity import render_diversity_bench
from api.cli.console import plain
from collection import DIGIT_EMOTIONS, digits_process_collection
from collection.digits_process import DIGIT_FAILURES
from generation.diversity_bench.arms import CONTINUATION, FINALS
from generation.diversity_bench.continuation import stage_pairs
from generation.diversity_bench.data import emotion_of, load_split
from generation.diversity_bench.figures import DatasetRead, DiversityBenchRead, IntervalRead
from generation.diversity_bench.harness import PLANS, run_diversity_bench
from generation.diversity_bench.metrics import manifold_hits, vendi_score
from generation.process.model import continuation_class

TINY = PLANS["tiny"]


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sheets")


@pytest.fixture(scope="module")
def figures(sheets: Path) -> DiversityBenchRead:
    return run_diversity_bench(plan="tiny", threads=1, out=sheets)


def inside(iv: IntervalRead) -> bool:
    return all(math.isfinite(v) for v in (iv.value, iv.low, iv.high)) and (
        iv.low - 1e-9 <= iv.value <= iv.high + 1e-9
    )


def check_dataset(data: DatasetRead, figures: DiversityBenchRead) -> None:
    assert [a.arm for a in data.arms] == ["process", "finals"]
    process, finals = data.arms
    # A learns from every stage, B from the finals of the same donations.
    assert process.trained_items == data.training_stages > finals.trained_items
    assert finals.trained_items == data.training_finals
    assert len(data.conditions) == len(process.conditions) == len(finals.conditions) >= 2
    assert all(c.condition.startswith("final × ") for c in process.conditions)
    for arm in data.arms:
        for iv in (arm.vendi_pixels, arm.vendi_embedding, arm.precision, arm.recall):
            assert inside(iv)
        # A Vendi score counts distinct samples: between 1 and how many there are.
        assert 1.0 - 1e-6 <= arm.vendi_embedding.low <= arm.vendi_embedding.high
        assert arm.vendi_pixels.high <= figures.samples + 1e-6
        assert 0.0 <= arm.precision.low <= arm.precision.high <= 1.0
        assert arm.held_back_loss is not None
        assert arm.held_back_loss.value > 0
    assert finals.other_roles == []
    assert {r.role for r in process.other_roles} <= {"sketch", "attempt", "failure", "revision"}
    assert process.other_roles
    (comparison,) = data.comparisons
    assert comparison.arm == "process"
    assert comparison.against == "finals"
    assert comparison.more_diverse_at_equal_quality in ("yes", "no", "not shown")
    assert comparison.held_back_loss_ratio == pytest.approx(
        process.held_back_loss.value / finals.held_back_loss.value
    )
    assert comparison.vendi_embedding_diff.value == pytest.approx(
        process.vendi_embedding.value - finals.vendi_embedding.value
    )
    assert 0.0 <= data.embedding.role_accuracy <= 1.0
    assert data.prompt.samples == figures.samples
    assert data.prompt.condition in data.conditions


def test_the_figures(figures: DiversityBenchRead, sheets: Path) -> None:
    assert figures.bench == "diversity"
    assert figures.measured is False  # test sizes stand for nothing
    assert figures.seeds == [0, 1]
    assert figures.train_steps == TINY.train_steps
    assert [d.dataset for d in figures.datasets] == ["demo", "digits"]
    for data in figures.datasets:
        check_dataset(data, figures)
        # The contact sheet: one row of N samples per arm.
        sheet = Path(data.prompt.contact_sheet or "")
        assert sheet.parent == sheets
        with Image.open(sheet) as img:
            assert img.size == (16 * figures.samples, 16 * 2)
    data = json.loads(json.dumps(plain(figures)))
    assert msgspec.convert(data, DiversityBenchRead) == figures
    console = Console(record=True, width=240)
    console.print(render_diversity_bench(figures))
    text = console.export_text()
    assert "these figures measure nothing" in text
    assert "more diverse at equal quality" in text
    assert "verdict rule" in text


def test_vendi_and_manifolds_on_known_inputs() -> None:
    rng = np.random.default_rng(0)
    same = np.tile(rng.normal(size=(1, 8)), (10, 1))
    assert vendi_score(same) == pytest.approx(1.0)
    assert vendi_score(np.eye(10)) == pytest.approx(10.0)
    real, fake = rng.normal(size=(40, 5)), rng.normal(size=(30, 5)) + 0.5
    precision, recall = manifold_hits(real, fake, k=3)
    theirs = compute_prdc(real_features=real, fake_features=fake, nearest_k=3)
    assert precision.mean() == pytest.approx(theirs["precision"])
    assert recall.mean() == pytest.approx(theirs["recall"])


def test_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="seeds must be between 2"):
        run_diversity_bench(plan="tiny", seeds=1)
    with pytest.raises(ValueError, match="samples must be between"):
        run_diversity_bench(plan="tiny", samples=3)
    with pytest.raises(ValueError, match="data sets must be among"):
        run_diversity_bench(plan="tiny", datasets=("cifar",))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--seeds", "1"], "seeds must be between 2 and 32"),
        (["--samples", "2"], "samples must be between 4 and 512"),
        (["--datasets", "mnist"], "data sets must be among: demo, digits"),
        (["--steps", "0"], "steps must be between 1"),
        (["--arms", "process"], "--arms takes finals and any of: process, finals"),
    ],
)
def test_the_command_refuses(args: list[str], says: str) -> None:
    code, out, err = main_in_process(["bench", "diversity", "--quick", *args])
    assert code != 0
    assert out == ""
    assert says in err
    assert len(err.strip().splitlines()) == 1


def test_digits_as_processes() -> None:
    scans = list(range(30))
    drawn = digits_process_collection(scans=scans, seed=0)
    donations = [d for artist in drawn for d in artist.donations]
    assert len(donations) == len(scans)
    for donation in donations:
        roles = [stage.role for stage in donation.stages]
        assert roles[0] == "sketch"
        assert roles[-1] == "final"
        assert "failure" in roles
        assert set(roles) <= {"sketch", "attempt", "failure", "final"}
        assert donation.label.failure_type in DIGIT_FAILURES
        images = {stage.image for stage in donation.stages}
        assert len(images) == len(roles)  # every sheet differs from the scan
        assert donation.label.emotion == DIGIT_EMOTIONS[donation.digit or 0]
    # Deterministic for a seed; another seed draws other defects over the same finals.
    assert digits_process_collection(scans=scans, seed=0) == drawn
    other = [d for a in digits_process_collection(scans=scans, seed=1) for d in a.donations]
    assert [d.stages[-1].image for d in other] == [d.stages[-1].image for d in donations]
    assert [d.stages[-2].image for d in other] != [d.stages[-2].image for d in donations]


def test_the_continuation_arm_runs_and_is_reported() -> None:
    split = load_split("digits", TINY.data, seed=0)
    pairs = stage_pairs(split.training)
    donations = int(split.training.donations.max()) + 1
    # One pair per consecutive stage of a donation, labelled with the next stage's role and
    # the donation label's failure type.
    assert len(pairs) == len(split.training) - donations
    for pair in pairs:
        i = int(pair.item_id.removeprefix("pair-"))
        stages = split.training
        assert stages.donations[i] == stages.donations[i - 1]
        emotion = emotion_of(int(stages.class_ids[i]))
        assert pair.class_id == continuation_class(
            stages.roles[i], emotion, stages.failure_types[i]
        )
        assert stages.failure_types[i] in DIGIT_FAILURES
    figures = run_diversity_bench(
        plan="tiny", datasets=("digits",), arms=(FINALS, CONTINUATION), steps=2, threads=1
    )
    (data,) = figures.datasets
    assert [a.arm for a in data.arms] == ["finals", "continuation"]
    _, continuation = data.arms
    assert continuation.trained_items == len(pairs)
    assert len(continuation.conditions) == len(data.conditions) >= 2
    assert continuation.held_back_loss is None  # no stage-model UNet to score
    assert 1.0 - 1e-6 <= continuation.vendi_pixels.low <= continuation.vendi_pixels.high
    assert continuation.vendi_pixels.high <= figures.samples + 1e-6
    (comparison,) = data.comparisons
    assert (comparison.arm, comparison.against) == ("continuation", "finals")
    assert comparison.held_back_loss_ratio is None
    console = Console(record=True, width=240)
    console.print(render_diversity_bench(figures))
    assert "continuation" in console.export_text()
