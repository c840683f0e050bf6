"""Retraining over HTTP: an erasure schedules it (a repeat is a 409), the schedule shows it
(who asked: staff only), and a `retrain` job serves it: nothing before its batch is due, the
changed shard retrained for real with `now`, the erasure then complete with its certificate."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from retraining_world import STEPS, deploy_recorded_version, donor_in_shard

from httpapi.conftest import Keys, museum_of
from httpapi.test_model import accepted, wait_for

API = "/api/v1"
SCHEDULE = f"{API}/models/retraining"


def _bearer(client: TestClient[Litestar], artist_id: Any) -> dict[str, str]:
    secret = museum_of(client).keys.create("artist", "leaving donor", artist_id).secret
    return {"Authorization": f"Bearer {secret}"}


def test_an_erasure_is_scheduled_served_and_certified(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    client = sqlite_client
    ledger = museum_of(client).ledger
    curator, compliance, member = keys["curator"], keys["compliance"], keys["member"]
    empty = client.get(SCHEDULE, headers=compliance)
    assert empty.status_code == 200, empty.text
    assert (empty.json()["pending"], empty.json()["due_at"], empty.json()["due"]) == (
        [],
        None,
        False,
    )
    assert empty.json()["window_seconds"] == 24 * 3600

    # 1. Two shards: the leaving donor shares shard 0 with another; shard 1 holds a third.
    leaving = donor_in_shard(ledger, 0, 2, shade=10)
    donor_in_shard(ledger, 0, 2, shade=20)
    donor_in_shard(ledger, 1, 2, shade=30)
    version = deploy_recorded_version(ledger, shards=2)
    headers = _bearer(client, leaving)
    url = f"{API}/artists/{leaving}/erasure"
    asked = client.post(url, json={"reason": "withdraw"}, headers=headers)
    assert asked.status_code == 202, asked.text
    status = asked.json()
    assert status["completed"] is False
    assert "overdue" not in status  # defaults are left out
    assert status["awaiting_retraining_of"] == [str(version.id)]
    assert status["retraining_due_at"] > status["requested_at"]
    assert 29 * 86400 < status["time_left_seconds"] <= 30 * 86400
    again = client.post(url, json={}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert "already erased" in again.json()["detail"]

    # 2. The schedule: staff see who asked, a member sees only the cause and the times.
    seen = client.get(SCHEDULE, headers=compliance).json()
    (request,) = seen["pending"]
    assert (request["cause"], request["subject"], request["donations"]) == (
        "erasure",
        str(leaving),
        1,
    )
    assert request["due_at"] == seen["due_at"] == status["retraining_due_at"]
    assert seen["due"] is False
    shown = client.get(SCHEDULE, headers=member)
    assert shown.status_code == 200, shown.text
    assert shown.json()["pending"][0]["subject"] is None
    assert str(leaving) not in shown.text

    # 3. A retraining before the batch is due serves nothing; its result is the schedule.
    idle = wait_for(
        client, curator, accepted(client.post(SCHEDULE, json={}, headers=curator), "retrain")
    )
    assert idle["state"] == "complete", idle
    assert (idle["result"], idle["result_id"]) == (SCHEDULE, None)
    assert len(client.get(SCHEDULE, headers=curator).json()["pending"]) == 1

    # 4. `now`: compliance starts it (an Idempotency-Key names the job); shard 0 is retrained.
    once = compliance | {"Idempotency-Key": "erasure-deadline"}
    job = accepted(client.post(SCHEDULE, json={"now": True}, headers=once), "retrain")
    same = accepted(client.post(SCHEDULE, json={"now": True}, headers=once), "retrain")
    assert same["job_id"] == job["job_id"]
    other = client.post(SCHEDULE, json={"now": False}, headers=once)
    assert other.status_code == 409, other.text
    done = wait_for(client, compliance, job)
    assert done["state"] == "complete", done
    assert done["progress"] == {"step": STEPS, "total": STEPS}  # one shard retrained, one reused
    assert done["result"] == f"{API}/runs/{done['result_id']}"
    run = client.get(done["result"], headers=compliance).json()
    assert (run["state"], run["deployed"]) == ("completed", True)
    assert client.get(f"{API}/models/deployed").json()["version"] == done["result_id"]

    # 5. The erasure is complete, with its certificate; nothing is pending any more.
    closed = client.get(url, headers=compliance).json()
    assert closed["completed"] is True
    assert closed["certificate"]["retraining_runs"] == [done["result_id"]]
    assert client.get(f"{url}/certificate", headers=compliance).status_code == 200
    after = client.get(SCHEDULE, headers=compliance).json()
    assert (after["pending"], after["in_flight"], after["served"]) == ([], [], 1)
    report = client.get(f"{API}/compliance/erasures", headers=compliance).json()
    (line,) = report["erasures"]
    assert (line["state"], line["retraining_runs"], line["overdue"]) == (
        "complete",
        [done["result_id"]],
        False,
    )


def test_bad_retraining_requests_are_refused(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    bodies: list[Any] = [{"now": "yes"}, {"now": True, "shards": 2}, []]
    for body in bodies:
        refused = sqlite_client.post(SCHEDULE, json=body, headers=keys["curator"])
        assert refused.status_code in (400, 422), (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
