"""Process-centred feedback on a stage: curators and members give it, whoever sees the
donation reads it."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import issue_keys, museum_of

Client = TestClient[Litestar]


def test_feedback_is_given_and_listed(client: Client) -> None:
    keys = issue_keys(museum_of(client))
    donation_id = keys.donation_ids["other_artist"]
    url = f"/api/v1/donations/{donation_id}/stages/1/feedback"
    by_curator = client.post(
        url,
        json={"tried": "fixing each boat", "next_try": "redraw the horizon first"},
        headers=keys["curator"],
    )
    assert by_curator.status_code == 201, by_curator.text
    assert by_curator.json()["author"] == "test curator"
    by_member = client.post(url, json={"next_try": "a cooler palette"}, headers=keys["member"])
    assert by_member.status_code == 201, by_member.text
    assert by_member.json()["author"] == "Pseudonym member"
    listed = client.get(url, params={"limit": 1}).json()
    assert [f["tried"] for f in listed["items"]] == ["fixing each boat"]
    rest = client.get(url, params={"cursor": listed["cursor"]}).json()
    assert [f["next_try"] for f in rest["items"]] == ["a cooler palette"]
    assert rest["cursor"] is None
    other_stage = client.get(f"/api/v1/donations/{donation_id}/stages/0/feedback").json()
    assert other_stage["items"] == []


def test_feedback_refusals(sqlite_client: Client) -> None:
    keys = issue_keys(museum_of(sqlite_client))
    donation_id = keys.donation_ids["other_artist"]
    base = f"/api/v1/donations/{donation_id}/stages"
    empty = sqlite_client.post(f"{base}/0/feedback", json={}, headers=keys["curator"])
    assert empty.status_code == 422
    missing = sqlite_client.post(f"{base}/9/feedback", json={"tried": "x"}, headers=keys["curator"])
    assert missing.status_code == 404
    not_member = sqlite_client.post(
        f"{base}/0/feedback", json={"tried": "x"}, headers=keys["artist"]
    )
    assert not_member.status_code == 403
    # once the donation leaves the exhibition, others neither read nor give feedback on it
    sqlite_client.post(
        f"/api/v1/donations/{donation_id}/consent",
        json={"purpose": "exhibit", "granted": False},
        headers=keys["other_artist"],
    )
    assert sqlite_client.get(f"{base}/0/feedback").status_code == 404
    hidden = sqlite_client.post(f"{base}/0/feedback", json={"tried": "x"}, headers=keys["member"])
    assert hidden.status_code == 404
    own = sqlite_client.get(f"{base}/0/feedback", headers=keys["other_artist"])
    assert own.status_code == 200
