"""Donating over HTTP (multipart), the upload's limits, and who may see donations and images."""

from __future__ import annotations

import itertools
import json
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.http.donations.upload import MAX_UPLOAD
from httpapi.conftest import Keys, museum_of
from httpapi.donating import (
    BROWSER_BOUNDARY,
    asgi_post,
    browser_form,
    donate,
    endless_stage_upload,
    images,
    manifest,
)
from ledger.receipt import verify_receipt

Client = TestClient[Litestar]


def register(
    client: Client, pseudonym: str = "Salt Lantern", **extra: Any
) -> tuple[str, dict[str, str]]:
    answer = client.post(
        "/api/v1/artists",
        json={"pseudonym": pseudonym, "legal_name": "Noor Haddad", "contact": "noor@example.org"}
        | extra,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["artist"]["artist_id"], {"Authorization": f"Bearer {body['key']['secret']}"}


def test_donate_answers_the_donation_and_a_receipt_that_verifies(client: Client) -> None:
    artist_id, headers = register(client)
    answer = donate(client, headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    donation = body["donation"]
    assert donation["artist_id"] == artist_id
    assert [s["role"] for s in donation["stages"]] == ["sketch", "failure", "final"]
    assert donation["stages"][1]["caption"] == "failure number 1"
    assert donation["label"]["title"] == "Harbour at dusk"
    assert donation["consents"] == ["exhibit", "train"]
    assert UUID(body["receipt"]["event"]["originator_id"]) == UUID(donation["donation_id"])
    verify_receipt(body["receipt"], museum_of(client).ledger.integrity.public_key_hex)
    # the image comes back as donated, with its media type
    sent = images(3)
    image = client.get(f"/api/v1/donations/{donation['donation_id']}/stages/2/image")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content == sent[2]
    profile = client.get(f"/api/v1/artists/{artist_id}", headers=headers).json()
    assert profile["donations"] == [donation["donation_id"]]


def test_a_browser_built_form_is_accepted(sqlite_client: Client) -> None:
    _, headers = register(sqlite_client)
    body, content_type = browser_form(manifest(("attempt", "final")), images(2, shade=90))
    answer = sqlite_client.post(
        "/api/v1/donations", content=body, headers=headers | {"Content-Type": content_type}
    )
    assert answer.status_code == 201, answer.text
    assert [s["role"] for s in answer.json()["donation"]["stages"]] == ["attempt", "final"]


def _nothing_stored(client: Client, artist_id: str) -> None:
    museum = museum_of(client)
    assert museum.ledger.get_artist(UUID(artist_id)).donation_ids == []
    assert not any(p.is_file() for p in museum.settings.blob_dir.rglob("*"))


@pytest.mark.parametrize(
    ("form", "pictures", "words"),
    [
        (manifest(), [*images(2), b"\x89PNG\r\n\x1a\nnot really"], "image of stage 2"),
        (manifest(), [*images(2), images(3)[2][:-6]], "image of stage 2"),
        (
            manifest(stages=[{"role": "sketch", "created_at": "2024-03-01T09:00:00"}]),
            images(1),
            "time zone",
        ),
        (
            manifest(stages=[{"role": "sketch", "created_at": "yesterday"}]),
            images(1),
            "donation manifest",
        ),
        (manifest(consents=["exhibit", "gossip"]), images(3), "unknown consent purpose"),
        (manifest(attestation=None), images(3), "attestation"),
        (manifest(), images(2), "3 stages but 2"),
    ],
    ids=[
        "not-an-image",
        "cut-png",
        "naive-time",
        "bad-time",
        "unknown-purpose",
        "no-attestation",
        "count-mismatch",
    ],
)
def test_a_bad_upload_is_a_422_and_stores_nothing(
    sqlite_client: Client, form: dict[str, Any], pictures: list[bytes], words: str
) -> None:
    artist_id, headers = register(sqlite_client)
    answer = donate(sqlite_client, headers, form, pictures)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert words in answer.json()["detail"]
    _nothing_stored(sqlite_client, artist_id)


def test_too_many_parts_is_a_413(sqlite_client: Client) -> None:
    _, headers = register(sqlite_client)
    form = manifest(roles=("attempt",) * 25)
    answer = donate(sqlite_client, headers, form, images(25))
    assert answer.status_code == 413, answer.text


def test_an_oversized_content_length_is_refused_before_a_byte_is_read(
    sqlite_client: Client,
) -> None:
    _, headers = register(sqlite_client)
    status, pulled = asgi_post(
        sqlite_client,
        "/api/v1/donations",
        headers
        | {
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(MAX_UPLOAD + 1),
        },
        endless_stage_upload(),
    )
    assert (status, pulled) == (413, 0)


def test_a_chunked_upload_is_stopped_once_it_passes_the_limit(sqlite_client: Client) -> None:
    """No Content-Length: the app reads until the limit is passed, answers 413, reads no more."""
    _, headers = register(sqlite_client)
    chunk = 1 << 20
    status, pulled = asgi_post(
        sqlite_client,
        "/api/v1/donations",
        headers | {"Content-Type": f"multipart/form-data; boundary={BROWSER_BOUNDARY}"},
        endless_stage_upload(chunk),
    )
    assert status == 413
    assert MAX_UPLOAD // chunk <= pulled <= MAX_UPLOAD // chunk + 2


def test_a_visitors_upload_is_refused_before_its_body_is_read(sqlite_client: Client) -> None:
    status, pulled = asgi_post(
        sqlite_client,
        "/api/v1/donations",
        {"Content-Type": "multipart/form-data; boundary=x"},
        itertools.repeat(b"\0" * 1024),
    )
    assert (status, pulled) == (401, 0)


def test_json_bodies_keep_the_small_limit(sqlite_client: Client) -> None:
    big = json.dumps({"pseudonym": "x" * (2 << 20), "legal_name": "a", "contact": "b"})
    answer = sqlite_client.post(
        "/api/v1/artists", content=big, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413


def test_who_sees_a_donation_and_its_images(client: Client) -> None:
    museum = museum_of(client)
    from httpapi.conftest import issue_keys

    keys: Keys = issue_keys(museum)
    donation_id = keys.donation_ids["member"]
    url = f"/api/v1/donations/{donation_id}"
    image = f"{url}/stages/0/image"
    for who in ("visitor", "member", "other_artist", "compliance", "integrator", "curator"):
        assert client.get(url, headers=keys[who]).status_code == 200, who
        assert client.get(image, headers=keys[who]).status_code == 200, who
    revoked = client.post(
        f"{url}/consent", json={"purpose": "exhibit", "granted": False}, headers=keys["member"]
    )
    assert revoked.status_code == 200, revoked.text
    for who in ("visitor", "other_artist", "integrator", "curator"):
        assert client.get(url, headers=keys[who]).status_code == 404, who
        assert client.get(image, headers=keys[who]).status_code == 404, who
        listed = client.get(
            f"/api/v1/artists/{keys.artist_ids['member']}/donations", headers=keys[who]
        )
        assert listed.json()["items"] == [], who
    for who in ("member", "compliance"):
        assert client.get(url, headers=keys[who]).status_code == 200, who
        assert client.get(image, headers=keys[who]).status_code == 200, who
    assert client.get(f"{url}/stages/3/image", headers=keys["member"]).status_code == 404
    # erased: the image's key is gone
    erased = client.post(
        f"/api/v1/artists/{keys.artist_ids['member']}/erasure",
        json={"reason": "test"},
        headers=keys["member"],
    )
    assert erased.status_code == 202, erased.text
    for who in ("member", "compliance"):
        assert client.get(image, headers=keys[who]).status_code == 410, who
        view = client.get(url, headers=keys[who])
        assert view.status_code == 200
        assert view.json()["erased"] is True
        assert all(s["caption"] is None for s in view.json()["stages"])
    assert client.get(image).status_code == 404
    again = donate(client, keys["member"])
    assert again.status_code == 410, again.text


def test_an_artists_donations_come_in_pages(sqlite_client: Client) -> None:
    artist_id, headers = register(sqlite_client)
    made = [
        donate(sqlite_client, headers, manifest(), images(3, shade=s)).json()["donation"][
            "donation_id"
        ]
        for s in (1, 101, 201)
    ]
    url = f"/api/v1/artists/{artist_id}/donations"
    first = sqlite_client.get(url, params={"limit": 2}, headers=headers).json()
    assert [d["donation_id"] for d in first["items"]] == made[:2]
    second = sqlite_client.get(
        url, params={"limit": 2, "cursor": first["cursor"]}, headers=headers
    ).json()
    assert [d["donation_id"] for d in second["items"]] == made[2:]
    assert second["cursor"] is None
    bad = sqlite_client.get(url, params={"cursor": "nowhere"}, headers=headers)
    assert bad.status_code == 422
