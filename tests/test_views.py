"""The typed read models: the JSON keys callers have always seen, frozen, picklable, no identity."""

from __future__ import annotations

import pickle
from typing import Any

import factories
import msgspec
import pytest

from api.jobs.results import (
    AttributeJobResult,
    GenerateJobResult,
    TrainJobResult,
    as_result,
    expect,
)
from ledger import compliance_views  # noqa: F401  (registers the compliance views)
from ledger.application import MuseumLedger
from ledger.errors import Conflict
from ledger.model_records import ModelRecords
from ledger.model_views import AttributionRead
from ledger.read_models import views as read_model_views  # noqa: F401  (and the read models')
from ledger.views import ERASED_DONOR, ArtistIdentityRead, View
from royalties import views as royalty_views  # noqa: F401  (registers the royalty views)

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ARTIST_KEYS = [
    "artist_id",
    "pseudonym",
    "anonymous",
    "founding",
    "founding_number",
    "donations",
    "erased",
    "erasure_deadline",
    "erasure_completed",
]
DONATION_KEYS = [
    "donation_id",
    "artist_id",
    "label",
    "tags",
    "stages",
    "consents",
    "withdrawn",
    "erased",
]
STAGE_KEYS = ["index", "role", "created_at", "media_type", "width", "height", "blob_id", "caption"]
LABEL_KEYS = [
    "failure_type",
    "emotion",
    "title",
    "creative_intent",
    "failure_detail",
    "era",
    "social_context",
    "failure_note",
]
ERASURE_KEYS = ["artist_id", "requested_at", "deadline", "key_shredded", "completed", "certificate"]
IDENTITY_FIELDS = {"legal_name", "contact"}


def _all_views(kind: type[View] = View) -> list[type[View]]:
    found: list[type[View]] = []
    for sub in kind.__subclasses__():
        found += [sub, *_all_views(sub)]
    return found


@sqlite_only
def test_views_carry_the_keys_the_dicts_had_in_their_order(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(factories.artist())
    donation_id = ledger.donate(factories.donation(artist_id)).donation_id
    artist = ledger.artist_view(artist_id).as_builtins()
    assert list(artist) == ARTIST_KEYS
    shown = ledger.donation_view(donation_id).as_builtins()
    assert list(shown) == DONATION_KEYS
    assert list(shown["label"]) == LABEL_KEYS
    assert all(list(stage) == STAGE_KEYS for stage in shown["stages"])
    (change, *_) = [c.as_builtins() for c in ledger.consent_trail(donation_id)]
    assert list(change) == ["purpose", "change", "at", "version"]
    # The same keys through the JSON encoder, which is what `--json` prints.
    assert list(msgspec.json.decode(msgspec.json.encode(ledger.artist_view(artist_id)))) == (
        ARTIST_KEYS
    )

    # No model learned from the artist: the erasure completes at once, with nothing to wait for.
    status = ModelRecords(ledger).erase_artist(artist_id, "leaving").as_builtins()
    assert list(status) == ERASURE_KEYS
    assert status["completed"] is True
    assert list(ledger.erasure_status(artist_id).as_builtins()) == ERASURE_KEYS
    erased = ledger.donation_view(donation_id).as_builtins()
    assert erased["label"] == {"failure_type": "perspective", "emotion": "frustration"}
    assert ledger.artist_view(artist_id).pseudonym == ERASED_DONOR


@sqlite_only
def test_views_are_frozen_and_pickle(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(factories.artist())
    view = ledger.artist_view(artist_id)
    with pytest.raises(AttributeError):
        view.pseudonym = "someone else"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(view)) == view
    identity = ledger.identity(artist_id)
    assert isinstance(identity, ArtistIdentityRead)
    assert pickle.loads(pickle.dumps(identity)) == identity


def test_identity_appears_only_in_the_identity_view() -> None:
    views = _all_views()
    assert len(views) > 20, "the view modules were not all imported"
    for kind in views:
        names = {field.name for field in msgspec.structs.fields(kind)}
        if kind is ArtistIdentityRead:
            assert names == IDENTITY_FIELDS
        else:
            assert not names & IDENTITY_FIELDS, kind.__name__


TRAIN: dict[str, Any] = {
    "job": "train",
    "job_id": "j1",
    "run_id": "r1",
    "state": "completed",
    "final_loss": 0.25,
    "preset": "tiny",
    "seed": 0,
    "shards": 1,
    "steps": 20,
    "items": 9,
    "deployed": True,
    "tries": 1,
}


def test_job_results_keep_their_keys_and_read_old_dicts() -> None:
    typed = as_result(TRAIN)
    assert isinstance(typed, TrainJobResult)
    # An old worker's dict reads back; keys added since come last, with their defaults.
    added = {"feedback_notes": 0, "feedback_donations": 0, "variant": "stage"}
    assert typed.as_builtins() == TRAIN | added
    assert list(typed.as_builtins()) == [*TRAIN, *added]
    assert as_result(typed) is typed
    assert pickle.loads(pickle.dumps(typed)) == typed
    assert as_result({"job": "unknown"}) is None
    assert as_result("not a result") is None
    with pytest.raises(msgspec.ValidationError):
        as_result(TRAIN | {"items": "nine"})
    generate_keys = [f.name for f in msgspec.structs.fields(GenerateJobResult)]
    assert generate_keys[:4] == ["job", "job_id", "generation_id", "state"]
    attribute_keys = [f.name for f in msgspec.structs.fields(AttributeJobResult)]
    assert attribute_keys[:4] == ["job", "job_id", "state", "attribution_id"]


def test_an_attribute_result_declares_exactly_the_attribution_views_fields() -> None:
    """The fields are written out twice (msgspec puts a base's fields first, and the job keys
    come first); this keeps the two lists the same, types and defaults included."""
    result_fields = msgspec.structs.fields(AttributeJobResult)
    assert [f.name for f in result_fields[:3]] == ["job", "job_id", "state"]
    assert result_fields[3:] == msgspec.structs.fields(AttributionRead)


def test_a_job_id_of_another_kind_of_job_is_a_conflict() -> None:
    typed = as_result(TRAIN)
    assert typed is not None
    assert expect(typed, TrainJobResult, "j1") is typed
    with pytest.raises(Conflict, match="job j1 is a train job, not a generate job"):
        expect(typed, GenerateJobResult, "j1")
