"""The demo and benchmark collections: deterministic, well-formed, and with styles that differ."""

from __future__ import annotations

import io
import itertools
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import numpy as np
import pytest
from PIL import Image

from collection import (
    DIGIT_EMOTIONS,
    ArtistDraft,
    DonationDraft,
    digits_collection,
    donation_request,
    founding_collection,
)
from ledger.schemas import DonationCreate
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole

SLUG = re.compile(r"^[a-z0-9-]{1,32}$")


@pytest.fixture(scope="module")
def collection() -> list[ArtistDraft]:
    return founding_collection()


@pytest.fixture(scope="module")
def two_digits() -> list[ArtistDraft]:
    return digits_collection(classes=(0, 1), per_artist=20, size=16, seed=0)


def _donations(artists: list[ArtistDraft]) -> list[DonationDraft]:
    return [donation for artist in artists for donation in artist.donations]


def _fingerprint(artists: list[ArtistDraft]) -> list[bytes]:
    return [stage.image for donation in _donations(artists) for stage in donation.stages]


def _pixels(png: bytes, mode: str, side: int) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as img:
        small = img.convert(mode).resize((side, side), Image.Resampling.BOX)
        return np.asarray(small, dtype=np.float64).ravel() / 255.0


# ------------------------------------------------------------------------------------------------
# Founding collection
# ------------------------------------------------------------------------------------------------


def test_defaults_give_the_promised_shape(collection: list[ArtistDraft]) -> None:
    assert len(collection) == 36
    assert all(len(artist.donations) == 2 for artist in collection)
    assert all(
        donation.style == artist.style for artist in collection for donation in artist.donations
    )


def test_same_seed_gives_identical_bytes(collection: list[ArtistDraft]) -> None:
    again = founding_collection()
    assert again == collection
    assert _fingerprint(again) == _fingerprint(collection)


def test_different_seed_gives_a_different_collection(collection: list[ArtistDraft]) -> None:
    other = founding_collection(seed=1)
    assert not set(_fingerprint(other)) & set(_fingerprint(collection))
    assert [a.artist.pseudonym for a in other] != [a.artist.pseudonym for a in collection]


def test_every_image_is_a_png_of_the_requested_size(collection: list[ArtistDraft]) -> None:
    for donation in _donations(collection):
        for stage in donation.stages:
            with Image.open(io.BytesIO(stage.image)) as img:
                assert img.format == "PNG"
                assert img.size == (32, 32)
                img.load()
    small = founding_collection(n_artists=3, donations_per_artist=1, size=20, seed=5)
    for donation in _donations(small):
        for stage in donation.stages:
            with Image.open(io.BytesIO(stage.image)) as img:
                assert img.size == (20, 20)


def test_roles_follow_a_plausible_process(collection: list[ArtistDraft]) -> None:
    endings = set()
    for donation in _donations(collection):
        roles = [stage.role for stage in donation.stages]
        assert 3 <= len(roles) <= 6
        assert roles[0] == StageRole.SKETCH
        assert roles.count(StageRole.SKETCH) == 1
        assert StageRole.FAILURE in roles
        endings.add(roles[-1])
        if roles[-1] == StageRole.FINAL:
            middle = roles[1:-1]
            if StageRole.REVISION in middle:
                assert middle.index(StageRole.REVISION) == len(middle) - 1
                middle = middle[:-1]
        else:
            assert roles[-1] == StageRole.FAILURE, "an abandoned work ends on a failure"
            middle = roles[1:-1]
        assert set(middle) <= {StageRole.ATTEMPT, StageRole.FAILURE}
    assert endings == {StageRole.FINAL, StageRole.FAILURE}, "both finished and abandoned works"


def test_stage_times_are_utc_increasing_and_plausible(collection: list[ArtistDraft]) -> None:
    low, high = datetime(2019, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    for donation in _donations(collection):
        times = [stage.created_at for stage in donation.stages]
        for when in times:
            assert when.tzinfo is not None
            assert when.utcoffset() == timedelta(0)
            assert low <= when < high
        assert all(a < b for a, b in itertools.pairwise(times))


def test_no_two_stages_of_a_donation_share_bytes(collection: list[ArtistDraft]) -> None:
    for donation in _donations(collection):
        images = [stage.image for stage in donation.stages]
        assert len(set(images)) == len(images)


def test_controlled_values_come_from_the_vocabularies(collection: list[ArtistDraft]) -> None:
    failure_types = {member.value for member in FailureType}
    emotions = {member.value for member in Emotion}
    purposes = {member.value for member in Purpose}
    roles = {member.value for member in StageRole}
    for donation in _donations(collection):
        assert donation.label.failure_type in failure_types
        assert donation.label.emotion in emotions
        assert all(stage.role in roles for stage in donation.stages)
        assert set(donation.consents) <= purposes
        assert Purpose.EXHIBIT in donation.consents
        assert len(set(donation.consents)) == len(donation.consents)
        assert donation.digit is None


def test_consents_are_mixed_like_real_donors(collection: list[ArtistDraft]) -> None:
    grants = [set(donation.consents) for donation in _donations(collection)]
    assert any(grant == {"exhibit"} for grant in grants)
    assert sum({"exhibit", "train"} <= grant for grant in grants) > len(grants) / 2
    assert sum("commercial" in grant for grant in grants) >= len(grants) / 4
    assert any("research" in grant for grant in grants)


def test_labels_are_filled_and_varied(collection: list[ArtistDraft]) -> None:
    donations = _donations(collection)
    for donation in donations:
        label = donation.label
        texts = [label.title, label.creative_intent, label.failure_detail, label.era]
        texts += [label.social_context, label.failure_note]
        assert all(text.strip() and "{" not in text for text in texts)
        assert all(stage.caption.strip() and "{" not in stage.caption for stage in donation.stages)
    assert len({d.label.title for d in donations}) > len(donations) * 0.7
    assert len({d.label.creative_intent for d in donations}) > len(donations) / 2
    assert len({d.label.failure_type for d in donations}) >= 6
    assert len({d.label.emotion for d in donations}) >= 6


def test_tags_are_slugs(collection: list[ArtistDraft]) -> None:
    for donation in _donations(collection):
        tags = donation.tags
        assert tags.culture
        assert tags.region
        assert tags.genre
        for slug in (*tags.culture, *tags.region, *tags.genre):
            assert SLUG.match(slug), slug


def test_identities_are_unique_and_some_donors_anonymous(collection: list[ArtistDraft]) -> None:
    artists = [draft.artist for draft in collection]
    assert len({a.pseudonym for a in artists}) == len(artists)
    assert len({a.contact for a in artists}) == len(artists)
    assert all(re.fullmatch(r"[a-z0-9.]+@example\.org", a.contact) for a in artists)
    assert all(len(a.legal_name.split()) >= 2 for a in artists)
    share = sum(a.anonymous for a in artists) / len(artists)
    assert 0.15 <= share <= 0.35


def test_donation_request_attests_and_keeps_the_draft(collection: list[ArtistDraft]) -> None:
    artist_id = uuid4()
    draft = collection[0].donations[0]
    request = donation_request(artist_id, draft)
    assert isinstance(request, DonationCreate)
    assert request.artist_id == artist_id
    assert request.attestation is not None
    assert request.attestation.affirmed
    assert request.stages == draft.stages
    assert request.label == draft.label
    assert request.tags == draft.tags
    assert request.consents == draft.consents


def test_artist_styles_are_recognisable() -> None:
    """Leave-one-out nearest centroid on 8×8 downsampled finals: a real test that styles differ,
    and that they survive in greyscale too."""
    artists = founding_collection(n_artists=12, donations_per_artist=4, seed=3)
    chance = 1 / len(artists)
    for mode, floor in (("RGB", 0.75), ("L", 0.5)):
        features, owners = [], []
        for owner, artist in enumerate(artists):
            for donation in artist.donations:
                if donation.stages[-1].role == StageRole.FINAL:
                    features.append(_pixels(donation.stages[-1].image, mode, 8))
                    owners.append(owner)
        x, y = np.array(features), np.array(owners)
        hits = trials = 0
        for k in range(len(y)):
            rest = np.arange(len(y)) != k
            if not np.any(rest & (y == y[k])):
                continue
            candidates = [o for o in range(len(artists)) if np.any(rest & (y == o))]
            centroids = np.array([x[rest & (y == o)].mean(axis=0) for o in candidates])
            guess = candidates[int(np.argmin(((centroids - x[k]) ** 2).sum(axis=1)))]
            hits += guess == y[k]
            trials += 1
        assert trials >= 30
        assert hits / trials >= max(floor, 5 * chance), (mode, hits / trials)


def test_failures_look_different_from_the_final(collection: list[ArtistDraft]) -> None:
    """The defect must be visible: failures sit further from the final than the revision does."""
    gaps = []
    for donation in _donations(collection):
        roles = [stage.role for stage in donation.stages]
        if roles[-1] != StageRole.FINAL:
            continue
        final = _pixels(donation.stages[-1].image, "RGB", 32)
        for stage in donation.stages[:-1]:
            if stage.role == StageRole.FAILURE:
                gaps.append(np.abs(_pixels(stage.image, "RGB", 32) - final).mean())
    assert np.median(gaps) > 0.03


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        founding_collection(seed=-1)
    with pytest.raises(ValueError, match="size"):
        founding_collection(size=4)


def test_module_does_not_import_torch() -> None:
    code = "import sys, collection; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ------------------------------------------------------------------------------------------------
# Digits collection
# ------------------------------------------------------------------------------------------------


def test_digits_filter_sizes_and_labels(two_digits: list[ArtistDraft]) -> None:
    from sklearn.datasets import load_digits

    data = load_digits()
    donations = _donations(two_digits)
    assert len(donations) == int(np.sum(np.isin(data.target, (0, 1))))
    assert {d.digit for d in donations} == {0, 1}
    assert all(len(artist.donations) <= 20 for artist in two_digits)
    assert len({a.artist.pseudonym for a in two_digits}) == len(two_digits)
    for artist in two_digits:
        assert len({d.digit for d in artist.donations}) == 1, "one class per digit artist"
    for donation in donations:
        assert donation.digit is not None
        assert [s.role for s in donation.stages] == [StageRole.FINAL]
        assert donation.label.failure_type == FailureType.OTHER
        assert donation.label.emotion == DIGIT_EMOTIONS[donation.digit]
        assert str(donation.digit) in donation.label.creative_intent
        assert donation.consents == ("exhibit", "train", "research")
        assert donation.stages[0].created_at.tzinfo is not None
        with Image.open(io.BytesIO(donation.stages[0].image)) as img:
            assert img.format == "PNG"
            assert img.mode == "L"
            assert img.size == (16, 16)
    assert DIGIT_EMOTIONS[0] != DIGIT_EMOTIONS[1]
    assert set(DIGIT_EMOTIONS) == {member.value for member in Emotion}


def test_digits_are_the_real_scans(two_digits: list[ArtistDraft]) -> None:
    from sklearn.datasets import load_digits

    data = load_digits()
    originals = {np.rint(img * 255 / 16).astype(np.uint8).tobytes() for img in data.images}
    for donation in _donations(two_digits)[:50]:
        with Image.open(io.BytesIO(donation.stages[0].image)) as img:
            pixels = np.asarray(img)
        assert pixels[::2, ::2].tobytes() in originals


def test_digits_are_deterministic_and_seeded(two_digits: list[ArtistDraft]) -> None:
    assert digits_collection(classes=(0, 1)) == two_digits
    reshuffled = digits_collection(classes=(0, 1), seed=1)
    assert _fingerprint(reshuffled) != _fingerprint(two_digits)
    assert sorted(_fingerprint(reshuffled)) == sorted(_fingerprint(two_digits))


def test_digits_all_classes_and_bad_classes() -> None:
    everything = digits_collection(per_artist=50, size=8)
    assert {d.digit for d in _donations(everything)} == set(range(10))
    assert len(_donations(everything)) == 1797
    with pytest.raises(ValueError, match=r"0\.\.9"):
        digits_collection(classes=(3, 10))
