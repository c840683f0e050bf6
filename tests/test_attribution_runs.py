"""Attributing a recorded generation against the run that made it: the index per run on disk,
recording through the ledger, erasure, and every refusal recording nothing (tiny model)."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import UUID, uuid4

import factories
import numpy as np
import pytest

from api.attribute import AttributeRequest, attribute, index_root
from attribution.methods import get_method
from attribution.runs import RunAttribution, index_directory
from generation.service import generate, train_run
from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.domain.attribution import PPM
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.model_records import ModelRecords

STEPS = 30
SMALL = {"timesteps": 2, "dim": 64}
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _made(ledger: MuseumLedger, shards: int = 2) -> tuple[list[UUID], TrainingRun, Generation]:
    # Four artists, two in each shard (an artist's shard follows from their random id).
    per_shard = [4 // shards + (s < 4 % shards) for s in range(shards)]
    artists = [a for donors in factories.collection_by_shard(ledger, per_shard) for a in donors]
    run = train_run(ledger, job_id="r1", seed=2, shards=shards, steps=STEPS)
    generation = generate(ledger, job_id="g1", role="final", emotion="joy", seed=1, steps=4)
    return artists, run, generation


def _events(ledger: MuseumLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


@sqlite_only
def test_attribute_records_once_and_a_rebuild_scores_identically(
    ledger: MuseumLedger, tmp_path: Path
) -> None:
    _, run, generation = _made(ledger)
    request = AttributeRequest(generation.id, method="d-trak", top=5, **SMALL)
    result = attribute(ledger, tmp_path, request)
    # Every item of both shards was scored; the top 5 are credited with exact shares.
    assert result.method == "d-trak"
    assert result.parameters["shards"] == 2
    assert result.parameters["timesteps"] == [250, 750]
    assert result.parameters["dim"] == 64
    # The projection seeds are recorded; no agreement, since k and K were not the measured ones.
    assert result.parameters["projection_seeds"] == [0]
    assert "agreement" not in result.parameters
    assert len(result.top_k) == 5
    assert sum(line.ppm for line in result.shares_ppm) == PPM
    assert sum(line.ppm for line in result.credits) == PPM
    assert {line.item_id for line in result.top_k} <= set(run.item_ids())
    method = get_method("d-trak").with_settings(**SMALL)
    # One index per shard, keyed by the settings, the checkpoints and the items, not the run.
    located = RunAttribution(ledger, run, method, index_root(tmp_path))
    stored = [located.index_directory(shard) for shard in (0, 1)]
    assert all((directory / "manifest.json").is_file() for directory in stored)
    assert stored[0] != stored[1]
    assert stored[0].parent == stored[1].parent
    assert sorted(p.name for p in stored[0].parent.iterdir()) == sorted(p.name for p in stored)
    members = [[i["item_id"] for i in run.items if i["shard"] == shard] for shard in (0, 1)]
    hashes = [[c["hash"] for c in run.checkpoints if c["shard"] == shard] for shard in (0, 1)]
    assert stored[1] == index_directory(
        index_root(tmp_path), method, 0, hashes[1], list(reversed(members[1]))
    )
    assert stored[1] != index_directory(index_root(tmp_path), method, 1, hashes[1], members[1])
    assert stored[1] != index_directory(index_root(tmp_path), method, 0, hashes[0], members[1])

    # A retry finds the attribution recorded and records nothing.
    before = _events(ledger)
    assert attribute(ledger, tmp_path, request).attribution_id == result.attribution_id
    assert _events(ledger) == before
    assert [str(a.id) for a in AttributionRecords(ledger).for_generation(generation.id)] == [
        result.attribution_id
    ]

    # Rebuilt from the ledger elsewhere: same index hash, same scores, item for item.
    loaded = RunAttribution(ledger, run, method, index_root(tmp_path)).score(generation)
    rebuilt = RunAttribution(ledger, run, method, tmp_path / "elsewhere").score(generation)
    assert rebuilt.index_hash == loaded.index_hash == result.index_hash
    assert set(rebuilt.scores) == set(run.item_ids())
    assert rebuilt.scores == loaded.scores
    assert any(value != 0 for value in loaded.scores.values())

    # TRAK's loss features give other scores under another index.
    trak = attribute(ledger, tmp_path, AttributeRequest(generation.id, method="trak", **SMALL))
    assert trak.index_hash != result.index_hash
    ledger.integrity.verify()


@sqlite_only
def test_erased_donors_keep_pseudonymous_credit_from_an_existing_index(
    ledger: MuseumLedger, tmp_path: Path
) -> None:
    _, run, generation = _made(ledger, shards=1)
    method = get_method("d-trak").with_settings(**SMALL)
    first = RunAttribution(ledger, run, method, index_root(tmp_path)).score(generation)
    # Erase the artist of the best-scored item, so their credit is certain to be recorded.
    best = max(first.scores, key=lambda item_id: first.scores[item_id])
    erased = next(item["artist_id"] for item in run.items if item["item_id"] == best)
    ModelRecords(ledger).erase_artist(UUID(erased), "asked to leave")
    top = len(run.items)
    positive = sum(1 for value in first.scores.values() if value > 0)
    result = attribute(
        ledger, tmp_path, AttributeRequest(generation.id, method="d-trak", top=top, **SMALL)
    )
    assert result.parameters["excluded_items"] == 0
    assert len(result.shares_ppm) == positive
    erased_items = {item["item_id"] for item in run.items if item["artist_id"] == erased}
    assert best in {line.item_id for line in result.shares_ppm}
    assert ERASED_DONOR in {line.pseudonym for line in result.credits}
    assert erased not in str(result.credits)
    # An index built only now cannot read the erased stages: it leaves them out, and says so.
    late = RunAttribution(ledger, run, method, tmp_path / "late").score(generation)
    assert set(late.scores) == set(run.item_ids()) - erased_items
    assert late.excluded == sorted(erased_items)
    assert late.parameters["excluded_items"] == len(erased_items)
    assert late.index_hash != first.index_hash


@sqlite_only
def test_refusals_record_nothing(ledger: MuseumLedger, tmp_path: Path) -> None:
    _, run, generation = _made(ledger, shards=1)
    before = _events(ledger)
    bad = [
        (AttributeRequest(uuid4(), **SMALL), NotFound, "generation"),
        (AttributeRequest(generation.id, top=0, **SMALL), InvalidInput, "top-k"),
        (AttributeRequest(generation.id, top=1001, **SMALL), InvalidInput, "top-k"),
        (AttributeRequest(generation.id, timesteps=0), InvalidInput, "K"),
        (AttributeRequest(generation.id, timesteps=1001), InvalidInput, "K"),
        (AttributeRequest(generation.id, dim=0), InvalidInput, "projection dimension"),
        (AttributeRequest(generation.id, dim=10**6), InvalidInput, "projection dimension"),
        (AttributeRequest(generation.id, method="magic"), InvalidInput, "unknown attribution"),
    ]
    for request, error, message in bad:
        with pytest.raises(error, match=message):
            attribute(ledger, tmp_path, request)
    assert _events(ledger) == before

    # An index built for another run, put where this run's index belongs, is refused.
    factories.seed_collection(ledger, artists=1)
    other = train_run(ledger, job_id="r2", seed=5, steps=STEPS)
    method = get_method("d-trak").with_settings(**SMALL)
    RunAttribution(ledger, other, method, tmp_path / "other").build()
    theirs = RunAttribution(ledger, other, method, tmp_path / "other").index_directory(0)
    mine = RunAttribution(ledger, run, method, index_root(tmp_path)).index_directory(0)
    assert theirs.name != mine.name
    shutil.copytree(theirs, mine)
    before = _events(ledger)
    with pytest.raises(Conflict, match="does not belong to shard 0 of run"):
        attribute(ledger, tmp_path, AttributeRequest(generation.id, method="d-trak", **SMALL))
    assert _events(ledger) == before

    # A generation of another version is refused by this run's attribution.
    with pytest.raises(InvalidInput, match="not by run"):
        RunAttribution(ledger, other, method, tmp_path / "x").score(generation)
    # A run that never completed (so never saved a checkpoint) has nothing to attribute with.
    records = ModelRecords(ledger)
    stuck = records.start_run(job_id="r3", config=run.config, seed=0, shards=1)
    with pytest.raises(Conflict, match="only a model version"):
        RunAttribution(ledger, stuck, method, tmp_path)
    records.fail_run(stuck.id, "test")
    with pytest.raises(Conflict, match="failed"):
        RunAttribution(ledger, records.get_run(stuck.id), method, tmp_path)


def test_scores_are_finite_and_cover_the_run(ledger: MuseumLedger, tmp_path: Path) -> None:
    """Both backends: the run's items and checkpoints come from the ledger and its blobs."""
    _, run, generation = _made(ledger, shards=1)
    method = get_method("trak").with_settings(timesteps=1, dim=32)
    scored = RunAttribution(ledger, run, method, tmp_path).score(generation)
    values = np.array(list(scored.scores.values()))
    assert set(scored.scores) == set(run.item_ids())
    assert np.isfinite(values).all()
    assert scored.parameters["checkpoint_hashes"] == sorted(c["hash"] for c in run.checkpoints)
    assert scored.parameters["checkpoints"] == 0  # the method's "all of them"
