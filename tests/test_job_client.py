"""The async job client from inside a running event loop, against real Redis and a real
`museum worker --burst` process; and the worker's ledger, opened once and closed at shutdown."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import redis
from factories import seed_home

from api import jobs
from api.jobs import client
from ledger.application import MuseumLedger
from ledger.crypto import MasterKey
from ledger.domain.model import TrainingRun
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings, get_settings

REDIS_URL = os.environ.get("MUSEUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MASTER_KEY = MasterKey.generate_text()
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    seed_home(path, MASTER_KEY, artists=2)
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[dict[str, str]]:
    """This test's own queue on the real Redis (deleted afterwards), set here and for a worker."""
    tag = f"museum-test-{uuid4().hex[:12]}"
    values = {
        "MUSEUM_HOME": str(home),
        "MUSEUM_MASTER_KEY": MASTER_KEY,
        "MUSEUM_REDIS_URL": REDIS_URL,
        "MUSEUM_QUEUE_NAME": f"{tag}:queue",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    jobs.job_settings.cache_clear()
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        probe.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the job tests ({REDIS_URL}): {exc}")
    try:
        yield values | {"tag": tag}
    finally:
        get_settings.cache_clear()
        jobs.job_settings.cache_clear()
        probe.delete(*probe.scan_iter(match=f"arq:*{tag}*"), f"{tag}:queue")
        probe.close()


def _burst_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`museum worker --burst`: runs what is queued, then shuts down and exits."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    environment |= {k: v for k, v in env.items() if k.startswith("MUSEUM_")} | ONE_THREAD
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "worker", "--burst"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def test_async_client_submits_and_waits_inside_a_running_loop(
    env: dict[str, str], home: Path, tmp_path: Path
) -> None:
    job_id = f"{env['tag']}-train"
    log = tmp_path / "worker.log"
    ticks: list[int] = []

    async def ticker() -> None:  # runs only while the client leaves the loop free
        while True:
            ticks.append(len(ticks))
            await asyncio.sleep(0.05)

    async def handler() -> dict[str, Any]:
        """What an HTTP handler does: await the client, on a pool it holds; no asyncio.run."""
        beat = asyncio.create_task(ticker())
        try:
            async with client.pool() as queue:
                submitted = await client.submit(
                    "train", job_id, redis=queue, preset="tiny", seed=3, shards=1, steps=20
                )
                assert (submitted.created, submitted.status) == (True, "queued")
                assert await client.status(job_id, redis=queue) == "queued"
                assert await client.result(job_id, redis=queue) is None  # not run yet
                again = await client.submit(
                    "train", job_id, redis=queue, preset="tiny", seed=3, shards=1, steps=20
                )
                assert not again.created
                with pytest.raises(ValueError, match="unknown preset"):
                    await client.submit("train", f"{job_id}-bad", preset="huge", seed=0, shards=1)
                worker = _burst_worker(env, log)
                try:
                    waited = await client.wait_for_result(
                        job_id, redis=queue, timeout=240, poll_interval=0.2
                    )
                    ticks_while_waiting = len(ticks)
                    # 3. the burst worker finds the queue empty, closes its ledger and exits
                    code = await asyncio.to_thread(worker.wait, 120)
                finally:
                    if worker.poll() is None:
                        worker.kill()
                        worker.wait(timeout=20)
            assert code == 0, log.read_text()[-3000:]
            assert ticks_while_waiting > 5, "the client blocked the event loop while it waited"
            assert await client.status(job_id) == "complete"  # a pool of the call's own
            assert await client.result(job_id) == waited
            return waited
        finally:
            beat.cancel()

    result = asyncio.run(handler())
    assert result.state == "completed"
    assert result.run_id == str(TrainingRun.create_id(job_id))
    assert result.tries == 1
    text = log.read_text()
    assert text.count("museum worker ready") == 1
    assert "ledger closed" in text
    with opened_ledger(Settings(home=home, master_key=MASTER_KEY)) as ledger:
        run = ModelRecords(ledger).get_run(TrainingRun.create_id(job_id))
        assert run.state == "completed"
        assert ModelRecords(ledger).registry().deployed == run.id
        ledger.integrity.verify()


def test_unknown_job_ids_and_bad_names_are_refused_by_the_async_client(
    env: dict[str, str],
) -> None:
    async def look() -> None:
        assert await client.status(f"{env['tag']}-none") == "not_found"
        with pytest.raises(jobs.JobFailed, match="not queued and has no result"):
            await client.result(f"{env['tag']}-none")
        with pytest.raises(ValueError, match="unknown job 'erase'"):
            await client.submit("erase", f"{env['tag']}-erase")

    asyncio.run(look())


def test_worker_hooks_open_the_ledger_once_and_close_it_at_shutdown(
    env: dict[str, str], home: Path
) -> None:
    ctx: dict[str, Any] = {}
    asyncio.run(jobs.on_startup(ctx))
    ledger = ctx["ledger"]
    assert isinstance(ledger, MuseumLedger)
    assert "generation.service" in sys.modules  # torch loaded before the first job
    assert ModelRecords(ledger).registry().deployed is None  # a usable, open ledger
    with ledger.engine.connect():
        pass
    pool = ledger.engine.pool
    assert pool.checkedin() >= 1  # the connection went back to the engine's pool
    assert not ledger.closing.is_set()

    asyncio.run(jobs.on_shutdown(ctx))
    assert "ledger" not in ctx
    assert ledger.closing.is_set()  # eventsourcing's application was closed
    assert ledger.engine.pool is not pool  # disposed: its pool (and connections) replaced
    assert pool.checkedin() == 0
    asyncio.run(jobs.on_shutdown(ctx))  # a second shutdown (or one after a failed start): a no-op
