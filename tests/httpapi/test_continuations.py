"""`/api/v1/continuations` as jobs run in the app's own thread (embedded mode): train the tiny
continuation model over HTTP, continue a donated stage and an upload, and every refusal."""

from __future__ import annotations

import json
import uuid

import factories
from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import Keys
from httpapi.test_model import accepted, no_personal_data, wait_for

API = "/api/v1"


def test_continue_over_http(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    client = sqlite_client
    curator, member = keys["curator"], keys["member"]
    donation = keys.donation_ids["member"]
    wanted = {"donation_id": donation, "stage": 0, "count": 2, "steps": 3}

    # Before any continuation model: a 404, nothing queued.
    missing = client.post(f"{API}/continuations", json=wanted, headers=member)
    assert missing.status_code == 404, missing.text
    assert "continuation model" in missing.json()["detail"]

    # 1. A curator trains the continuation model; it is deployed beside (no stage model here).
    body = {"preset": "tiny", "steps": 8, "variant": "continuation"}
    trained = wait_for(
        client, curator, accepted(client.post(f"{API}/runs", json=body, headers=curator), "train")
    )
    assert trained["state"] == "complete", trained
    run = client.get(trained["result"], headers=curator).json()
    assert (run["variant"], run["deployed"], run["items"]) == ("continuation", True, 4)

    # 2. A member continues a donated stage: two proposals, each a generation with its parent.
    done = wait_for(
        client,
        member,
        accepted(client.post(f"{API}/continuations", json=wanted, headers=member), "continue"),
    )
    assert done["state"] == "complete", done
    first = client.get(done["result"])
    assert first.status_code == 200, first.text
    record = first.json()
    assert record["parent"]["kind"] == "stage"
    assert record["parent"]["donation_id"] == donation
    assert record["parent"]["stage_index"] == 0
    assert record["role"] == "attempt"  # after the sketch, in the process order
    assert record["failure_type"] == "perspective"
    image = client.get(f"{done['result']}/image")
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    credentials = client.get(f"{done['result']}/credentials")  # C2PA, as for any generation
    assert credentials.status_code == 200, credentials.text
    assert credentials.json()["versions"]
    made = client.get(f"{API}/generations").json()["items"]
    assert len(made) == 2
    no_personal_data(first)

    # 3. An uploaded image with its labels, rolled out to a final.
    labels = {"role": "revision", "failure_type": "colour", "emotion": "joy", "count": 1,
              "to_final": True, "steps": 2}  # fmt: skip
    form = {"continuation": json.dumps(labels)}
    files = {"image": ("mine.png", factories.png(99), "image/png")}
    rolled = wait_for(
        client,
        member,
        accepted(
            client.post(f"{API}/continuations/upload", data=form, files=files, headers=member),
            "continue",
        ),
    )
    assert rolled["state"] == "complete", rolled
    upload = client.get(rolled["result"]).json()
    assert (upload["role"], upload["parent"]["kind"]) == ("final", "upload")


def test_continuation_refusals(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    client = sqlite_client
    curator, member = keys["curator"], keys["member"]
    body = {"preset": "tiny", "steps": 2, "variant": "continuation"}
    wait_for(
        client, curator, accepted(client.post(f"{API}/runs", json=body, headers=curator), "train")
    )
    donation = keys.donation_ids["member"]
    museum_generations = lambda: client.get(f"{API}/generations").json()["items"]  # noqa: E731
    for wanted, status in (
        ({"donation_id": str(uuid.uuid4()), "stage": 0}, 404),
        ({"donation_id": donation, "stage": 9}, 404),
        ({"donation_id": donation, "stage": 0, "count": 0}, 422),
        ({"donation_id": donation, "stage": 0, "count": 17}, 422),
        ({"donation_id": donation, "stage": 2, "to_final": True}, 422),  # already a final
        ({"donation_id": donation, "stage": 0, "colour": "blue"}, 422),
    ):
        refused = client.post(f"{API}/continuations", json=wanted, headers=member)
        assert refused.status_code == status, (wanted, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    # A donation without exhibit consent: its stage is not continued in public.
    revoked = client.post(
        f"{API}/donations/{donation}/consent",
        json={"purpose": "exhibit", "granted": False},
        headers=member,
    )
    assert revoked.status_code == 200, revoked.text
    hidden = client.post(
        f"{API}/continuations", json={"donation_id": donation, "stage": 0}, headers=member
    )
    assert hidden.status_code == 409, hidden.text
    assert "exhibit consent" in hidden.json()["detail"]
    labels = json.dumps({"role": "failure", "failure_type": "colour", "emotion": "joy"})
    for files, status in (
        ({"image": ("notes.png", b"not an image", "image/png")}, 422),
        ({"image": ("big.png", b"\x89PNG" + b"\0" * (10 * 1024 * 1024), "image/png")}, 413),
    ):
        refused = client.post(
            f"{API}/continuations/upload",
            data={"continuation": labels},
            files=files,
            headers=member,
        )
        assert refused.status_code == status, refused.text
    final = json.dumps({"role": "final", "failure_type": "colour", "emotion": "joy"})
    refused = client.post(
        f"{API}/continuations/upload",
        data={"continuation": final},
        files={"image": ("a.png", factories.png(4), "image/png")},
        headers=member,
    )
    assert refused.status_code == 422, refused.text
    assert "already a final" in refused.text
    bad_labels = client.post(f"{API}/continuations/upload", data={"continuation": "{}"},
                             files={"image": ("a.png", factories.png(4), "image/png")}, headers=member)  # fmt: skip
    assert bad_labels.status_code == 422, bad_labels.text
    assert museum_generations() == []
    assert (
        client.post(f"{API}/continuations", json={"donation_id": donation, "stage": 0}).status_code
        == 401
    )
    assert (
        client.post(
            f"{API}/continuations",
            json={"donation_id": donation, "stage": 0},
            headers=keys["compliance"],
        ).status_code
        == 403
    )
