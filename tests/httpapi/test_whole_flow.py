"""The museum's whole flow once, as integrators see it: a real `museum serve` on PostgreSQL,
jobs on Redis run by a separate `museum worker` process, every step over HTTP.

register → donate (multipart) → consent → train (tiny) → generate → attribute → report revenue
→ statement → erase → certificate; and no API key ever reaches the server's or worker's log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import factories
import httpx
import pytest
import redis
from conftest import _postgres_database

from ledger.crypto import MasterKey

pytestmark = pytest.mark.postgres

REDIS_URL = os.environ.get("MUSEUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PERIOD = {"start": "2000-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    tag = f"museum-flow-{uuid4().hex[:12]}"
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        probe.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the flow test ({REDIS_URL}): {exc}")
    for url in _postgres_database():
        yield {
            "MUSEUM_HOME": str(tmp_path / "var"),
            "MUSEUM_DATABASE_URL": url,
            "MUSEUM_MASTER_KEY": MasterKey.generate_text(),
            "MUSEUM_REDIS_URL": REDIS_URL,
            "MUSEUM_QUEUE_NAME": f"{tag}:queue",
            "MUSEUM_HTTP_RATE_LIMIT": "100000/minute",
        }
    probe.delete(*probe.scan_iter(match=f"*{tag}*"), f"{tag}:queue")
    probe.close()


def _museum(env: dict[str, str], *args: str, log: Path | None = None) -> Any:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    command = [sys.executable, "-c", "from api.cli import main; main()", *args]
    if log is None:
        done = subprocess.run(
            command, env=environment | env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    with log.open("ab") as sink:
        return subprocess.Popen(
            command, env=environment | env | ONE_THREAD, stdout=sink, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _done(api: httpx.Client, headers: dict[str, str], answer: httpx.Response) -> dict[str, Any]:
    """Follow a 202's job to its end; it must complete."""
    assert answer.status_code == 202, answer.text
    location = answer.headers["location"].removeprefix("/api/v1")  # the client has that base
    deadline = time.monotonic() + 300
    while True:
        job: dict[str, Any] = api.get(location, headers=headers).json()
        if job["state"] == "complete":
            return job
        assert job["state"] != "failed", job
        assert time.monotonic() < deadline, job
        time.sleep(0.25)


def _donate(api: httpx.Client, headers: dict[str, str], consents: list[str]) -> dict[str, Any]:
    roles = ("sketch", "failure", "final")
    manifest = {
        "label": {
            "title": "Harbour at dusk",
            "creative_intent": "Catch the moment the lamps come on",
            "failure_type": "perspective",
            "emotion": "frustration",
            "failure_note": "I kept fixing the boats and forgot the horizon.",
        },
        "stages": [
            {"role": role, "created_at": f"2024-03-0{n + 1}T09:00:00+00:00", "caption": role}
            for n, role in enumerate(roles)
        ],
        "attestation": {"affirmed": True},
        "consents": consents,
    }
    files = [("donation", (None, json.dumps(manifest)))] + [
        ("stage", (f"{role}.png", factories.png(40 * n + 10), "image/png"))
        for n, role in enumerate(roles)
    ]
    made = api.post("/donations", files=files, headers=headers)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def test_the_whole_flow_over_http_with_a_worker(env: dict[str, str], tmp_path: Path) -> None:
    secrets = {
        role: _museum(env, "keys", "create", "--role", role, "--name", f"flow {role}", "--json")[
            "secret"
        ]
        for role in ("curator", "integrator", "compliance")
    }
    curator, integrator = _bearer(secrets["curator"]), _bearer(secrets["integrator"])
    compliance = _bearer(secrets["compliance"])
    port = _free_port()
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = _museum(env, "serve", "--port", str(port), log=server_log)
    worker = _museum(env, "worker", log=worker_log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60) as api:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if api.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, server_log.read_text()
                time.sleep(0.2)
            # Two donors register; one donates for training, the other only to exhibit.
            joined = []
            for pseudonym in ("Ink Moth", "Salt Heron"):
                answer = api.post(
                    "/artists",
                    json={
                        "pseudonym": pseudonym,
                        "legal_name": "Ana Lucía Ruiz",
                        "contact": "ana.ruiz@example.org",
                    },
                )
                assert answer.status_code == 201, answer.text
                joined.append(answer.json())
            donor, shown = (
                (entry["artist"]["artist_id"], _bearer(entry["key"]["secret"])) for entry in joined
            )
            donor_id, donor_key = donor
            shown_id, shown_key = shown
            secrets |= {"donor": donor_key["Authorization"], "shown": shown_key["Authorization"]}
            trained = _donate(api, donor_key, ["exhibit", "train"])
            exhibited = _donate(api, shown_key, ["exhibit"])
            donation_id = trained["donation"]["donation_id"]
            consent = api.post(
                f"/donations/{donation_id}/consent",
                json={"purpose": "commercial", "granted": True},
                headers=donor_key,
            )
            assert consent.status_code in (200, 201), consent.text
            # The model: trained on the worker, on the consented stages only.
            run = _done(
                api,
                curator,
                api.post(
                    "/runs",
                    json={"preset": "tiny", "seed": 1, "steps": 20},
                    headers=curator | {"X-Request-ID": "flow-train-1"},
                ),
            )
            model = api.get("/models/deployed").json()
            assert model["version"] == run["result_id"]
            report = api.get(f"/compliance/runs/{run['result_id']}", headers=compliance).json()
            assert {item["donation_id"] for item in report["items"]} == {donation_id}
            generation = _done(
                api,
                integrator,
                api.post(
                    "/generations",
                    json={"role": "final", "emotion": "joy", "seed": 7, "steps": 4},
                    headers=integrator,
                ),
            )
            generation_id = generation["result_id"]
            image = api.get(f"/generations/{generation_id}/image")
            assert image.content.startswith(b"\x89PNG")
            _done(
                api,
                integrator,
                api.post(
                    f"/generations/{generation_id}/attributions",
                    json={"timesteps": 2, "dim": 64, "top": 3, "checkpoints": 1},
                    headers=integrator,
                ),
            )
            attribution = api.get(f"/generations/{generation_id}/attribution").json()
            assert [line["pseudonym"] for line in attribution["credits"]] == ["Ink Moth"]
            assert sum(line["ppm"] for line in attribution["credits"]) == 1_000_000
            # Revenue, once per key however often it is sent, then the donor's statement.
            sale = {
                "generation_id": generation_id,
                "amount_minor": 10_000,
                "currency": "EUR",
                "reference": "print 1",
            }
            keyed = integrator | {"Idempotency-Key": "flow-sale-1"}
            first = api.post("/revenue", json=sale, headers=keyed)
            again = api.post("/revenue", json=sale, headers=keyed)
            assert (first.status_code, again.status_code) == (201, 201), first.text
            assert again.json() == first.json()
            statement = api.get(f"/artists/{donor_id}/statement", params=PERIOD, headers=donor_key)
            assert statement.status_code == 200, statement.text
            [euros] = statement.json()["currencies"]
            assert euros["currency"] == "EUR"
            assert euros["earned"] > 0, statement.text
            assert euros["revenue_lines"]
            # Erasure: the exhibited donor's completes at once (no model used their stages) and
            # has a certificate; the trained donor's waits for the retraining of the model.
            erased = api.post(
                f"/artists/{shown_id}/erasure", json={"reason": "flow"}, headers=shown_key
            )
            assert erased.status_code == 202, erased.text
            certificate = api.get(f"/artists/{shown_id}/erasure/certificate", headers=compliance)
            assert certificate.status_code == 200, certificate.text
            assert certificate.json()["retraining_runs"] == []
            assert api.get(f"/donations/{exhibited['donation']['donation_id']}").status_code == 404
            waiting = api.post(f"/artists/{donor_id}/erasure", json={}, headers=donor_key).json()
            assert waiting["completed"] is False
            assert waiting["awaiting_retraining_of"] == [run["result_id"]]
            pending = api.get(f"/artists/{donor_id}/erasure/certificate", headers=compliance)
            assert pending.status_code == 404
    finally:
        _stop(worker)
        _stop(server)
    logs = server_log.read_text() + worker_log.read_text()
    # The request log is on (JSON lines, by route template), and still names no key.
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/api/v1/health" for line in lines)
    # The request that queued the training reaches the worker's lines about its job.
    worker_lines = [json.loads(x) for x in worker_log.read_text().splitlines() if x[:1] == "{"]
    traced = [line["message"] for line in worker_lines if line.get("request_id") == "flow-train-1"]
    assert any("(train) started" in message for message in traced), traced
    for secret in secrets.values():
        assert secret.removeprefix("Bearer ") not in logs
