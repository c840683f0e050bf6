"""Distributed mode over HTTP: with `MUSEUM_REDIS_URL` the app queues jobs on real Redis and a
real `museum worker` process runs them on the same ledger; the job resource follows them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
import redis
from factories import seed_home
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.jobs.queued import QueuedJobs
from api.http.settings import HttpSettings
from api.jobs.settings import job_settings
from httpapi.conftest import issue_keys, museum_of
from httpapi.test_model import API, accepted, wait_for
from ledger.crypto import MasterKey
from ledger.settings import Settings, get_settings

REDIS_URL = os.environ.get("MUSEUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MASTER_KEY = MasterKey.generate_text()
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def queue_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A seeded home and this test's own queue on the real Redis (its keys deleted after)."""
    home = tmp_path / "var"
    seed_home(home, MASTER_KEY, artists=2)
    tag = f"museum-http-{uuid4().hex[:12]}"
    values = {
        "MUSEUM_HOME": str(home),
        "MUSEUM_MASTER_KEY": MASTER_KEY,
        "MUSEUM_REDIS_URL": REDIS_URL,
        "MUSEUM_QUEUE_NAME": f"{tag}:queue",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    job_settings.cache_clear()
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        probe.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the job tests ({REDIS_URL}): {exc}")
    try:
        yield values
    finally:
        get_settings.cache_clear()
        job_settings.cache_clear()
        probe.delete(*probe.scan_iter(match=f"arq:*{tag}*"), f"{tag}:queue")
        probe.close()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "worker"],
            env=environment | env | ONE_THREAD,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def test_jobs_submitted_over_http_run_on_an_arq_worker(
    queue_env: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(
        home=Path(queue_env["MUSEUM_HOME"]), master_key=MASTER_KEY, redis_url=REDIS_URL
    )
    http = HttpSettings(rate_limit="100000/minute", key_cache_seconds=0)
    log = tmp_path / "worker.log"
    with TestClient(create_app(settings, http), raise_server_exceptions=False) as client:
        museum = museum_of(client)
        assert isinstance(museum.jobs.runner, QueuedJobs)  # chosen by MUSEUM_REDIS_URL alone
        keys = issue_keys(museum)
        curator = keys["curator"]
        once = {"Idempotency-Key": "queued-run"}
        body = {"preset": "tiny", "seed": 3, "steps": 20}
        job = accepted(client.post(f"{API}/runs", json=body, headers=curator | once), "train")
        assert job["state"] == "queued"  # no worker yet
        again = accepted(client.post(f"{API}/runs", json=body, headers=curator | once), "train")
        assert again["job_id"] == job["job_id"]
        assert (
            client.post(
                f"{API}/runs", json=body | {"steps": 21}, headers=curator | once
            ).status_code
            == 409
        )
        assert (
            client.post(f"{API}/runs", json={"preset": "huge"}, headers=curator).status_code == 422
        )

        worker = _worker(queue_env, log)
        try:
            trained = wait_for(client, curator, job)
            assert trained["state"] == "complete", (trained, log.read_text())
            assert trained["progress"] == {"step": 20, "total": 20}
            run = client.get(trained["result"], headers=curator).json()
            assert (run["state"], run["deployed"]) == ("completed", True)

            wanted = {"role": "final", "emotion": "joy", "seed": 2, "steps": 4}
            made = wait_for(
                client,
                keys["integrator"],
                accepted(
                    client.post(f"{API}/generations", json=wanted, headers=keys["integrator"]),
                    "generate",
                ),
            )
            assert made["state"] == "complete", (made, log.read_text())
            image = client.get(f"{made['result']}/image")
            assert image.content.startswith(b"\x89PNG")
            assert client.get(made["result"]).json()["model_version"] == run["run_id"]
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
