"""Runs, models, generations and attributions over HTTP, as jobs run in the app's own thread
(embedded mode): train the tiny model, generate, attribute; and every refusal on the way."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.settings import HttpSettings
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.crypto import MasterKey
from ledger.domain.model import TrainingRun
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings

API = "/api/v1"
PPM = 1_000_000
STEPS = 20  # one progress report (every 20 steps)
FAST_ATTRIBUTION = {"timesteps": 2, "dim": 64, "top": 3, "checkpoints": 1}
PERSONAL = ("Ana Lucía Ruiz", "ana.ruiz@example.org", "legal_name", "contact")


def wait_for(
    client: TestClient[Litestar], headers: dict[str, str], job: dict[str, Any]
) -> dict[str, Any]:
    """Poll the job resource until the job ends (a bound so a stuck job fails, not hangs)."""
    deadline = time.monotonic() + 300
    while True:
        response = client.get(f"{API}/jobs/{job['job_id']}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["state"] in ("queued", "in_progress", "complete", "failed")
        if body["state"] in ("complete", "failed"):
            return body
        assert time.monotonic() < deadline, f"job still {body['state']}: {body}"
        time.sleep(0.1)


def accepted(response: Any, kind: str) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{API}/jobs/{body['job_id']}"
    assert body["kind"] == kind
    assert body["state"] in ("queued", "in_progress", "complete")
    return body


def no_personal_data(*responses: Any) -> None:
    for response in responses:
        for secret in PERSONAL:
            assert secret not in response.text


def test_train_generate_attribute_over_http(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    client = sqlite_client
    curator, integrator, member = keys["curator"], keys["integrator"], keys["member"]

    # 1. A curator starts a run: 202 and a job; the same Idempotency-Key finds the same job.
    body = {"preset": "tiny", "seed": 1, "steps": STEPS}
    once = {"Idempotency-Key": "first-run"}
    job = accepted(client.post(f"{API}/runs", json=body, headers=curator | once), "train")
    again = accepted(client.post(f"{API}/runs", json=body, headers=curator | once), "train")
    assert again["job_id"] == job["job_id"]
    other = client.post(f"{API}/runs", json=body | {"seed": 2}, headers=curator | once)
    assert other.status_code == 409, other.text

    # 2. The job completes; its progress is the run's, read from the ledger.
    done = wait_for(client, curator, job)
    assert done["state"] == "complete", done
    assert done["progress"] == {"step": STEPS, "total": STEPS}
    assert done["result"] == f"{API}/runs/{done['result_id']}"
    run = client.get(done["result"], headers=integrator)
    assert run.status_code == 200, run.text
    read = run.json()
    assert (read["state"], read["deployed"], read["steps"], read["preset"]) == (
        "completed",
        True,
        STEPS,
        "tiny",
    )
    assert read["items"] == 6  # two donations of three stages, both with train consent
    assert read["checkpoints"]
    assert all(len(c["sha256"]) == 64 for c in read["checkpoints"])
    assert read["final_loss"] is not None
    assert read["loss"] is not None
    runs = client.get(f"{API}/runs", headers=keys["compliance"]).json()
    assert [r["run_id"] for r in runs["items"]] == [read["run_id"]]
    assert len([j for j in (job, again) if j["job_id"] == job["job_id"]]) == 2

    # 3. The run is the deployed model version, for anyone to see.
    deployed = client.get(f"{API}/models/deployed")
    assert deployed.status_code == 200, deployed.text
    assert (deployed.json()["version"], deployed.json()["deployed"]) == (read["run_id"], True)
    models = client.get(f"{API}/models").json()
    assert [m["version"] for m in models["items"]] == [read["run_id"]]

    # 4. A member generates; the record and the image are exhibition material.
    wanted = {"role": "failure", "emotion": "doubt", "seed": 5, "steps": 8}
    made = wait_for(
        client,
        member,
        accepted(client.post(f"{API}/generations", json=wanted, headers=member), "generate"),
    )
    assert made["state"] == "complete", made
    record = client.get(made["result"])
    assert record.status_code == 200, record.text
    generation = record.json()
    assert generation["model_version"] == read["run_id"]
    assert (generation["role"], generation["emotion"], generation["seed"]) == (
        "failure",
        "doubt",
        5,
    )
    image = client.get(f"{made['result']}/image")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(f"{made['result']}/attribution").status_code == 404  # none yet
    assert client.get(f"{made['result']}/attributions").json() == []

    # 5. An unknown method is refused before queueing; a known one credits the generation.
    path = f"{made['result']}/attributions"
    refused = client.post(path, json={"method": "divination"}, headers=integrator)
    assert refused.status_code == 422, refused.text
    credited = wait_for(
        client,
        integrator,
        accepted(client.post(path, json=FAST_ATTRIBUTION, headers=integrator), "attribute"),
    )
    assert credited["state"] == "complete", credited
    assert credited["result"] == path
    latest = client.get(f"{made['result']}/attribution")
    assert latest.status_code == 200, latest.text
    attribution = latest.json()
    assert attribution["attribution_id"] == credited["result_id"]
    assert sum(share["ppm"] for share in attribution["shares_ppm"]) == PPM
    assert sum(line["ppm"] for line in attribution["per_donation"]) == PPM
    assert sum(line["ppm"] for line in attribution["per_role"]) == PPM
    assert sum(line["ppm"] for line in attribution["credits"]) == PPM
    assert {line["pseudonym"] for line in attribution["credits"]} <= {
        "Pseudonym member",
        "Pseudonym other_artist",
    }
    assert len(attribution["top_k"]) == 3
    assert attribution["index_hash"]
    assert client.get(path).json() == [attribution]
    no_personal_data(run, record, latest, deployed)

    # 6. A second generation; the list pages by cursor, oldest first.
    second = wait_for(
        client,
        integrator,
        accepted(
            client.post(f"{API}/generations", json=wanted | {"seed": 6}, headers=integrator),
            "generate",
        ),
    )
    first_page = client.get(f"{API}/generations", params={"limit": 1}).json()
    assert [g["generation_id"] for g in first_page["items"]] == [made["result_id"]]
    assert first_page["cursor"] is not None
    rest = client.get(f"{API}/generations", params={"limit": 1, "cursor": first_page["cursor"]})
    assert [g["generation_id"] for g in rest.json()["items"]] == [second["result_id"]]
    assert rest.json()["cursor"] is None


@pytest.fixture
def backend_keys(client: TestClient[Litestar]) -> Keys:
    return issue_keys(museum_of(client))


def test_refusals(client: TestClient[Litestar], backend_keys: Keys) -> None:
    """On both backends: the checks before queueing, the 404s, the roles."""
    keys = backend_keys
    curator, member = keys["curator"], keys["member"]
    random_id = uuid.uuid4()

    # Bad input: 422 problem details, and nothing queued.
    for body in (
        {"preset": "huge"},
        {"preset": "tiny", "steps": 0},
        {"preset": "tiny", "shards": 0},
        {"preset": "tiny", "colour": "blue"},
        {},
    ):
        refused = client.post(f"{API}/runs", json=body, headers=curator)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        "unknown preset"
        in client.post(f"{API}/runs", json={"preset": "huge"}, headers=curator).text
    )
    bad_key = client.post(
        f"{API}/runs", json={"preset": "tiny"}, headers=curator | {"Idempotency-Key": "two words"}
    )
    assert bad_key.status_code == 422, bad_key.text
    assert client.get(f"{API}/runs", headers=curator).json()["items"] == []
    for body in (
        {"role": "masterpiece", "emotion": "doubt"},
        {"role": "final", "emotion": "ennui"},
    ):
        refused = client.post(f"{API}/generations", json=body, headers=member)
        assert refused.status_code == 422, refused.text
    assert client.get(f"{API}/generations", params={"cursor": "not-a-cursor"}).status_code == 422

    # Nothing deployed, nothing there: 404s.
    wanted = {"role": "final", "emotion": "joy"}
    assert client.post(f"{API}/generations", json=wanted, headers=member).status_code == 404
    assert client.get(f"{API}/models/deployed").status_code == 404
    assert client.get(f"{API}/models").json()["items"] == []
    for path in (
        f"/jobs/{random_id}",
        f"/runs/{random_id}",
    ):
        assert client.get(API + path, headers=curator).status_code == 404, path
    for path in ("", "/image", "/attribution", "/attributions"):
        assert client.get(f"{API}/generations/{random_id}{path}").status_code == 404, path
    unknown = client.post(f"{API}/generations/{random_id}/attributions", json={}, headers=member)
    assert unknown.status_code == 404, unknown.text

    # Roles: no key is a 401, a key of another role (or an artist with no donation) a 403.
    assert client.post(f"{API}/runs", json={"preset": "tiny"}).status_code == 401
    for role in ("integrator", "compliance", "member"):
        assert (
            client.post(f"{API}/runs", json={"preset": "tiny"}, headers=keys[role]).status_code
            == 403
        )
    assert client.post(f"{API}/generations", json=wanted, headers=keys["artist"]).status_code == 403
    assert (
        client.post(f"{API}/generations", json=wanted, headers=keys["compliance"]).status_code
        == 403
    )
    assert client.get(f"{API}/runs").status_code == 401
    assert client.get(f"{API}/runs", headers=member).status_code == 403
    assert client.get(f"{API}/jobs/{random_id}").status_code == 401


def test_a_failed_job_says_why(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    """A run that cannot start (no item has train consent) fails as a job, with its problem."""
    client = sqlite_client
    museum = client.app.state.museum
    for donation_id in keys.donation_ids.values():
        museum.ledger.revoke_consent(uuid.UUID(donation_id), "train")
    job = accepted(
        client.post(f"{API}/runs", json={"preset": "tiny", "steps": 5}, headers=keys["curator"]),
        "train",
    )
    failed = wait_for(client, keys["integrator"], job)
    assert failed["state"] == "failed", failed
    assert failed["problem"]["status"] == 422
    assert "nothing to train on" in failed["problem"]["detail"]
    assert failed["result"] is None


def test_stopping_the_app_stops_its_training_job(
    tmp_path: Path, http_settings: HttpSettings
) -> None:
    """Embedded mode: shutdown asks a running run to stop at its next progress report and
    waits for it, so the run is recorded as failed and the training slot is free again."""
    settings = Settings(home=tmp_path / "var", master_key=MasterKey.generate_text())
    with TestClient(create_app(settings, http_settings), raise_server_exceptions=False) as client:
        keys = issue_keys(museum_of(client))
        body = {"preset": "tiny", "steps": 1_000_000}
        job = accepted(client.post(f"{API}/runs", json=body, headers=keys["curator"]), "train")
        deadline = time.monotonic() + 300
        while (
            client.get(f"{API}/jobs/{job['job_id']}", headers=keys["curator"]).json()["progress"]
            or {"step": 0}
        )["step"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with opened_ledger(settings) as ledger:
        records = ModelRecords(ledger)
        run = records.get_run(TrainingRun.create_id(job["job_id"]))
        assert run.state == "failed"
        assert "stopped" in str(run.failure)
        assert records.registry().active_run is None
