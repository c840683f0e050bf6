"""Attributions as ledger facts: exact ppm shares, roll-ups, idempotence, erasure-safe credits."""

from __future__ import annotations

import math
from uuid import UUID, uuid4

import factories
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.domain.attribution import PPM, Attribution, exact_shares, roll_up, top_k
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.model_records import ModelRecords
from ledger.views import ANONYMOUS_DONOR

INDEX = "ab" * 32
PARAMS = {
    "output_function": "denoising-loss",
    "timesteps": 10,
    "k_dims": 2048,
    "seeds": [0, 1],
    "regularisation": 1e-3,
}
LEGAL_NAMES = ("Ana Lucía Ruiz", "Bea Okafor")
CONTACTS = ("ana.ruiz@example.org", "bea.okafor@example.org")


def _setup(ledger: MuseumLedger) -> tuple[list[UUID], TrainingRun, Generation]:
    artists = [
        ledger.register_artist(factories.artist("Ink Moth")),
        ledger.register_artist(
            factories.artist("Salt Heron", legal_name=LEGAL_NAMES[1], contact=CONTACTS[1])
        ),
    ]
    for n, artist in enumerate(artists):
        ledger.donate(factories.donation(artist, stages=factories.stages(shade=10 + 80 * n)))
    records = ModelRecords(ledger)
    run = records.start_run(job_id="run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "e" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    generation = records.record_generation(
        job_id="gen",
        run=run,
        seed=1,
        steps=10,
        role="final",
        emotion="joy",
        png=factories.png(7),
    )
    return artists, run, generation


def _scores(run: TrainingRun) -> dict[str, float]:
    # Descending, distinct scores; the last item scores negatively and is never credited.
    ids = run.item_ids()
    return {item_id: float(len(ids) - i) - 2.5 for i, item_id in enumerate(ids)}


# --- pure functions -----------------------------------------------------------------------------


def test_exact_shares_largest_remainder() -> None:
    assert exact_shares({"a": 1.0, "b": 1.0, "c": 1.0}, 3) == [
        ("a", 333_334),
        ("b", 333_333),
        ("c", 333_333),
    ]
    assert exact_shares({"a": 3.0, "b": 1.0, "z": -5.0, "y": 0.0}, 10) == [
        ("a", 750_000),
        ("b", 250_000),
    ]
    # top-k is taken before the positive filter; ties by item id.
    assert exact_shares({"b": 2.0, "a": 2.0, "c": 9.0}, 2) == [("c", 818_182), ("a", 181_818)]


@pytest.mark.parametrize(
    ("scores", "k", "message"),
    [
        ({"a": 1.0}, 0, "k must be"),
        ({"a": 1.0}, 1001, "k must be"),
        ({"a": math.nan}, 1, "finite"),
        ({"a": math.inf}, 1, "finite"),
        ({"a": 0.0, "b": -1.0}, 2, "nothing to credit"),
        ({}, 3, "nothing to credit"),
        ({"a": 5.0, "b": -1.0}, 1, None),
    ],
)
def test_exact_shares_refusals(scores: dict[str, float], k: int, message: str | None) -> None:
    if message is None:
        assert exact_shares(scores, k) == [("a", PPM)]
        return
    with pytest.raises(InvalidInput, match=message):
        exact_shares(scores, k)


positive_scores = st.dictionaries(
    st.text(alphabet="abcdefghij0123456789:", min_size=1, max_size=8),
    st.floats(min_value=5e-324, max_value=1e300, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(scores=positive_scores, k=st.integers(min_value=1, max_value=1000), data=st.data())
def test_exact_shares_properties(scores: dict[str, float], k: int, data: st.DataObject) -> None:
    shares = exact_shares(scores, k)
    assert sum(ppm for _, ppm in shares) == PPM
    assert all(ppm >= 0 for _, ppm in shares)
    assert len(shares) == min(k, len(scores))
    shuffled = dict(data.draw(st.permutations(list(scores.items()))))
    assert exact_shares(shuffled, k) == shares
    top_item = top_k(scores, k)[0][0]
    assert dict(shares)[top_item] == max(ppm for _, ppm in shares)
    items = {item_id: {"group": item_id[:1]} for item_id in scores}
    assert sum(ppm for _, ppm in roll_up(shares, items, "group")) == PPM


# --- the ledger service, on both backends ------------------------------------------------------


def test_record_is_idempotent_and_rolls_up(ledger: MuseumLedger) -> None:
    artists, run, generation = _setup(ledger)
    records = AttributionRecords(ledger)
    scores = _scores(run)
    attribution = records.record(generation.id, "trak", PARAMS, INDEX, scores, k=5)
    assert attribution.id == Attribution.create_id(generation.id, "trak", INDEX)
    assert attribution.model_version == run.id
    assert attribution.parameters == PARAMS
    assert [e["item_id"] for e in attribution.top_k] == run.item_ids()[:5]
    assert len(attribution.shares_ppm) == 4  # the fifth-ranked item scored negatively

    before = ledger.recorder.max_notification_id()
    again = records.record(generation.id, "trak", PARAMS, INDEX, scores, k=5)
    assert again.id == attribution.id
    assert ledger.recorder.max_notification_id() == before
    with pytest.raises(Conflict, match="other parameters"):
        records.record(generation.id, "trak", PARAMS, INDEX, scores, k=4)
    # Seeds and agreement describe, they do not change, an attribution of the same index: a
    # retry that adds them finds the one recorded without them; another setting is refused.
    described = {**PARAMS, "projection_seeds": [0], "agreement": {"item": 0.9}}
    assert records.record(generation.id, "trak", described, INDEX, scores, k=5).id == again.id
    assert ledger.recorder.max_notification_id() == before
    with pytest.raises(Conflict, match="other parameters"):
        records.record(generation.id, "trak", {**described, "k_dims": 1}, INDEX, scores, k=5)

    stored = records.get(attribution.id)
    for lines in (stored.per_donation, stored.per_role, stored.per_artist):
        assert sum(line["ppm"] for line in lines) == PPM
    assert sum(e["ppm"] for e in stored.shares_ppm) == PPM
    assert {line["key"] for line in stored.per_artist} <= {str(a) for a in artists}
    assert {line["key"] for line in stored.per_role} <= {"sketch", "failure", "final"}

    other = records.record(generation.id, "d-trak", PARAMS, INDEX, scores, k=6)
    assert [a.id for a in records.for_generation(generation.id)] == [attribution.id, other.id]
    ledger.integrity.verify()


def test_refusals(ledger: MuseumLedger) -> None:
    _, run, generation = _setup(ledger)
    records = AttributionRecords(ledger)
    scores = _scores(run)
    with pytest.raises(NotFound, match="generation"):
        records.record(uuid4(), "trak", PARAMS, INDEX, scores, k=5)
    with pytest.raises(NotFound):
        records.for_generation(uuid4())
    with pytest.raises(InvalidInput, match="index built for another run"):
        records.record(generation.id, "trak", PARAMS, INDEX, scores | {"elsewhere:0": 9.0}, k=5)
    with pytest.raises(InvalidInput, match="nothing to credit"):
        records.record(generation.id, "trak", PARAMS, INDEX, dict.fromkeys(scores, -1.0), k=5)
    with pytest.raises(InvalidInput, match="finite"):
        records.record(
            generation.id, "trak", PARAMS, INDEX, scores | {run.item_ids()[0]: math.nan}, k=5
        )
    with pytest.raises(InvalidInput, match="method"):
        records.record(generation.id, "TRAK!", PARAMS, INDEX, scores, k=5)
    with pytest.raises(InvalidInput, match="index_hash"):
        records.record(generation.id, "trak", PARAMS, "not-hex", scores, k=5)
    with pytest.raises(InvalidInput, match="JSON"):
        records.record(generation.id, "trak", {"lambda": math.nan}, INDEX, scores, k=5)
    assert records.for_generation(generation.id) == []


def test_credit_lines_survive_erasure_without_identity(ledger: MuseumLedger) -> None:
    artists, run, generation = _setup(ledger)
    records = AttributionRecords(ledger)
    attribution = records.record(generation.id, "tracin", PARAMS, INDEX, _scores(run), k=6)
    lines = records.credit_lines(attribution)
    assert {line.pseudonym for line in lines} == {"Ink Moth", "Salt Heron"}
    assert sum(line.ppm for line in lines) == PPM

    ModelRecords(ledger).erase_artist(artists[0], "asked to leave")
    lines = records.credit_lines(records.get(attribution.id))
    assert {line.pseudonym for line in lines} == {ERASED_DONOR, "Salt Heron"}
    assert sum(line.ppm for line in lines) == PPM
    text = msgspec.json.encode(lines).decode()
    for secret in (*LEGAL_NAMES, *CONTACTS, "Ink Moth"):
        assert secret not in text
    assert all(set(line.as_builtins()) == {"pseudonym", "ppm"} for line in lines)
    ledger.integrity.verify()


def test_an_anonymous_artist_is_credited_by_no_name(ledger: MuseumLedger) -> None:
    artists, run, generation = _setup(ledger)
    artist = ledger.get_artist(artists[1])
    artist.set_anonymous(True)
    ledger.save(artist)
    records = AttributionRecords(ledger)
    attribution = records.record(generation.id, "tracin", PARAMS, INDEX, _scores(run), k=6)
    lines = records.credit_lines(attribution)
    assert {line.pseudonym for line in lines} == {"Ink Moth", ANONYMOUS_DONOR}
    assert "Salt Heron" not in msgspec.json.encode(records.describe(attribution)).decode()

    ModelRecords(ledger).erase_artist(artists[1], "asked to leave")
    lines = records.credit_lines(records.get(attribution.id))
    assert {line.pseudonym for line in lines} == {"Ink Moth", ERASED_DONOR}
