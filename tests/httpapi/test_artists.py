"""Registering, profiles (public and whole), identity, founding status, erasure over HTTP."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import issue_keys, museum_of
from httpapi.donating import donate
from httpapi.test_donations import register
from ledger.audit import check_against

Client = TestClient[Litestar]


def test_register_gives_a_profile_and_a_working_key(client: Client) -> None:
    answer = client.post(
        "/api/v1/artists",
        json={"pseudonym": "Ink Moth", "legal_name": "Ana Ruiz", "contact": "ana@example.org"},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    artist_id = body["artist"]["artist_id"]
    assert body["artist"]["pseudonym"] == "Ink Moth"
    assert body["artist"]["founding_number"] == 1
    assert body["key"]["key"]["role"] == "artist"
    assert body["key"]["key"]["artist_id"] == artist_id
    assert "Ana Ruiz" not in answer.text
    headers = {"Authorization": f"Bearer {body['key']['secret']}"}
    identity = client.get(f"/api/v1/artists/{artist_id}/identity", headers=headers)
    assert identity.json() == {"legal_name": "Ana Ruiz", "contact": "ana@example.org"}
    # the secret is in that answer only
    listed = museum_of(client).keys.list()
    assert body["key"]["secret"] not in repr(listed)
    taken = client.post(
        "/api/v1/artists",
        json={"pseudonym": "  ink MOTH ", "legal_name": "Someone", "contact": "x@example.org"},
    )
    assert taken.status_code == 409
    assert taken.headers["content-type"].startswith("application/problem+json")


def test_identity_is_for_the_artist_and_compliance(sqlite_client: Client) -> None:
    keys = issue_keys(museum_of(sqlite_client))
    url = f"/api/v1/artists/{keys.artist_ids['member']}/identity"
    assert sqlite_client.get(url, headers=keys["member"]).status_code == 200
    assert sqlite_client.get(url, headers=keys["compliance"]).status_code == 200
    assert sqlite_client.get(url, headers=keys["other_artist"]).status_code == 404
    assert sqlite_client.get(url, headers=keys["integrator"]).status_code == 403
    assert sqlite_client.get(url).status_code == 401


def test_an_anonymous_artist_shows_no_name_but_to_themself_and_compliance(
    sqlite_client: Client,
) -> None:
    keys = issue_keys(museum_of(sqlite_client))
    artist_id, headers = register(sqlite_client, "Quiet Kiln", anonymous=True)
    url = f"/api/v1/artists/{artist_id}"
    for who in ("visitor", "other_artist", "integrator", "curator"):
        shown = sqlite_client.get(url, headers=keys[who]).json()
        assert shown["pseudonym"] == "anonymous donor", who
    assert sqlite_client.get(url, headers=headers).json()["pseudonym"] == "Quiet Kiln"
    assert sqlite_client.get(url, headers=keys["compliance"]).json()["pseudonym"] == "Quiet Kiln"
    # feedback by an anonymous member is signed without their name
    donation_id = donate(sqlite_client, headers).json()["donation"]["donation_id"]
    given = sqlite_client.post(
        f"/api/v1/donations/{donation_id}/stages/0/feedback",
        json={"tried": "a wide brush"},
        headers=headers,
    )
    assert given.status_code == 201, given.text
    assert given.json()["author"] == "anonymous donor"


def test_curators_grant_founding_status_once(sqlite_client: Client) -> None:
    keys = issue_keys(museum_of(sqlite_client))  # the roll is full: nobody else is founding
    artist_id = keys.artist_ids["artist"]
    url = f"/api/v1/artists/{artist_id}/founding"
    granted = sqlite_client.post(
        url, json={"note": "ran the first workshop"}, headers=keys["curator"]
    )
    assert granted.status_code == 201, granted.text
    assert granted.json()["founding"] is True
    again = sqlite_client.post(url, json={}, headers=keys["curator"])
    assert again.status_code == 409


def test_erasure_request_status_and_certificate(client: Client) -> None:
    artist_id, headers = register(client)
    donate(client, headers)
    url = f"/api/v1/artists/{artist_id}/erasure"
    before = client.get(url, headers=headers).json()
    assert before["requested_at"] is None
    assert client.get(f"{url}/certificate", headers=headers).status_code == 404
    asked = client.post(url, json={"reason": "I want my work back"}, headers=headers)
    assert asked.status_code == 202, asked.text
    status = asked.json()
    assert status["key_shredded"] is True
    assert status["completed"] is True  # no model was trained on the items
    assert status["deadline"] > status["requested_at"]
    certificate = client.get(f"{url}/certificate", headers=headers)
    assert certificate.status_code == 200, certificate.text
    checked = check_against(museum_of(client).ledger, certificate.json())
    assert checked["kind"] == "certificate"
    identity = client.get(f"/api/v1/artists/{artist_id}/identity", headers=headers)
    assert identity.status_code == 410
    assert client.get(f"/api/v1/artists/{artist_id}").json()["pseudonym"] == "erased donor"
    repeated = client.post(url, json={}, headers=headers)  # erased already: refused
    assert repeated.status_code == 409, repeated.text
    assert repeated.headers["content-type"].startswith("application/problem+json")
    assert status["requested_at"] in repeated.json()["detail"]
    assert client.get(url, headers=headers).json()["requested_at"] == status["requested_at"]


def test_the_certificate_waits_for_retraining(sqlite_client: Client) -> None:
    artist_id, headers = register(sqlite_client)
    donate(sqlite_client, headers)
    models = museum_of(sqlite_client).models
    run = models.start_run(job_id="r", config={"preset": "tiny"}, seed=0, shards=1)
    models.record_checkpoint(run.id, 0, 5, "d" * 64, b"w")
    models.complete_run(run.id, 0.2)
    url = f"/api/v1/artists/{artist_id}/erasure"
    asked = sqlite_client.post(url, json={"reason": "withdraw"}, headers=headers)
    assert asked.status_code == 202
    assert asked.json()["completed"] is False
    assert asked.json()["awaiting_retraining_of"] == [str(run.id)]
    status = sqlite_client.get(url, headers=headers).json()
    assert status["awaiting_retraining_of"] == [str(run.id)]
    assert status["retraining_due_at"] > status["requested_at"]  # the batching window
    assert "retraining_run" not in status  # defaults are left out: no run serves it yet
    assert 0 < status["time_left_seconds"] <= 30 * 86400
    assert "overdue" not in status
    compliance = museum_of(sqlite_client).keys.create("compliance", "auditor").secret
    seen = sqlite_client.get(url, headers={"Authorization": f"Bearer {compliance}"})
    assert seen.json() == status
    assert sqlite_client.get(f"{url}/certificate", headers=headers).status_code == 404
