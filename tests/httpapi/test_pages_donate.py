"""Donating through the page: the form lands in the ledger with its receipt; bad input comes
back as the form with the reason and what was typed, and nothing is recorded."""

from __future__ import annotations

import html
import re
from typing import Any
from uuid import UUID

import factories
from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import Keys, museum_of
from httpapi.pages import csrf_field, form_token, signed_in
from ledger.receipt import verify_receipt

Client = TestClient[Litestar]
EMPTY_FILE = ("", b"", "application/octet-stream")  # what a browser sends for no file


def fields(client: Client, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_csrf_token": form_token(client),
        "title": "Tide chart",
        "creative_intent": "Draw the tide as a clock",
        "failure_type": "concept",
        "emotion": "curiosity",
        "failure_note": "The clock face ate the sea.",
        "era": "2020s",
        "genre": "seascape, diagram",
        "consent": ["exhibit", "train"],
        "affirmed": "yes",
        "timezone": "Europe/Lisbon",
        "stage-0-role": "sketch",
        "stage-0-made": "2024-05-01T10:00",
        "stage-0-caption": "pencil first",
        "stage-1-role": "final",
        "stage-1-made": "2024-05-03T18:30",
        "stage-2-role": "",
        "stage-2-made": "",
        "stage-2-caption": "",
    }
    return base | changes


def images(*shades: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    files = [
        (f"stage-{i}-image", (f"s{i}.png", factories.png(s), "image/png"))
        for i, s in enumerate(shades)
    ]
    return [*files, (f"stage-{len(shades)}-image", EMPTY_FILE)]


def donations_of(client: Client, keys: Keys, name: str) -> list[UUID]:
    return museum_of(client).ledger.get_artist(UUID(keys.artist_ids[name])).donation_ids


def test_the_form_renders_with_its_token_and_rows(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "artist")
    page = client.get("/donate")
    assert page.status_code == 200
    assert csrf_field(page.text) == client.cookies["museum_csrf"]
    assert 'enctype="multipart/form-data"' in page.text
    assert len(re.findall(r'<fieldset class="stage"', page.text)) == 3
    assert len(re.findall(r'<fieldset class="stage"', client.get("/donate?stages=5").text)) == 5
    row = client.get("/donate/stage?index=3")
    assert 'id="stage-3-role"' in row.text
    assert "<legend>Stage 4</legend>" in row.text
    assert 'hx-swap-oob="true"' in row.text
    assert "index=4" in row.text
    last = client.get("/donate/stage?index=23").text
    assert "That is the most stages a donation holds (24)" in last
    assert client.get("/donate/stage?index=24").status_code == 422


def test_a_donation_through_the_form_lands_in_the_ledger(sqlite_client: Client, keys: Keys) -> None:
    client = signed_in(sqlite_client, keys, "artist")
    assert donations_of(client, keys, "artist") == []
    sent = client.post("/donate", data=fields(client), files=images(20, 70), follow_redirects=False)
    assert sent.status_code == 303, sent.text[-2000:]
    [donation_id] = donations_of(client, keys, "artist")
    assert sent.headers["location"] == f"/donations/{donation_id}?donated=1"
    page = client.get(sent.headers["location"])
    assert "the museum has recorded your donation" in page.text
    assert "<h1>Tide chart</h1>" in page.text
    assert "Consent now</dt><dd>exhibit, train" in page.text
    museum = museum_of(client)
    donation = museum.ledger.donation_view(donation_id)
    assert donation.label.failure_note == "The clock face ate the sea."
    assert [s.role for s in donation.stages] == ["sketch", "final"]
    assert donation.stages[0].created_at == "2024-05-01T09:00:00+00:00"  # 10:00 in Lisbon
    assert sorted(donation.tags["genre"]) == ["diagram", "seascape"]
    link = f"/donations/{donation_id}/receipt.json"
    assert f'href="{link}"' in page.text
    receipt = client.get(link).json()
    verify_receipt(receipt, museum.ledger.integrity.public_key_hex)
    assert client.get(f"/donations/{donation_id}/stages/1/image").content == factories.png(70)


def test_bad_input_re_renders_the_form_and_records_nothing(
    sqlite_client: Client, keys: Keys
) -> None:
    client = signed_in(sqlite_client, keys, "artist")
    broken = [
        ("stage-0-image", ("s0.png", factories.png(20)[:-12], "image/png")),
        ("stage-1-image", ("s1.png", factories.png(70), "image/png")),
    ]
    cases: list[tuple[dict[str, Any], Any, str]] = [
        ({"affirmed": ""}, images(20, 70), "attest"),
        ({}, broken, "stage 0"),
        ({"stage-1-made": "2024-04-01T10:00"}, images(20, 70), "order"),
        ({"timezone": "Mars/Olympus"}, images(20, 70), "time zone 'Mars/Olympus'"),
        ({"stage-1-made": "soon"}, images(20, 70), "stage 2: 'soon' is not a date"),
        (
            {},
            [
                ("stage-0-image", ("s0.png", factories.png(20), "image/png")),
                ("stage-1-image", EMPTY_FILE),
            ],
            "stage 2: choose its image",
        ),
        ({"failure_type": "meteor"}, images(20, 70), "unknown failure type"),
        ({"consent": ["exhibit", "fame"]}, images(20, 70), "fame"),
        (
            {
                "stage-0-role": "",
                "stage-1-role": "",
                "stage-0-made": "",
                "stage-1-made": "",
                "stage-0-caption": "",
            },
            [("stage-0-image", EMPTY_FILE)],
            "add at least one stage",
        ),
        ({"title": "x" * 4001}, images(20, 70), "4000"),
    ]
    for changes, files, reason in cases:
        refused = client.post("/donate", data=fields(client, **changes), files=files)
        assert refused.status_code == 422, (changes, refused.status_code, refused.text[-1500:])
        assert 'role="alert"' in refused.text
        text = html.unescape(refused.text)
        assert reason in text, (reason, re.findall(r"<p>[^<]*</p>", text)[:3])
        assert "Nothing was recorded" in refused.text
        assert csrf_field(refused.text) is not None  # the form can be sent again
        if "title" not in changes:
            assert 'value="Tide chart"' in refused.text  # what was typed comes back
    assert donations_of(client, keys, "artist") == []
    assert "<h1>Donate a process</h1>" in client.get("/donate").text
