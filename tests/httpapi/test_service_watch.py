"""A service you can watch: probes, a request id from the API into its jobs, JSON logs,
Prometheus metrics with no personal data, and API keys rotated with overlap."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
import urllib.error
import urllib.request

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.observe.jobs import observed
from api.observe.logs import RequestIdFilter, json_log_config
from api.observe.metrics import JOB_SECONDS
from api.observe.probes import Probes, serve_probes
from api.observe.readiness import ReadyRead
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.audit import full_audit

SCHEDULE = "/api/v1/models/retraining"


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    return caplog


def test_probes_answer_on_both_backends(client: TestClient[Litestar]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert [c["name"] for c in ready.json()["checks"]] == ["database", "queue", "blob_store"]
    blobs = museum_of(client).ledger.blobs.root
    shutil.rmtree(blobs)
    down = client.get("/readyz")
    assert down.status_code == 503
    assert [c["name"] for c in down.json()["checks"] if not c["ok"]] == ["blob_store"]
    assert client.get("/healthz").status_code == 200  # up, only not ready


def test_a_request_id_reaches_the_response_the_log_and_the_job(
    sqlite_client: TestClient[Litestar], keys: Keys, logged: pytest.LogCaptureFixture
) -> None:
    answered = sqlite_client.post(
        SCHEDULE, json={"now": True}, headers=keys["curator"] | {"X-Request-ID": "trace-42"}
    )
    assert answered.status_code == 202, answered.text
    assert answered.headers["x-request-id"] == "trace-42"
    job = answered.json()["job_id"]
    deadline = time.monotonic() + 30
    while sqlite_client.get(f"/api/v1/jobs/{job}", headers=keys["curator"]).json()["state"] in (
        "queued",
        "in_progress",
    ):
        assert time.monotonic() < deadline, "the retraining job did not finish"
        time.sleep(0.1)
    requests = [r for r in logged.records if r.name == "museum.http.requests"]
    mine = [r for r in requests if getattr(r, "request_id", None) == "trace-42"]
    assert [(r.method, r.route, r.status) for r in mine] == [("POST", SCHEDULE, 202)]  # type: ignore[attr-defined]
    done = [r for r in logged.records if "complete" in r.getMessage() and job in r.getMessage()]
    assert [getattr(r, "request_id", None) for r in done] == ["trace-42"]
    # A caller's id that is not a plain token is replaced, not written into the logs.
    odd = sqlite_client.get("/healthz", headers={"X-Request-ID": 'x" level=ERROR'})
    assert odd.headers["x-request-id"] != 'x" level=ERROR'
    assert len(odd.headers["x-request-id"]) == 32


def test_requests_are_logged_by_route_template_only(
    sqlite_client: TestClient[Litestar], keys: Keys, logged: pytest.LogCaptureFixture
) -> None:
    artist = keys.artist_ids["member"]
    sqlite_client.get(f"/api/v1/artists/{artist}?secret=s3cr3t", headers=keys["curator"])
    formatter = logging.Formatter()
    handler_config = json_log_config()["formatters"]["json"]
    assert handler_config["()"].endswith("JsonFormatter")
    served = [r for r in logged.records if r.name != "httpx"]  # httpx: the test's own client
    lines = [formatter.format(r) + json.dumps(r.__dict__, default=str) for r in served]
    assert any("/api/v1/artists/{artist_id}" in line for line in lines)
    assert not [line for line in lines if artist in line or "s3cr3t" in line]
    assert not [line for line in lines if "museum_" in line and "Bearer" in line]


def test_metrics_for_staff_count_requests_jobs_and_the_ledger(
    client: TestClient[Litestar],
) -> None:
    keys = issue_keys(museum_of(client))
    artist = keys.artist_ids["member"]
    assert client.get(f"/api/v1/artists/{artist}", headers=keys["curator"]).status_code == 200
    assert client.get("/api/v1/metrics", headers=keys["integrator"]).status_code == 403
    assert client.get("/api/v1/metrics").status_code == 401
    full_audit(museum_of(client).ledger)
    scraped = client.get("/api/v1/metrics", headers=keys["compliance"])
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = scraped.text
    assert 'path="/api/v1/artists/{artist_id}"' in text
    assert "museum_http_request_duration_seconds_bucket" in text
    events = museum_of(client).ledger.integrity.size()
    assert f"museum_ledger_events_total {float(events)}" in text
    assert "museum_ledger_verify_age_seconds " in text
    assert "museum_ledger_head_age_seconds " in text
    assert "museum_job_queue_depth 0.0" in text
    assert artist not in text
    assert "Pseudonym member" not in text


def test_an_api_key_rotates_with_overlap(sqlite_client: TestClient[Litestar], keys: Keys) -> None:
    old = keys["integrator"]
    rotated = sqlite_client.post("/api/v1/keys/rotate", headers=old)
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    new = {"Authorization": f"Bearer {body['issued']['secret']}"}
    assert body["old"]["replaced_by"] == body["issued"]["key"]["key_id"]
    assert body["old"]["expires_at"] is not None
    assert sqlite_client.get("/api/v1/me", headers=new).json()["role"] == "integrator"
    assert sqlite_client.get("/api/v1/me", headers=old).status_code == 200  # the overlap
    again = sqlite_client.post("/api/v1/keys/rotate", headers=old)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    at_once = sqlite_client.post("/api/v1/keys/rotate?overlap_hours=0", headers=new)
    assert at_once.status_code == 201
    assert sqlite_client.get("/api/v1/me", headers=new).status_code == 401
    newest = {"Authorization": f"Bearer {at_once.json()['issued']['secret']}"}
    assert sqlite_client.get("/api/v1/me", headers=newest).status_code == 200
    listed = {k.key_id: k for k in museum_of(sqlite_client).keys.list()}
    assert listed[body["issued"]["key"]["key_id"]].replaced_by is not None


def test_a_worker_answers_its_probes_and_times_its_jobs() -> None:
    probes = Probes()
    server = serve_probes("127.0.0.1", 0, probes)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as up:
            assert json.load(up) == {"status": "ok"}
        with pytest.raises(urllib.error.HTTPError) as starting:
            urllib.request.urlopen(f"{base}/readyz", timeout=5)
        assert starting.value.code == 503
        probes.ready = lambda: ReadyRead(status="ready", checks=[])
        probes.metrics = lambda: b"museum_job_queue_depth 0.0\n"
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as ready:
            assert json.load(ready)["status"] == "ready"
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as metrics:
            assert metrics.read() == b"museum_job_queue_depth 0.0\n"
    finally:
        server.shutdown()

    seen: list[str | None] = []

    async def job(ctx: dict[str, object], value: int) -> int:
        from api.observe.context import request_id

        seen.append(request_id.get())
        return value * 2

    before = JOB_SECONDS.labels("probe-test", "complete")._sum.get()
    wrapped = observed("probe-test", job)
    assert asyncio.run(wrapped({"job_id": "j1"}, 21, request_id="trace-7")) == 42
    assert seen == ["trace-7"]
    assert JOB_SECONDS.labels("probe-test", "complete")._sum.get() > before


def test_every_tree_head_key_is_public(sqlite_client: TestClient[Litestar]) -> None:
    keys = sqlite_client.get("/api/v1/ledger/keys").json()
    head = sqlite_client.get("/api/v1/ledger/head").json()
    assert [(k["key_id"], k["public_key"], k["current"]) for k in keys] == [
        (head["key_id"], head["public_key"], True)
    ]
