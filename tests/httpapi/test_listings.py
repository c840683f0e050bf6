"""The lists served from the read models, and the caller's own view."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import Keys
from httpapi.money_world import money_world

API = "/api/v1"


def test_me_names_the_role_and_the_tier(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    tiers = {
        principal: sqlite_client.get(f"{API}/me", headers=keys[principal]).json()
        for principal in ("visitor", "artist", "member", "founder", "integrator", "compliance")
    }
    assert {p: (t["role"], t["tier"], t["rate_limited"]) for p, t in tiers.items()} == {
        "visitor": ("visitor", "visitor", False),
        "artist": ("artist", "donor", True),
        "member": ("artist", "member", True),
        "founder": ("artist", "founding", False),
        "integrator": ("integrator", "integrator", True),
        "compliance": ("compliance", "staff", False),
    }
    assert tiers["member"]["artist_id"] == keys.artist_ids["member"]
    assert "Authorization" not in str(tiers)
    assert "museum_" not in str(tiers)


def test_credits_follow_attributions_and_stay_with_their_artist(
    client: TestClient[Litestar],
) -> None:
    money = money_world(client)
    keys = money.keys
    member, other = keys.artist_ids["member"], keys.artist_ids["other_artist"]
    own = client.get(f"{API}/artists/{member}/credits", headers=keys["member"])
    assert own.status_code == 200, own.text
    [line] = own.json()["items"]
    assert (line["artist_id"], line["generation_id"]) == (member, money.generation_id)
    assert 0 < line["share_ppm"] < 1_000_000
    both = [
        client.get(f"{API}/artists/{who}/credits", headers=keys["curator"]).json()["items"][0]
        for who in (member, other)
    ]
    assert sum(item["share_ppm"] for item in both) == 1_000_000
    assert client.get(f"{API}/artists/{other}/credits", headers=keys["member"]).status_code == 404
    unknown = client.get(f"{API}/artists/{uuid.uuid4()}/credits", headers=keys["compliance"])
    assert unknown.status_code == 404


def test_consent_lists_read_their_own_writes(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    member, donation = keys.artist_ids["member"], keys.donation_ids["member"]
    url = f"{API}/artists/{member}/consents"

    def granted() -> dict[str, bool]:
        rows = sqlite_client.get(url, headers=keys["member"]).json()["items"]
        assert {row["donation_id"] for row in rows} == {donation}
        return {row["purpose"]: row["granted"] for row in rows}

    assert granted()["research"] is False
    changed = sqlite_client.post(
        f"{API}/donations/{donation}/consent",
        json={"purpose": "research", "granted": True},
        headers=keys["member"],
    )
    assert changed.status_code in (200, 201), changed.text
    assert granted()["research"] is True
    everyone = sqlite_client.get(
        f"{API}/consents", headers=keys["compliance"], params={"donation_id": donation}
    ).json()["items"]
    assert {row["purpose"]: row["granted"] for row in everyone} == granted()


def test_the_directory_pages_through_every_artist(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = sqlite_client.get(f"{API}/artists", headers=keys["curator"], params=params).json()
        seen += [artist["artist_id"] for artist in body["items"]]
        cursor = body["cursor"]
        if cursor is None:
            break
    assert seen == [
        keys.artist_ids[name] for name in ("founder", "artist", "member", "other_artist")
    ]
    founders = sqlite_client.get(
        f"{API}/artists", headers=keys["compliance"], params={"founding": True}
    ).json()["items"]
    assert [artist["artist_id"] for artist in founders] == [keys.artist_ids["founder"]]
    bad = sqlite_client.get(f"{API}/artists", headers=keys["curator"], params={"cursor": "nope"})
    assert bad.status_code == 422
