"""Right to erasure by crypto-shredding: after `erase_artist`, no byte of the artist is recoverable.

The scans read the database itself (SQLite: the raw files; PostgreSQL: every row of every table)
and the blob store, looking for the plaintext and for the wrapped data key.
"""

from __future__ import annotations

import base64
import io
import random
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from factories import T0, artist, donation, label, recorded_version
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.domain import Artist
from ledger.erasures import Erasures
from ledger.errors import Conflict, KeyShredded
from ledger.log import SignedTreeHead
from ledger.model_records import ModelRecords
from ledger.runtime import close_ledger
from ledger.schemas import StageCreate
from ledger.settings import Settings

LEGAL_NAME = "Zelda Quintanilla-Oyelaran"
CONTACT = "zelda.q.oyelaran@studio-nocturne.example"
PSEUDONYM = "Vermilion Cartographer"
CAPTIONS = (
    "first pass at the cliff edge, Zq-77",
    "the ochre slid everywhere, Zq-78",
    "kept it, Zq-79",
)
FAILURE_NOTE = "Quintanilla note: the tide line came out as a staircase."
IMAGE_SECRET = b"Zq-PRIVATE-PROCESS-MARKER-5e1f0c2a9b"
OTHER_NAME = "Bystander Artist"


def marked_png(seed: int) -> bytes:
    """A noisy PNG carrying an uncompressed text chunk: distinctive bytes inside the image file."""
    rng = random.Random(seed)
    image = Image.frombytes("L", (40, 40), rng.randbytes(1600))
    info = PngInfo()
    info.add_text("Comment", IMAGE_SECRET.decode() + f"-{seed}")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def image_needles(data: bytes) -> list[bytes]:
    """Substrings of the image file: the text chunk and a slice of the compressed pixels."""
    at = data.index(IMAGE_SECRET)
    idat = data.index(b"IDAT")
    return [data[at : at + len(IMAGE_SECRET)], data[idat + 40 : idat + 72]]


def encodings(needle: bytes) -> Iterable[bytes]:
    """The needle as is, and as it would appear base64-encoded at any alignment."""
    yield needle
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + needle)
        yield encoded[4:-4]


def database_bytes(ledger: MuseumLedger, settings: Settings) -> bytes:
    """Every byte the database holds for the ledger."""
    if settings.embedded:
        path = Path(settings.sqlite_path)
        parts = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    chunks: list[bytes] = []
    with psycopg.connect(str(settings.database_url)) as db:
        tables = [
            r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        assert {
            "artist_keys",
            "ledger_leaves",
            "tree_heads",
            ledger.recorder.events_table_name,
        } <= set(tables)
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes | memoryview | bytearray):
                        chunks.append(bytes(value))
                    else:
                        chunks.append(str(value).encode())
                    chunks.append(b"\x1f")
    return b"".join(chunks)


def blob_bytes(settings: Settings) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(settings.blob_dir.rglob("*")) if p.is_file())


def found(haystack: bytes, needles: dict[str, bytes]) -> list[str]:
    return sorted(
        name
        for name, needle in needles.items()
        if any(form in haystack for form in encodings(needle))
    )


def seed(ledger: MuseumLedger) -> dict[str, Any]:
    bystander = ledger.register_artist(artist(OTHER_NAME))
    ledger.donate(donation(bystander))
    artist_id = ledger.register_artist(artist(PSEUDONYM, legal_name=LEGAL_NAME, contact=CONTACT))
    images = [marked_png(seed) for seed in range(3)]
    series = tuple(
        StageCreate(role, image, caption, T0 + timedelta(days=i))
        for i, (role, image, caption) in enumerate(
            zip(("sketch", "failure", "final"), images, CAPTIONS, strict=True)
        )
    )
    donated = ledger.donate(
        donation(artist_id, stages=series, label=label(failure_note=FAILURE_NOTE))
    )
    ledger.grant_consent(donated.donation_id, "research")
    ledger.give_feedback(
        "donation", donated.donation_id, 1, "glazing", "scrape back first", "Curator Okonkwo"
    )
    wrapped = ledger.vault.get(artist_id)
    assert wrapped is not None
    needles = {
        "legal name": LEGAL_NAME.encode(),
        "contact": CONTACT.encode(),
        "pseudonym": PSEUDONYM.encode(),
        "failure note": FAILURE_NOTE.encode(),
        **{f"caption {i}": caption.encode() for i, caption in enumerate(CAPTIONS)},
        **{
            f"image {i} part {j}": part
            for i, image in enumerate(images)
            for j, part in enumerate(image_needles(image))
        },
    }
    return {
        "artist_id": artist_id,
        "bystander": bystander,
        "donation_id": donated.donation_id,
        "images": images,
        "wrapped": wrapped,
        "needles": needles,
    }


def test_erasure_leaves_no_plaintext_and_no_key(ledger: MuseumLedger, backend: Settings) -> None:
    seeded = seed(ledger)
    assert ledger.identity(seeded["artist_id"]).legal_name == LEGAL_NAME
    assert ledger.stage_image(seeded["donation_id"], 0) == seeded["images"][0]
    needles = seeded["needles"]
    key_needle = {"wrapped key": seeded["wrapped"]}

    # Before erasure: everything personal is sealed, and the scan can see the wrapped key.
    before = database_bytes(ledger, backend)
    assert found(before, key_needle) == ["wrapped key"], "the scan must be able to find the key"
    assert found(before, needles) == [], "plaintext reached the database"
    assert found(blob_bytes(backend), needles) == [], "plaintext reached the blob store"
    assert OTHER_NAME.encode() not in before  # the bystander is sealed too

    ledger.erase_artist(seeded["artist_id"], reason="artist request by email")
    assert ledger.vault.get(seeded["artist_id"]) is None
    assert ledger.vault.get(seeded["bystander"]) is not None

    if backend.embedded:
        close_ledger(ledger)
    after = database_bytes(ledger, backend) + blob_bytes(backend)
    assert found(after, key_needle) == [], "the wrapped key survived the erasure"
    assert found(after, needles) == []


def test_erased_artist_reads_as_erased_donor(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    artist_id, donation_id = seeded["artist_id"], seeded["donation_id"]
    events_before = ledger.recorder.max_notification_id()
    assert events_before is not None

    Erasures(ledger).request(artist_id, reason="")  # no model learned from them: done at once

    view = ledger.artist_view(artist_id)
    assert view.pseudonym == ERASED_DONOR
    assert view.erased is True
    assert view.erasure_completed is True
    assert view.donations == [str(donation_id)]
    with pytest.raises(KeyShredded):
        ledger.identity(artist_id)
    for index in range(3):
        with pytest.raises(KeyShredded):
            ledger.stage_image(donation_id, index)
    shown = ledger.donation_view(donation_id)
    assert shown.erased is True
    assert shown.withdrawn is True
    assert shown.consents == []
    assert [s.caption for s in shown.stages] == [None, None, None]
    assert "title" not in shown.label.as_builtins()
    assert shown.label.as_builtins() == {"failure_type": "perspective", "emotion": "frustration"}

    # the bystander is untouched
    assert ledger.artist_view(seeded["bystander"]).pseudonym == OTHER_NAME
    assert ledger.identity(seeded["bystander"]).legal_name == "Ana Lucía Ruiz"

    # all events stay; the log still verifies
    assert ledger.recorder.max_notification_id() > events_before
    report = ledger.integrity.verify()
    assert report.events == ledger.integrity.size()
    assert len(ledger.recorder.select_notifications(None, 10_000)) == report.events


def test_a_second_erasure_is_refused_and_records_nothing(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    artist_id = seeded["artist_id"]
    first = Erasures(ledger).request(artist_id, reason="please")
    assert first.completed is True
    mark = ledger.recorder.max_notification_id()
    heads = len(ledger.integrity.heads.all())

    for again in (ledger.erase_artist, Erasures(ledger).request, ModelRecords(ledger).erase_artist):
        with pytest.raises(Conflict, match="already erased") as refused:
            again(artist_id, "please, again")
        assert type(refused.value) is Conflict
        assert refused.value.http_status == 409
    assert ledger.recorder.max_notification_id() == mark
    assert len(ledger.integrity.heads.all()) == heads
    assert Erasures(ledger).status(artist_id) == first

    topics = [type(e).__name__ for e in ledger.events.get(artist_id)]
    assert topics.count("ErasureRequested") == 1
    assert topics.count("KeyShredded") == 1
    assert topics.count("ErasureCompleted") == 1
    ledger.integrity.verify()


def test_erasure_waits_for_the_retraining_of_the_deployed_version(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    artist_id = seeded["artist_id"]
    ledger.grant_consent(seeded["donation_id"], "train")
    trained = recorded_version(ledger, "a")
    status = Erasures(ledger).request(artist_id, reason="")
    assert status.key_shredded is True
    assert status.completed is False
    assert status.certificate is None
    assert status.awaiting_retraining_of == [str(trained)]
    assert status.retraining_due_at is not None
    assert 0 < status.time_left_seconds <= 30 * 24 * 3600
    assert status.overdue is False
    with pytest.raises(KeyShredded):
        ledger.identity(artist_id)
    assert Erasures(ledger).settle() == []  # the deployed version still holds their stages
    assert Erasures(ledger).open_ids() == [artist_id]
    late = Erasures(ledger).status(artist_id, now=datetime.now(UTC) + timedelta(days=31))
    assert late.overdue is True
    assert late.time_left_seconds < 0

    retrained = recorded_version(ledger, "b", retraining=True)
    assert Erasures(ledger).settle() == [artist_id]
    done = Erasures(ledger).status(artist_id)
    assert done.completed is True
    assert done.awaiting_retraining_of is None
    assert done.certificate["retraining_runs"] == [str(retrained)]
    assert done.certificate["model_version"]["version"] == str(retrained)
    assert done.certificate["model_version"]["holds_erased_fingerprints"] is False
    assert Erasures(ledger).settle() == []  # settled once
    with pytest.raises(Conflict, match="already erased"):
        ledger.erase_artist(artist_id, reason="")


def test_certificate_carries_a_signed_head(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    artist_id = seeded["artist_id"]
    status = Erasures(ledger).request(artist_id, reason="")
    certificate = status.certificate
    assert status.completed is True
    assert certificate["artist_id"] == str(artist_id)
    assert certificate["key_shredded"] is True
    assert certificate["donations_withdrawn"] == [str(seeded["donation_id"])]

    head = certificate["tree_head"]
    stored = ledger.integrity.head(head["head_id"])
    assert head == stored.as_dict()
    signed = SignedTreeHead(
        int(head["tree_size"]),
        bytes.fromhex(head["root_hash"]),
        int(head["timestamp_ms"]),
        head["key_id"],
        bytes.fromhex(head["signature"]),
        head["head_id"],
    )
    signed.verify(ledger.master.public_key)
    # the head covers the shredding: every event up to KeyShredded is inside it
    shredded = [
        n
        for n in ledger.recorder.select_notifications(None, 10_000)
        if n.topic.endswith("Artist.KeyShredded")
    ]
    assert len(shredded) == 1
    ids = [n.id for n in ledger.recorder.select_notifications(None, 10_000)]
    assert ids.index(shredded[0].id) < signed.tree_size
    # the certificate is itself recorded (in the ErasureCompleted event, after the head)
    assert ledger.integrity.size() == signed.tree_size + 1
    assert ledger.get_artist(artist_id).erasure_certificate == certificate


def test_erasure_deadline_is_thirty_days_after_the_request(ledger: MuseumLedger) -> None:
    seeded = seed(ledger)
    artist_id = seeded["artist_id"]
    time.sleep(0.05)  # the artist's last event lies clearly before the request
    asked = datetime.now(UTC)
    status = Erasures(ledger).request(artist_id, reason="")
    answered = datetime.now(UTC)

    requested_at = datetime.fromisoformat(status.requested_at)
    deadline = datetime.fromisoformat(status.deadline)
    assert deadline - requested_at == timedelta(days=30)
    (request_event,) = [
        e for e in ledger.events.get(artist_id) if isinstance(e, Artist.ErasureRequested)
    ]
    assert asked <= request_event.timestamp <= answered
    assert requested_at == request_event.timestamp, (
        "the request time is the ErasureRequested event's time"
    )
    assert asked <= requested_at <= answered
    assert deadline == request_event.timestamp + timedelta(days=30)
    assert ledger.artist_view(artist_id).erasure_deadline == deadline.isoformat()
    assert status.certificate["deadline"] == deadline.isoformat()
