"""Service behaviour of `MuseumLedger` on SQLite and PostgreSQL: artists, donations, consent, feedback.

Every refusal is checked twice: the right domain error, and nothing stored (no event, no blob,
no orphaned data key).
"""

from __future__ import annotations

import io
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
import sqlalchemy as sa
from factories import T0, artist, donation, label, png, stages
from PIL import Image

from ledger import images as ledger_images
from ledger.application import MuseumLedger
from ledger.domain import FoundingRoll
from ledger.domain.artist import FOUNDING_SEATS
from ledger.errors import (
    Conflict,
    ErasedError,
    IntegrityViolation,
    InvalidImage,
    InvalidInput,
    KeyShredded,
    MissingAttestation,
    NotFound,
    ProofError,
    UnknownVocabulary,
)
from ledger.receipt import verify_receipt
from ledger.schemas import DonationCreate, DonationTags, RightsAttestation, StageCreate
from ledger.settings import Settings
from ledger.tables import artist_keys

# --- helpers -------------------------------------------------------------------------------------


def noisy_png(seed: int, size: int = 48) -> bytes:
    """A PNG that does not compress well, so it is clearly bigger than the factory images."""
    rng = random.Random(seed)
    image = Image.frombytes(
        "L", (size, size), bytes(rng.randrange(256) for _ in range(size * size))
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def blob_files(ledger: MuseumLedger) -> list[str]:
    root = ledger.blobs.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def key_count(ledger: MuseumLedger) -> int:
    with ledger.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(artist_keys)).scalar_one())


def stored(ledger: MuseumLedger) -> tuple[Any, list[str], int]:
    """Everything a refused request must leave untouched."""
    return ledger.recorder.max_notification_id(), blob_files(ledger), key_count(ledger)


def now() -> datetime:
    """The current time, with a pause either side so event timestamps fall strictly around it."""
    time.sleep(0.003)
    moment = datetime.now(UTC)
    time.sleep(0.003)
    return moment


def register_and_donate(ledger: MuseumLedger, **changes: Any) -> tuple[UUID, UUID]:
    artist_id = ledger.register_artist(artist())
    result = ledger.donate(donation(artist_id, **changes))
    return artist_id, result.donation_id


# --- founding roll -------------------------------------------------------------------------------


def test_founding_roll_seats_run_out() -> None:
    roll = FoundingRoll(seats=2)
    first, second, third = uuid4(), uuid4(), uuid4()
    assert not roll.full
    assert roll.enrol(first) == 1
    assert roll.enrol(second) == 2
    assert roll.full
    assert roll.enrol(third) is None
    assert roll.members == [first, second]
    # opened + two enrolments; the refused third seat records nothing
    assert len(roll.collect_events()) == 3


def test_founding_numbers_grant_and_double_grant(ledger: MuseumLedger) -> None:
    assert FOUNDING_SEATS == 100
    ids = [ledger.register_artist(artist(f"Founder {n}")) for n in range(FOUNDING_SEATS + 2)]
    views = [ledger.artist_view(i) for i in (ids[0], ids[1], ids[2], ids[99])]
    assert [v.founding_number for v in views] == [1, 2, 3, 100]
    assert all(v.founding for v in views)

    late, later = ids[100], ids[101]
    assert ledger.artist_view(late).founding_number is None
    assert ledger.artist_view(late).founding is False

    ledger.grant_founding(late, curator="Curator Okonkwo", note="lent us the first kiln")
    view = ledger.artist_view(late)
    assert view.founding is True
    assert view.founding_number is None
    assert ledger.get_artist(late).founding_granted_by == "Curator Okonkwo"

    before = stored(ledger)
    with pytest.raises(Conflict):
        ledger.grant_founding(late, curator="Curator Okonkwo", note="again")
    with pytest.raises(Conflict):  # a numbered founder is founding already
        ledger.grant_founding(ids[0], curator="Curator Okonkwo", note="")
    with pytest.raises(InvalidInput):
        ledger.grant_founding(later, curator="   ", note="")
    with pytest.raises(InvalidInput, match="curator is not valid text"):
        ledger.grant_founding(later, curator="Curator " + chr(0xD800), note="")
    with pytest.raises(InvalidInput, match="curator's note holds a control character"):
        ledger.grant_founding(later, curator="Curator Okonkwo", note="kiln\x00")
    assert stored(ledger) == before
    assert ledger.artist_view(later).founding is False


# --- artists -------------------------------------------------------------------------------------


def test_register_artist_round_trip(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist("  Ink Moth ", anonymous=True))
    view = ledger.artist_view(artist_id)
    assert view.pseudonym == "Ink Moth"
    assert view.anonymous is True
    assert view.erased is False
    assert ledger.identity(artist_id).as_builtins() == {
        "legal_name": "Ana Lucía Ruiz",
        "contact": "ana.ruiz@example.org",
    }
    assert ledger.artist_ids() == [artist_id]
    with pytest.raises(NotFound):
        ledger.artist_view(uuid4())


def test_pseudonym_is_unique_ignoring_case_and_spacing(ledger: MuseumLedger) -> None:
    ledger.register_artist(artist("Ink Moth"))
    before = stored(ledger)
    for clash in ["Ink Moth", "ink moth", "INK MOTH", "  ink    MOTH  ", "Ink\tMoth"]:
        with pytest.raises(Conflict):
            ledger.register_artist(
                artist(clash, legal_name="Someone Else", contact="else@example.org")
            )
    assert stored(ledger) == before
    other = ledger.register_artist(artist("Ink Moths"))
    assert ledger.artist_view(other).pseudonym == "Ink Moths"


def test_bad_registration_stores_nothing(ledger: MuseumLedger) -> None:
    ledger.register_artist(artist("Someone First"))
    before = stored(ledger)
    for changes in [
        {"pseudonym": "   "},
        {"pseudonym": "x" * 65},
        {"legal_name": ""},
        {"legal_name": "n" * 201},
        {"contact": "  "},
        {"contact": "c" * 321},
        {"pseudonym": "Ink " + chr(0xD800)},  # a lone surrogate: not text UTF-8 can store
        {"legal_name": "Ana" + chr(0xDFFF)},
        {"contact": "ana\x00@example.org"},
        {"pseudonym": None},
    ]:
        with pytest.raises(InvalidInput):
            ledger.register_artist(artist(**changes))
        assert stored(ledger) == before, changes


# --- donations -----------------------------------------------------------------------------------


def test_donation_receipt_verifies_offline(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist())
    result = ledger.donate(donation(artist_id))
    receipt = result.receipt
    verify_receipt(receipt, ledger.integrity.public_key_hex)
    assert receipt.event.originator_id == result.donation_id.hex
    assert receipt.event.topic.endswith("Donation.DonationMade")
    assert ledger.artist_view(artist_id).donations == [str(result.donation_id)]

    wrong_key = bytes(32).hex()
    with pytest.raises(ProofError):
        verify_receipt(receipt, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    with pytest.raises(ProofError):
        verify_receipt(receipt, wrong_key)
    plain = receipt.as_builtins()
    forged = {**plain, "event": {**plain["event"], "originator_version": 2}}
    with pytest.raises(ProofError):
        verify_receipt(forged, ledger.integrity.public_key_hex)


def test_donation_view_and_images_round_trip(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist())
    originals = (
        StageCreate("sketch", png(3), "charcoal, first go", T0),
        StageCreate("failure", png(90, fmt="JPEG"), "the hands are wrong", T0 + timedelta(hours=5)),
        StageCreate("revision", png(150, fmt="WEBP"), "", T0 + timedelta(days=2)),
        StageCreate("final", noisy_png(1), "done, more or less", T0 + timedelta(days=9)),
    )
    result = ledger.donate(donation(artist_id, stages=originals, consents=("exhibit", "research")))
    view = ledger.donation_view(result.donation_id)

    expected_label = label()
    assert view.label.as_builtins() == {
        "failure_type": "perspective",
        "emotion": "frustration",
        "title": expected_label.title,
        "creative_intent": expected_label.creative_intent,
        "failure_detail": expected_label.failure_detail,
        "era": expected_label.era,
        "social_context": expected_label.social_context,
        "failure_note": expected_label.failure_note,
    }
    assert view.consents == ["exhibit", "research"]
    assert view.tags == {
        "culture": ["andalusian"],
        "region": ["southern-europe"],
        "genre": ["seascape"],
    }
    assert view.erased is False
    assert view.withdrawn is False
    assert [s.media_type for s in view.stages] == [
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/png",
    ]
    assert [s.caption for s in view.stages] == [s.caption for s in originals]
    assert [s.role for s in view.stages] == ["sketch", "failure", "revision", "final"]
    assert [(s.width, s.height) for s in view.stages] == [(16, 16)] * 3 + [(48, 48)]
    assert [datetime.fromisoformat(s.created_at) for s in view.stages] == [
        s.created_at for s in originals
    ]

    for index, original in enumerate(originals):
        assert ledger.stage_image(result.donation_id, index) == original.image
    # the blob store holds ciphertext only
    for stage in view.stages:
        sealed = ledger.blobs.get(stage.blob_id)
        assert all(original.image not in sealed for original in originals)
    with pytest.raises(NotFound):
        ledger.stage_image(result.donation_id, 4)
    with pytest.raises(NotFound):
        ledger.stage_image(result.donation_id, -1)
    with pytest.raises(NotFound):
        ledger.donation_view(uuid4())


def test_stage_times_in_other_zones_are_normalised(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist())
    tokyo = timezone(timedelta(hours=9))
    request = donation(
        artist_id,
        stages=(
            StageCreate(
                "sketch", png(1), "a", datetime(2024, 3, 1, 17, 0, tzinfo=tokyo)
            ),  # 08:00 UTC
            StageCreate("final", png(2), "b", datetime(2024, 3, 1, 9, 0, tzinfo=UTC)),
        ),
    )
    view = ledger.donation_view(ledger.donate(request).donation_id)
    assert [s.created_at for s in view.stages] == [
        "2024-03-01T08:00:00+00:00",
        "2024-03-01T09:00:00+00:00",
    ]


# --- refused donations: right error, nothing stored ----------------------------------------------

Builder = Callable[[UUID, pytest.MonkeyPatch], DonationCreate]


def _stages_with(index: int, **changes: Any) -> tuple[StageCreate, ...]:
    series = list(stages())
    series[index] = replace(series[index], **changes)
    return tuple(series)


def _big_last_stage() -> tuple[StageCreate, ...]:
    return _stages_with(2, image=noisy_png(7))


def _too_many_bytes(aid: UUID, mp: pytest.MonkeyPatch) -> DonationCreate:
    series = _big_last_stage()
    mp.setattr(ledger_images, "MAX_IMAGE_BYTES", len(series[2].image) - 1)
    return donation(aid, stages=series)


def _too_many_pixels(aid: UUID, mp: pytest.MonkeyPatch) -> DonationCreate:
    mp.setattr(ledger_images, "MAX_IMAGE_PIXELS", 48 * 48 - 1)
    return donation(aid, stages=_big_last_stage())


def _truncated_png() -> bytes:
    data = noisy_png(3)
    return data[: len(data) * 2 // 3]


def _cut(data: bytes, end: int) -> bytes:
    return data[:end]


def _gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 99).save(buffer, "GIF")
    return buffer.getvalue()


BAD_DONATIONS: dict[str, tuple[Builder, type[Exception]]] = {
    "no-attestation": (lambda a, _: donation(a, attestation=None), MissingAttestation),
    "attestation-not-affirmed": (
        lambda a, _: donation(a, attestation=RightsAttestation(affirmed=False)),
        MissingAttestation,
    ),
    "no-stages": (lambda a, _: donation(a, stages=()), InvalidInput),
    "too-many-stages": (
        lambda a, _: donation(
            a,
            stages=tuple(
                StageCreate("attempt", png(i), "", T0 + timedelta(hours=i)) for i in range(25)
            ),
        ),
        InvalidInput,
    ),
    "stages-out-of-order": (
        lambda a, _: donation(a, stages=_stages_with(1, created_at=T0 - timedelta(minutes=1))),
        InvalidInput,
    ),
    "stages-same-time": (
        lambda a, _: donation(a, stages=_stages_with(2, created_at=T0 + timedelta(days=1))),
        InvalidInput,
    ),
    "two-finals": (
        lambda a, _: donation(a, stages=stages("sketch", "final", "final")),
        InvalidInput,
    ),
    "final-not-last": (
        lambda a, _: donation(a, stages=stages("sketch", "final", "failure")),
        InvalidInput,
    ),
    "unknown-role": (
        lambda a, _: donation(a, stages=stages("sketch", "doodle", "final")),
        UnknownVocabulary,
    ),
    "unknown-failure-type": (
        lambda a, _: donation(a, label=label(failure_type="boredom")),
        UnknownVocabulary,
    ),
    "unknown-emotion": (lambda a, _: donation(a, label=label(emotion="ennui")), UnknownVocabulary),
    "unknown-purpose": (
        lambda a, _: donation(a, consents=("exhibit", "resale")),
        UnknownVocabulary,
    ),
    "purpose-twice": (lambda a, _: donation(a, consents=("exhibit", "exhibit")), InvalidInput),
    "naive-datetime": (
        lambda a, _: donation(a, stages=_stages_with(1, created_at=datetime(2024, 3, 2, 9, 0))),
        InvalidInput,
    ),
    "image-random-bytes": (
        lambda a, _: donation(a, stages=_stages_with(2, image=random.Random(5).randbytes(600))),
        InvalidImage,
    ),
    "image-truncated-png": (
        lambda a, _: donation(a, stages=_stages_with(2, image=_truncated_png())),
        InvalidImage,
    ),
    "image-png-last-byte-cut": (
        lambda a, _: donation(a, stages=_stages_with(2, image=_cut(noisy_png(3), -1))),
        InvalidImage,
    ),
    "image-png-end-chunk-missing": (
        lambda a, _: donation(a, stages=_stages_with(2, image=_cut(noisy_png(3), -12))),
        InvalidImage,
    ),
    "image-png-bytes-after-end": (
        lambda a, _: donation(a, stages=_stages_with(2, image=noisy_png(3) + b"zip")),
        InvalidImage,
    ),
    "image-jpeg-end-marker-cut": (
        lambda a, _: donation(a, stages=_stages_with(1, image=_cut(png(90, fmt="JPEG"), -2))),
        InvalidImage,
    ),
    "image-webp-cut": (
        lambda a, _: donation(a, stages=_stages_with(0, image=_cut(png(91, fmt="WEBP"), -1))),
        InvalidImage,
    ),
    "image-empty": (lambda a, _: donation(a, stages=_stages_with(2, image=b"")), InvalidImage),
    "image-gif": (lambda a, _: donation(a, stages=_stages_with(2, image=_gif())), InvalidImage),
    "image-too-many-bytes": (_too_many_bytes, InvalidImage),
    "image-too-many-pixels": (_too_many_pixels, InvalidImage),
    "duplicate-stage-image": (
        lambda a, _: donation(a, stages=_stages_with(2, image=stages()[0].image)),
        InvalidInput,
    ),
    "tag-uppercase": (
        lambda a, _: donation(a, tags=DonationTags(culture=("Andalusian",))),
        InvalidInput,
    ),
    "tag-space": (
        lambda a, _: donation(a, tags=DonationTags(region=("south europe",))),
        InvalidInput,
    ),
    "tag-leading-dash": (
        lambda a, _: donation(a, tags=DonationTags(genre=("-seascape",))),
        InvalidInput,
    ),
    "tag-trailing-newline": (
        lambda a, _: donation(a, tags=DonationTags(culture=("andalusian\n",))),
        InvalidInput,
    ),
    "tag-cyrillic-lookalike": (
        lambda a, _: donation(a, tags=DonationTags(genre=("s\u0435ascape",))),
        InvalidInput,
    ),
    "caption-lone-surrogate": (
        lambda a, _: donation(a, stages=_stages_with(1, caption="half " + chr(0xD800))),
        InvalidInput,
    ),
    "caption-control-character": (
        lambda a, _: donation(a, stages=_stages_with(1, caption="bell\x07")),
        InvalidInput,
    ),
    "caption-not-text": (
        lambda a, _: donation(a, stages=_stages_with(1, caption=None)),
        InvalidInput,
    ),
    "title-lone-surrogate": (
        lambda a, _: donation(a, label=label(title="Harbour " + chr(0xDFFF))),
        InvalidInput,
    ),
    "statement-lone-surrogate": (
        lambda a, _: donation(
            a, attestation=RightsAttestation(affirmed=True, statement="I made it " + chr(0xDC00))
        ),
        InvalidInput,
    ),
    "tag-too-long": (lambda a, _: donation(a, tags=DonationTags(genre=("a" * 33,))), InvalidInput),
    "too-many-tags": (
        lambda a, _: donation(a, tags=DonationTags(culture=tuple(f"c{i}" for i in range(9)))),
        InvalidInput,
    ),
    "no-title": (lambda a, _: donation(a, label=label(title="  ")), InvalidInput),
    "no-failure-note": (lambda a, _: donation(a, label=label(failure_note="")), InvalidInput),
    "intent-too-long": (
        lambda a, _: donation(a, label=label(creative_intent="x" * 2001)),
        InvalidInput,
    ),
    "caption-too-long": (
        lambda a, _: donation(a, stages=_stages_with(2, caption="c" * 1001)),
        InvalidInput,
    ),
    "unknown-artist": (lambda _a, _: donation(uuid4()), NotFound),
}


def test_bad_donations_raise_and_store_nothing(ledger: MuseumLedger) -> None:
    """One ledger per backend for all cases (a fresh PostgreSQL database per case is slow)."""
    artist_id, _ = register_and_donate(ledger)  # the blob store is not empty to begin with
    before = stored(ledger)
    assert before[1], "the first donation stored its blobs"
    wrong: list[str] = []
    for case, (build, expected) in BAD_DONATIONS.items():
        with pytest.MonkeyPatch.context() as monkeypatch:
            request = build(artist_id, monkeypatch)
            try:
                ledger.donate(request)
            except (InvalidInput, NotFound) as exc:
                if type(exc) is not expected:
                    wrong.append(f"{case}: expected {expected.__name__}, got {exc!r}")
            else:
                wrong.append(f"{case}: accepted")
        if stored(ledger) != before:
            wrong.append(f"{case}: stored something")
            before = stored(ledger)
    assert not wrong, "\n".join(wrong)
    assert len(ledger.get_artist(artist_id).donation_ids) == 1
    ledger.integrity.verify()


def test_image_limits_are_inclusive(ledger: MuseumLedger, monkeypatch: pytest.MonkeyPatch) -> None:
    artist_id = ledger.register_artist(artist())
    series = _big_last_stage()
    monkeypatch.setattr(ledger_images, "MAX_IMAGE_BYTES", len(series[2].image))
    monkeypatch.setattr(ledger_images, "MAX_IMAGE_PIXELS", 48 * 48)
    result = ledger.donate(donation(artist_id, stages=series))
    assert ledger.stage_image(result.donation_id, 2) == series[2].image


def test_same_image_in_two_donations_is_allowed(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist())
    first = ledger.donate(donation(artist_id))
    second = ledger.donate(donation(artist_id))
    for index in range(3):
        assert ledger.stage_image(first.donation_id, index) == ledger.stage_image(
            second.donation_id, index
        )
    assert len(blob_files(ledger)) == 6  # sealed with fresh nonces: distinct ciphertexts


def _block_next_leaves(ledger: MuseumLedger, settings: Settings, count: int = 40) -> list[int]:
    """Occupy the leaf rows the next events would take, so the next save fails inside the DB."""
    first = int(ledger.recorder.max_notification_id() or 0) + 1
    ids = list(range(first, first + count))
    rows = [(nid, b"\x00" * 32, b"\x00" * 32) for nid in ids]
    if settings.embedded:
        with sqlite3.connect(settings.sqlite_path) as db:
            db.executemany(
                "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac) VALUES (?, ?, ?)", rows
            )
        db.close()
    else:
        with psycopg.connect(str(settings.database_url)) as db:
            table = ledger.recorder.events_table_name
            row = db.execute(
                f"SELECT last_value, is_called FROM {table}_notification_id_seq"
            ).fetchone()
            assert row is not None
            start = int(row[0]) + 1 if row[1] else int(row[0])
            ids = list(range(start, start + count))
            rows = [(nid, b"\x00" * 32, b"\x00" * 32) for nid in ids]
            db.cursor().executemany(
                "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac) VALUES (%s, %s, %s)",
                rows,
            )
    return ids


def _unblock(ledger: MuseumLedger, settings: Settings, ids: list[int]) -> None:
    if settings.embedded:
        with sqlite3.connect(settings.sqlite_path) as db:
            db.executemany(
                "DELETE FROM ledger_leaves WHERE notification_id = ?", [(i,) for i in ids]
            )
        db.close()
    else:
        with psycopg.connect(str(settings.database_url)) as db:
            db.execute("DELETE FROM ledger_leaves WHERE notification_id = ANY(%s)", (ids,))


def test_failed_save_leaves_no_blobs(ledger: MuseumLedger, backend: Settings) -> None:
    artist_id, _ = register_and_donate(ledger)
    blocked = _block_next_leaves(ledger, backend)
    max_before, blobs_before, keys_before = stored(ledger)
    request = donation(artist_id, stages=stages(shade=200))
    with pytest.raises(IntegrityViolation, match="ledger_leaves already holds rows"):
        ledger.donate(request)
    assert stored(ledger) == (max_before, blobs_before, keys_before)
    assert len(ledger.get_artist(artist_id).donation_ids) == 1

    _unblock(ledger, backend, blocked)
    result = ledger.donate(request)
    assert len(blob_files(ledger)) == len(blobs_before) + 3
    assert ledger.stage_image(result.donation_id, 0) == request.stages[0].image
    ledger.integrity.verify()


def test_failed_registration_leaves_no_key(ledger: MuseumLedger, backend: Settings) -> None:
    ledger.register_artist(artist("Early Bird"))
    blocked = _block_next_leaves(ledger, backend, count=200)
    before = stored(ledger)
    with pytest.raises(IntegrityViolation, match="ledger_leaves already holds rows"):
        ledger.register_artist(artist("Late Bird"))
    assert stored(ledger) == before
    _unblock(ledger, backend, blocked)
    late = ledger.register_artist(artist("Late Bird"))
    assert ledger.artist_view(late).pseudonym == "Late Bird"
    assert key_count(ledger) == 2
    ledger.integrity.verify()


# --- consent -------------------------------------------------------------------------------------


def test_consent_changes_are_idempotent(ledger: MuseumLedger) -> None:
    _, donation_id = register_and_donate(ledger, consents=("exhibit",))
    mark = ledger.recorder.max_notification_id()

    assert ledger.grant_consent(donation_id, "exhibit") is False
    assert ledger.revoke_consent(donation_id, "research") is False
    assert ledger.recorder.max_notification_id() == mark

    assert ledger.grant_consent(donation_id, "train") is True
    assert ledger.recorder.max_notification_id() == mark + 1
    assert ledger.grant_consent(donation_id, "train") is False
    assert ledger.revoke_consent(donation_id, "train") is True
    assert ledger.revoke_consent(donation_id, "train") is False
    assert ledger.recorder.max_notification_id() == mark + 2
    assert ledger.donation_view(donation_id).consents == ["exhibit"]

    before = stored(ledger)
    with pytest.raises(UnknownVocabulary):
        ledger.grant_consent(donation_id, "resale")
    with pytest.raises(UnknownVocabulary):
        ledger.revoke_consent(donation_id, "EXHIBIT ")
    with pytest.raises(NotFound):
        ledger.grant_consent(uuid4(), "exhibit")
    assert stored(ledger) == before


def test_consent_at_past_times_and_trail(ledger: MuseumLedger) -> None:
    artist_id = ledger.register_artist(artist())
    t_before = now()
    donation_id = ledger.donate(donation(artist_id, consents=("exhibit", "train"))).donation_id
    t_made = now()
    assert ledger.revoke_consent(donation_id, "train")
    t_revoked = now()
    assert ledger.grant_consent(donation_id, "research")
    t_research = now()
    assert ledger.revoke_consent(donation_id, "exhibit")
    t_hidden = now()
    assert ledger.grant_consent(donation_id, "exhibit")
    t_shown = now()

    expected = {
        t_before: {"exhibit": False, "train": False, "research": False, "commercial": False},
        t_made: {"exhibit": True, "train": True, "research": False, "commercial": False},
        t_revoked: {"exhibit": True, "train": False, "research": False, "commercial": False},
        t_research: {"exhibit": True, "train": False, "research": True, "commercial": False},
        t_hidden: {"exhibit": False, "train": False, "research": True, "commercial": False},
        t_shown: {"exhibit": True, "train": False, "research": True, "commercial": False},
    }
    for moment, answers in expected.items():
        for purpose, holds in answers.items():
            assert ledger.consent_at(donation_id, purpose, at=moment) is holds, (moment, purpose)
    # the same moment asked in another time zone gives the same answer
    assert (
        ledger.consent_at(
            donation_id, "exhibit", at=t_hidden.astimezone(timezone(timedelta(hours=-7)))
        )
        is False
    )
    assert ledger.consent_at(donation_id, "exhibit") is True  # now

    trail = ledger.consent_trail(donation_id)
    assert [(e.purpose, e.change, e.version) for e in trail] == [
        ("exhibit", "granted", 1),
        ("train", "granted", 1),
        ("train", "revoked", 2),
        ("research", "granted", 3),
        ("exhibit", "revoked", 4),
        ("exhibit", "granted", 5),
    ]
    times = [datetime.fromisoformat(e.at) for e in trail]
    windows = [
        (t_before, t_made),
        (t_before, t_made),
        (t_made, t_revoked),
        (t_revoked, t_research),
        (t_research, t_hidden),
        (t_hidden, t_shown),
    ]
    for at, (low, high) in zip(times, windows, strict=True):
        assert low < at < high
    # a change counts from the very moment it was recorded (inclusive), not a microsecond before
    for entry in trail[2:]:
        at = datetime.fromisoformat(entry.at)
        assert ledger.consent_at(donation_id, entry.purpose, at=at) is (entry.change == "granted")
        before_change = ledger.consent_at(
            donation_id, entry.purpose, at=at - timedelta(microseconds=1)
        )
        assert before_change is (entry.change != "granted")

    with pytest.raises(InvalidInput):
        ledger.consent_at(donation_id, "exhibit", at=datetime(2024, 1, 1, 12, 0))  # naive
    with pytest.raises(UnknownVocabulary):
        ledger.consent_at(donation_id, "resale", at=t_made)
    with pytest.raises(NotFound):
        ledger.consent_at(uuid4(), "exhibit", at=t_made)
    with pytest.raises(NotFound):
        ledger.consent_trail(uuid4())


def test_consent_cannot_change_after_erasure(ledger: MuseumLedger) -> None:
    artist_id, donation_id = register_and_donate(ledger, consents=("exhibit", "train"))
    t_before_erasure = now()
    ledger.erase_artist(artist_id, reason="changed my mind")
    before = stored(ledger)
    for change, purpose in [
        (ledger.grant_consent, "exhibit"),
        (ledger.grant_consent, "research"),
        (ledger.revoke_consent, "train"),
        (ledger.revoke_consent, "commercial"),
    ]:
        with pytest.raises(ErasedError):
            change(donation_id, purpose)
    assert stored(ledger) == before
    assert ledger.consent_at(donation_id, "exhibit") is False
    assert ledger.consent_at(donation_id, "exhibit", at=t_before_erasure) is True
    trail = ledger.consent_trail(donation_id)
    assert {(e.purpose, e.change) for e in trail[2:]} == {
        ("exhibit", "revoked"),
        ("train", "revoked"),
    }


def test_erased_artist_cannot_donate_or_be_granted(ledger: MuseumLedger) -> None:
    artist_id, _ = register_and_donate(ledger)
    ledger.erase_artist(artist_id, reason="")
    before = stored(ledger)
    with pytest.raises(ErasedError):
        ledger.donate(donation(artist_id, stages=stages(shade=77)))
    with pytest.raises(ErasedError):
        ledger.grant_founding(artist_id, curator="Curator Okonkwo", note="")
    assert stored(ledger) == before
    with pytest.raises(KeyShredded):
        ledger.data_key(artist_id)


# --- feedback ------------------------------------------------------------------------------------


def test_feedback_on_donation_stage(ledger: MuseumLedger) -> None:
    _, donation_id = register_and_donate(ledger)
    mark = ledger.recorder.max_notification_id()
    feedback_id = ledger.give_feedback(
        "donation", donation_id, 2, "cross-hatching", "try a wash", "Curator Okonkwo"
    )
    assert isinstance(feedback_id, UUID)
    assert ledger.recorder.max_notification_id() == mark + 1
    whole = ledger.give_feedback(
        "donation", donation_id, None, "", "start from the horizon", "Ink Moth"
    )
    assert whole != feedback_id
    stored_feedback = ledger.repository.get(feedback_id)
    assert (stored_feedback.target_id, stored_feedback.stage_index, stored_feedback.next_try) == (
        donation_id,
        2,
        "try a wash",
    )


def test_bad_feedback_stores_nothing(ledger: MuseumLedger) -> None:
    _, donation_id = register_and_donate(ledger)
    before = stored(ledger)
    for kind, stage_index, tried, author in [
        ("donation", 3, "x", "a"),  # the donation has stages 0..2
        ("donation", 99, "x", "a"),
        ("donation", -1, "x", "a"),
        ("donation", 0, "  ", "a"),  # neither what was tried nor what to try next
        ("donation", 0, "x", "  "),
        ("donation", 0, "x" * 4001, "a"),
        ("donation", 0, "x" + chr(0xD800), "a"),
        ("donation", 0, "x", "a\x1b"),
        ("exhibition", 0, "x", "a"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            ledger.give_feedback(kind, donation_id, stage_index, tried, "", author)
        assert type(caught.value) is InvalidInput
        assert stored(ledger) == before, (kind, stage_index)


def test_feedback_on_unknown_targets(ledger: MuseumLedger) -> None:
    register_and_donate(ledger)
    before = stored(ledger)
    with pytest.raises(NotFound):
        ledger.give_feedback("generation", uuid4(), None, "x", "y", "Curator Okonkwo")
    with pytest.raises(NotFound):
        ledger.give_feedback("donation", uuid4(), 0, "x", "y", "Curator Okonkwo")
    assert stored(ledger) == before
