"""Similar failures: the donated failure stages nearest to a stage in the deployed model's eyes,
and how their donors moved on. The tiny model, a few steps, 16×16 stages, the SQLite ledger."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import factories
import pytest
from factories import museum_in_process
from PIL import Image

from collection import donation_request, founding_collection
from generation.service import train_run
from generation.similar.index import FailureIndexStore
from generation.similar.service import SimilarFailures, index_root
from ledger.application import MuseumLedger
from ledger.crypto import MasterKey
from ledger.errors import Conflict, InvalidImage, InvalidInput, NotFound, UnknownVocabulary
from ledger.images import MAX_IMAGE_BYTES
from ledger.runtime import opened_ledger
from ledger.settings import Settings

STEPS = 10
MASTER_KEY = MasterKey.generate_text()


@dataclass
class World:
    ledger: MuseumLedger
    home: Path
    service: SimilarFailures
    donations: list[UUID]  # the founding collection's, in the order they were made
    anonymous: UUID  # a donation by an anonymous artist


def _failure(ledger: MuseumLedger, donation_id: UUID) -> int:
    return next(s.index for s in ledger.get_donation(donation_id).stages if s.role == "failure")


def _world(home: Path) -> Iterator[World]:
    with opened_ledger(Settings(home=home, master_key=MASTER_KEY)) as ledger:
        donations = []
        for draft in founding_collection(n_artists=5, donations_per_artist=1, size=16, seed=3):
            artist_id = ledger.register_artist(draft.artist)
            request = donation_request(artist_id, draft.donations[0])
            consents = tuple(sorted({*request.consents, "exhibit"}))
            donations.append(ledger.donate(replace(request, consents=consents)).donation_id)
        shy = ledger.register_artist(factories.artist("Quiet Heron", anonymous=True))
        anonymous = ledger.donate(
            factories.donation(shy, stages=factories.stages("sketch", "failure", "final"))
        ).donation_id
        train_run(ledger, job_id="similar-run", steps=STEPS)
        yield World(ledger, home, SimilarFailures(ledger, index_root(home)), donations, anonymous)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from _world(tmp_path_factory.mktemp("similar") / "var")


def test_a_copy_of_a_donated_failure_finds_that_failure_first(world: World) -> None:
    ledger = world.ledger
    target = world.donations[1]
    index = _failure(ledger, target)
    image = ledger.stage_image(target, index)
    failure_type = ledger.get_donation(target).failure_type
    before = ledger.recorder.max_notification_id()

    found = world.service.for_image(image, role="failure", failure_type=failure_type, count=3)

    top = found.matches[0]
    assert (UUID(top.donation_id), top.stage_index) == (target, index)
    assert top.similarity > 0.99
    assert top.same_failure_type
    assert [m.rank for m in found.matches] == [1, 2, 3]
    assert all(m.similarity <= top.similarity for m in found.matches)
    # How the donor moved on: the stages after the failure, with the label and its note.
    shown = world.ledger.donation_view(target)
    assert [s.index for s in top.next_stages] == list(range(index + 1, len(shown.stages)))
    assert top.reached_final == (shown.stages[-1].role == "final")
    assert top.failure_note == shown.label.failure_note
    donor = ledger.artist_view(ledger.get_donation(target).artist_id)
    assert top.pseudonym == ("anonymous donor" if donor.anonymous else donor.pseudonym)
    # A read: nothing was recorded.
    assert ledger.recorder.max_notification_id() == before


def test_the_query_type_comes_first_and_the_query_donation_never_appears(world: World) -> None:
    ledger = world.ledger
    query = world.donations[0]
    found = world.service.for_stage(query, _failure(ledger, query), count=16)
    assert found.query.kind == "stage"
    assert found.query.failure_type == ledger.get_donation(query).failure_type
    assert str(query) not in {m.donation_id for m in found.matches}
    tiers = [not m.same_failure_type for m in found.matches]
    assert tiers == sorted(tiers)
    assert sum(m.same_failure_type for m in found.matches) == found.same_failure_type
    # Every failure stage of every other exhibited donation took part, once.
    others = [d for d in [*world.donations, world.anonymous] if d != query]
    failures = sum(1 for d in others for s in ledger.get_donation(d).stages if s.role == "failure")
    assert found.considered == len(found.matches) == failures
    # An anonymous donor is credited as such: never by pseudonym, never by identity.
    anonymous = [m for m in found.matches if m.donation_id == str(world.anonymous)]
    assert [m.pseudonym for m in anonymous] == ["anonymous donor"]
    text = "".join(m.as_builtins().__repr__() for m in found.matches)
    assert "Quiet Heron" not in text
    assert "Ana Lucía Ruiz" not in text


def test_an_asked_emotion_comes_first_within_the_failure_type(world: World) -> None:
    ledger = world.ledger
    wanted = ledger.get_donation(world.anonymous).emotion
    image = ledger.stage_image(world.donations[2], _failure(ledger, world.donations[2]))
    found = world.service.for_image(
        image, role="attempt", failure_type="accident", emotion=wanted, count=16
    )
    keys = [(not m.same_failure_type, m.emotion != wanted) for m in found.matches]
    assert keys == sorted(keys)
    assert found.query.emotion == wanted
    assert found.query.role == "attempt"


def _png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (size, size), 90).save(buffer, "PNG")
    return buffer.getvalue()


def test_bad_input_is_one_clear_refusal_and_records_nothing(world: World) -> None:
    ledger, service = world.ledger, world.service
    query = world.donations[0]
    before = ledger.recorder.max_notification_id()
    with pytest.raises(NotFound, match="no donation"):
        service.for_stage(UUID(int=7), 0)
    with pytest.raises(NotFound, match="has no stage 99"):
        service.for_stage(query, 99)
    for count in (0, 17):
        with pytest.raises(InvalidInput, match="count must be between 1 and 16"):
            service.for_stage(query, 0, count=count)
    with pytest.raises(InvalidImage, match="the uploaded image"):
        service.for_image(b"not an image at all", role="failure", failure_type="colour")
    with pytest.raises(InvalidImage, match="limit is"):
        service.for_image(
            b"\x89PNG" + bytes(MAX_IMAGE_BYTES), role="failure", failure_type="colour"
        )
    with pytest.raises(UnknownVocabulary, match="failure type"):
        service.for_image(_png(16), role="failure", failure_type="clumsy")
    with pytest.raises(UnknownVocabulary, match="stage role"):
        service.for_image(_png(16), role="mistake", failure_type="colour")
    # A query donation without exhibit consent: hidden from others, explained to its artist.
    hidden = world.donations[3]
    ledger.revoke_consent(hidden, "exhibit")
    try:
        after_revoke = ledger.recorder.max_notification_id()
        with pytest.raises(NotFound, match="no donation"):
            service.for_stage(hidden, 0)
        with pytest.raises(Conflict, match="does not hold exhibit consent"):
            service.for_stage(hidden, 0, sees_all=lambda _artist: True)
        assert ledger.recorder.max_notification_id() == after_revoke
    finally:
        ledger.grant_consent(hidden, "exhibit")
    assert after_revoke == before + 1  # the revocation alone


def test_revoked_and_erased_donors_leave_the_answer_and_the_index(tmp_path: Path) -> None:
    for world in _world(tmp_path / "var"):
        ledger, service = world.ledger, world.service
        query, revoked, erased = world.donations[:3]
        image = ledger.stage_image(query, _failure(ledger, query))
        first = service.for_stage(query, _failure(ledger, query), count=16)
        assert {str(revoked), str(erased)} <= {m.donation_id for m in first.matches}
        (folder,) = index_root(world.home).iterdir()

        ledger.revoke_consent(revoked, "exhibit")
        ledger.erase_artist(ledger.get_donation(erased).artist_id, "leaving")
        after = service.for_image(image, role="failure", failure_type="colour", count=16)
        shown = {m.donation_id for m in after.matches}
        assert str(revoked) not in shown
        assert str(erased) not in shown

        def failures(*donations: UUID, ledger: MuseumLedger = ledger) -> int:
            return sum(
                1 for d in donations for s in ledger.get_donation(d).stages if s.role == "failure"
            )

        # An upload has no donation of its own to leave out: the query's failures count.
        assert after.considered == first.considered + failures(query) - failures(revoked, erased)
        kept = FailureIndexStore(folder.parent, folder.name).load()
        assert kept is not None
        assert not {i.split(":")[0] for i in kept.item_ids} & {str(revoked), str(erased)}

        # A new deployed version starts a new index; the old one goes.
        train_run(ledger, job_id="similar-run-2", seed=1, steps=STEPS)
        again = service.for_image(image, role="failure", failure_type="colour")
        assert again.model_version != first.model_version
        (renewed,) = index_root(world.home).iterdir()
        assert renewed != folder
        assert renewed.name.startswith(again.model_version)


def test_the_command_answers_both_ways_and_refuses_bad_input_in_one_line(
    world: World, tmp_path: Path
) -> None:
    ledger = world.ledger
    query = world.donations[0]
    env = {"MUSEUM_MASTER_KEY": MASTER_KEY}
    before = ledger.recorder.max_notification_id()

    def museum(*args: str) -> tuple[int, str, str]:
        done = museum_in_process(world.home, "similar-failures", *args, env=env)
        return done.returncode, done.stdout, done.stderr

    index = _failure(ledger, query)
    code, out, err = museum(str(query), "--stage", str(index), "--count", "2", "--json")
    assert (code, err) == (0, "")
    answer = json.loads(out)
    direct = world.service.for_stage(query, index, count=2)
    assert answer == direct.as_builtins()
    code, out, _ = museum(str(query), "--stage", str(index))
    assert code == 0
    assert "how others moved on" in out
    assert direct.matches[0].pseudonym in out

    upload = tmp_path / "mine.png"
    upload.write_bytes(ledger.stage_image(query, index))
    code, out, _ = museum("--image", str(upload), "--role", "failure", "--failure-type", "colour")
    assert code == 0
    assert "failures like the image" in out

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    refusals = {
        (str(query), "--stage", "0", "--count", "17"): 2,
        (str(query), "--stage", "0", "--image", str(upload)): 2,
        (str(query),): 2,
        ("--image", str(upload), "--role", "failure"): 2,
        ("--image", str(text), "--role", "failure", "--failure-type", "colour"): 2,
        ("--image", str(tmp_path / "gone.png"), "--role", "failure", "--failure-type", "colour"): 7,
        (str(UUID(int=5)), "--stage", "0"): 3,
        ("not-a-uuid", "--stage", "0"): 2,
        (str(query), "--stage", "42"): 3,
    }
    for args, want in refusals.items():
        code, out, err = museum(*args)
        assert code == want, (args, err)
        assert err.startswith("error: "), (args, err)
        assert err.count("\n") == 1, (args, err)
    assert ledger.recorder.max_notification_id() == before
