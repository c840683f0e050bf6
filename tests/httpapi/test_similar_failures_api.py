"""`/api/v1/…/similar-failures` on the SQLite app with the tiny model (a few steps): a donated
stage's (public while exhibited), an upload's (any key), refusals as problem details, and
nothing recorded by a query."""

from __future__ import annotations

from uuid import UUID, uuid4

import factories
from litestar import Litestar
from litestar.testing import TestClient

from generation.service import train_run
from httpapi.accessibility import problems
from httpapi.conftest import Keys, museum_of
from ledger.images import MAX_IMAGE_BYTES

Client = TestClient[Litestar]


def _stage_path(donation_id: str, index: int) -> str:
    return f"/api/v1/donations/{donation_id}/stages/{index}/similar-failures"


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    return body


def test_a_stage_or_an_upload_finds_how_others_moved_on(sqlite_client: Client, keys: Keys) -> None:
    ledger = museum_of(sqlite_client).ledger
    mine, theirs = keys.donation_ids["member"], keys.donation_ids["other_artist"]
    # The two donations of the fixture show the same images; a third, of another failure type,
    # does not.
    third = str(
        ledger.donate(
            factories.donation(
                UUID(keys.artist_ids["artist"]),
                stages=factories.stages("sketch", "failure", "revision", "final", shade=90),
                label=factories.label(failure_type="colour"),
            )
        ).donation_id
    )
    refused = sqlite_client.get(_stage_path(mine, 1))
    assert "no model version is deployed" in str(_problem(refused, 404)["detail"])
    waiting = sqlite_client.get(f"/donations/{mine}/stages/1/similar-failures")
    assert waiting.status_code == 200
    assert "cannot compare stages right now: no model version is deployed" in waiting.text
    train_run(ledger, job_id="similar-api", steps=20)
    before = ledger.recorder.max_notification_id()

    found = sqlite_client.get(_stage_path(mine, 1), params={"count": 2})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["query"] == {
        "kind": "stage",
        "donation_id": mine,
        "stage_index": 1,
        "role": "failure",
        "failure_type": "perspective",
        "emotion": None,
    }
    # The same image first, of the same failure type; the query's own donation never shows.
    match, other = body["matches"]
    assert (match["donation_id"], match["stage_index"], match["same_failure_type"]) == (
        theirs,
        1,
        True,
    )
    assert match["similarity"] > 0.99
    assert (other["donation_id"], other["same_failure_type"]) == (third, False)
    assert [s["role"] for s in other["next_stages"]] == ["revision", "final"]
    assert match["pseudonym"] == "Pseudonym other_artist"
    assert [s["role"] for s in match["next_stages"]] == ["final"]
    assert match["failure_note"] == "I kept fixing the boats and forgot the horizon."
    assert "Ana Lucía Ruiz" not in found.text

    # On the donation's page: a panel per failure stage, filled in by htmx (or a page of its own).
    donation_page = sqlite_client.get(f"/donations/{mine}")
    assert '<h2 id="how-others">How others moved on</h2>' in donation_page.text
    fragment_url = f"/donations/{mine}/stages/1/similar-failures"
    assert f'hx-get="{fragment_url}" hx-trigger="load"' in donation_page.text
    fragment = sqlite_client.get(fragment_url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert f'<a href="/donations/{theirs}">Harbour at dusk</a> by Pseudonym other_artist' in (
        fragment.text
    )
    assert "“I kept fixing the boats and forgot the horizon.”" in fragment.text
    assert f'href="/donations/{third}/stages/2/image">revision</a>' in fragment.text
    whole = sqlite_client.get(fragment_url)
    assert "<h1>How others moved on</h1>" in whole.text
    assert problems(whole.text) == []
    assert problems(donation_page.text) == []

    image = ledger.stage_image(UUID(theirs), 1)
    form = {"role": "failure", "failure_type": "colour", "count": "3"}
    uploaded = sqlite_client.post(
        "/api/v1/similar-failures",
        headers=keys["integrator"],
        data=form,
        files={"image": ("mine.png", image, "image/png")},
    )
    assert uploaded.status_code == 200, uploaded.text
    first, *rest = uploaded.json()["matches"]
    assert (first["donation_id"], first["same_failure_type"]) == (third, True)  # colour first
    assert {m["donation_id"] for m in rest} == {mine, theirs}
    assert all(m["similarity"] > 0.99 for m in rest)  # the uploaded image is theirs
    assert ledger.recorder.max_notification_id() == before  # reads record nothing

    # Refusals: one problem each, nothing recorded.
    for count in ("0", "17"):
        _problem(sqlite_client.get(_stage_path(mine, 1), params={"count": count}), 422)
    _problem(sqlite_client.get(_stage_path(str(uuid4()), 0)), 404)
    _problem(sqlite_client.get(_stage_path(mine, 9)), 404)
    post = "/api/v1/similar-failures"
    png = ("a.png", image, "image/png")
    _problem(sqlite_client.post(post, data=form, files={"image": png}), 401)
    text = ("a.png", b"not an image", "image/png")
    assert "the uploaded image" in str(
        _problem(
            sqlite_client.post(post, headers=keys["curator"], data=form, files={"image": text}), 422
        )["detail"]
    )
    huge = ("a.png", b"\x89PNG" + bytes(MAX_IMAGE_BYTES), "image/png")
    _problem(
        sqlite_client.post(post, headers=keys["curator"], data=form, files={"image": huge}), 413
    )
    bad_role = form | {"role": "mistake"}
    _problem(
        sqlite_client.post(post, headers=keys["curator"], data=bad_role, files={"image": png}), 422
    )
    too_many = form | {"count": "17"}
    _problem(
        sqlite_client.post(post, headers=keys["curator"], data=too_many, files={"image": png}), 422
    )
    assert ledger.recorder.max_notification_id() == before

    # Without exhibit consent the query stage is not shown: hidden from others, explained to
    # its own artist; and it leaves everyone else's answers.
    ledger.revoke_consent(UUID(theirs), "exhibit")
    _problem(sqlite_client.get(_stage_path(theirs, 1)), 404)
    own = sqlite_client.get(_stage_path(theirs, 1), headers=keys["other_artist"])
    assert "does not hold exhibit consent" in str(_problem(own, 409)["detail"])
    left = sqlite_client.get(_stage_path(mine, 1)).json()
    assert [m["donation_id"] for m in left["matches"]] == [third]
