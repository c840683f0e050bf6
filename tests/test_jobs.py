"""Training, retraining and generation as jobs: in-process, on real arq workers, and retried
after a worker is killed mid-run. Real Redis, real worker processes, no mocks."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
import redis
from factories import seed_home
from retraining_world import deploy_recorded_version

from api import jobs
from api.jobs.results import ContinueJobResult, RetrainJobResult, TrainJobResult
from generation.credentials.service import ContentCredentialService
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.credential_records import CredentialRecords
from ledger.crypto import MasterKey
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import NotFound
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import Settings, get_settings

REDIS_URL = os.environ.get("MUSEUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MASTER_KEY = MasterKey.generate_text()
LEASE_S = 4  # how soon a killed worker's job is taken up again, in these tests
STEPS = 80  # long enough to kill the first worker between its first report (step 20) and the end
# One torch thread per process: on a small shared machine, oversubscribed threads make the tiny
# model train several times slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
T = TypeVar("T")


def _settings(home: Path) -> Settings:
    return Settings(home=home, master_key=MASTER_KEY)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    seed_home(path, MASTER_KEY)
    return path


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def ledger(home: Path) -> Iterator[MuseumLedger]:
    with opened_ledger(_settings(home)) as app:
        yield app


def _event_names(ledger: MuseumLedger, aggregate_id: Any) -> Counter[str]:
    return Counter(type(e).__name__ for e in ledger.events.get(aggregate_id))


def _progress_keys(ledger: MuseumLedger, run_id: Any) -> list[tuple[int, int]]:
    return [
        (e.shard, e.step)  # type: ignore[attr-defined]
        for e in ledger.events.get(run_id)
        if type(e).__name__ == "TrainingProgressRecorded"
    ]


# --- embedded: the job functions in this process ----------------------------------------------


def test_inline_jobs_train_generate_and_record_once_per_job_id(
    ledger: MuseumLedger, one_torch_thread: None
) -> None:
    reports: list[Any] = []
    trained = jobs.run_job_inline(
        "train",
        "inline-train",
        ledger=ledger,
        on_progress=reports.append,
        preset="tiny",
        seed=1,
        shards=1,
        steps=40,
    )
    run_id = TrainingRun.create_id("inline-train")
    assert trained.run_id == str(run_id)
    assert trained.state == "completed"
    assert trained.deployed
    assert [r.step for r in reports] == [20, 40]

    made = jobs.run_job_inline(
        "generate",
        "inline-gen",
        ledger=ledger,
        role="failure",
        emotion="doubt",
        seed=5,
        steps=8,
        version=None,
    )
    assert made.generation_id == str(Generation.create_id("inline-gen"))
    assert made.model_version == str(run_id)
    png = ledger.blobs.get(made.blob_id)
    assert png.startswith(b"\x89PNG")

    # The same job ids again: the same answers, and not one event more.
    before = ledger.recorder.max_notification_id()
    assert (
        jobs.run_job_inline(
            "train", "inline-train", ledger=ledger, preset="tiny", seed=1, shards=1, steps=40
        )
        == trained
    )
    again = jobs.run_job_inline(
        "generate",
        "inline-gen",
        ledger=ledger,
        role="failure",
        emotion="doubt",
        seed=5,
        steps=8,
        version=str(run_id),
    )
    assert again == made
    assert ledger.recorder.max_notification_id() == before
    events = _event_names(ledger, run_id)
    assert events["TrainingRunStarted"] == events["TrainingRunCompleted"] == 1
    assert _event_names(ledger, Generation.create_id("inline-gen"))["GenerationMade"] == 1
    ledger.integrity.verify()


def test_inline_refusals_record_nothing(ledger: MuseumLedger) -> None:
    before = ledger.recorder.max_notification_id()
    train = {"preset": "tiny", "seed": 0, "shards": 1, "steps": 5}
    draw = {"role": "final", "emotion": "joy", "seed": 0, "steps": 5, "version": None}
    cases: list[tuple[str, dict[str, Any], type[Exception], str]] = [
        ("train", train | {"preset": "huge"}, ValueError, "unknown preset"),
        ("train", train | {"steps": 0}, ValueError, "steps must be"),
        ("train", train | {"seed": -1}, ValueError, "seed must be"),
        ("train", train | {"shards": 999}, ValueError, "shards must be"),
        ("generate", draw | {"role": "x"}, ValueError, "stage role"),
        ("generate", draw, NotFound, "no model version"),
        ("generate", draw | {"version": "v1"}, ValueError, "not a run id"),
        ("attribute", {"generation_id": "g-1"}, ValueError, "not a generation id"),
        ("attribute", {"generation_id": str(uuid4())}, NotFound, "no generation"),
        ("attribute", {"generation_id": str(uuid4()), "top": 0}, ValueError, "top-k"),
        ("retrain", {"now": "yes"}, ValueError, "now must be true or false"),
        ("erase", {}, ValueError, "unknown job"),
    ]
    for name, kwargs, error, needle in cases:
        with pytest.raises(error, match=needle):
            jobs.run_job_inline(name, f"refused-{uuid4().hex}", ledger=ledger, **kwargs)
    assert ledger.recorder.max_notification_id() == before


def test_an_inline_retrain_with_nothing_scheduled_records_nothing(ledger: MuseumLedger) -> None:
    before = ledger.recorder.max_notification_id()
    idle = jobs.run_job_inline("retrain", "inline-retrain", ledger=ledger, now=True)
    assert (idle.job, idle.state, idle.run_id) == ("retrain", "nothing-due", None)
    assert (idle.reason, idle.requests, idle.deployed) == ("no retraining is scheduled", [], False)
    assert ledger.recorder.max_notification_id() == before


# --- distributed: `museum worker` processes on a real Redis -----------------------------------


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[dict[str, str]]:
    """A queue of this test's own on the real Redis; its keys are deleted afterwards.

    Returns the environment of a worker (and sets it here, for `jobs.submit`)."""
    tag = f"museum-test-{uuid4().hex[:12]}"
    env = {
        "MUSEUM_HOME": str(home),
        "MUSEUM_MASTER_KEY": MASTER_KEY,
        "MUSEUM_REDIS_URL": REDIS_URL,
        "MUSEUM_QUEUE_NAME": f"{tag}:queue",
        "MUSEUM_JOB_LEASE": str(LEASE_S),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    jobs.job_settings.cache_clear()
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for the job tests ({REDIS_URL}): {exc}")
    try:
        yield env | {"tag": tag}
    finally:
        get_settings.cache_clear()
        jobs.job_settings.cache_clear()
        keys = [
            *client.scan_iter(match=f"arq:*{tag}*"),
            f"{tag}:queue",
            f"{tag}:queue:health-check",
        ]
        client.delete(*keys)
        client.close()


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")}
    environment |= {k: v for k, v in env.items() if k.startswith("MUSEUM_")} | ONE_THREAD
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "worker"],
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )


def _kill(worker: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> None:
    if worker.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, sig)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _until(probe: Callable[[], T | None], *, timeout: float, what: str, log: Path) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_worker_killed_mid_run_is_retried_by_another_without_duplicates(
    queue: dict[str, str], ledger: MuseumLedger, tmp_path: Path
) -> None:
    log = tmp_path / "workers.log"
    job_id = f"{queue['tag']}-train"
    run_id = TrainingRun.create_id(job_id)
    records = ModelRecords(ledger)
    workers = [_start_worker(queue, log)]
    try:
        submitted = jobs.submit("train", job_id, preset="tiny", seed=2, shards=1, steps=STEPS)
        assert submitted.created

        # 1. The first worker trains; kill it (its whole process group) once progress shows.
        def progressed() -> TrainingRun | None:
            try:
                run = records.get_run(run_id)
            except NotFound:
                return None
            return run if run.losses else None

        _until(progressed, timeout=180, what="the first progress report", log=log)
        _kill(workers[0])
        killed_at = records.get_run(run_id)
        assert killed_at.state == "running", "the run finished before the worker was killed"
        duplicate = jobs.submit("train", job_id, preset="tiny", seed=2, shards=1, steps=STEPS)
        assert not duplicate.created
        assert duplicate.status in {"in_progress", "queued"}  # the dead worker's lease, or after

        # 2. A second worker takes the job up once the dead worker's lease runs out.
        killed = time.monotonic()
        workers.append(_start_worker(queue, log))
        result = jobs.wait_for_result(job_id, timeout=240, poll_interval=0.2)
        assert result.state == "completed"
        assert result.tries == 2
        assert time.monotonic() - killed < 240

        # 3. The ledger holds every fact once.
        events = _event_names(ledger, run_id)
        assert events["TrainingRunStarted"] == 1
        assert events["TrainingRunCompleted"] == 1
        assert events["TrainingRunFailed"] == 0
        steps = _progress_keys(ledger, run_id)
        assert len(steps) == len(set(steps))
        assert sorted(steps) == [(0, s) for s in range(20, STEPS + 1, 20)]
        run = records.get_run(run_id)
        marks = [(c["shard"], c["step"]) for c in run.checkpoints]
        assert marks == [(0, STEPS)]
        assert len({c["hash"] for c in run.checkpoints}) == len(run.checkpoints)
        registry = records.registry()
        assert registry.active_run is None
        assert registry.deployed == run_id
        ledger.integrity.verify()

        # 4. Submitting the id again runs nothing: the finished job's result is reported.
        before = ledger.recorder.max_notification_id()
        again = jobs.submit("train", job_id, preset="tiny", seed=2, shards=1, steps=STEPS)
        assert (again.created, again.status) == (False, "complete")
        assert jobs.wait_for_result(job_id) == result

        # 5. A generation on the worker, with that model version.
        made = jobs.submit(
            "generate", f"{queue['tag']}-gen", role="final", emotion="calm", seed=9, steps=8,
            version=str(run_id),
        )  # fmt: skip
        assert made.created
        remote = jobs.wait_for_result(made.job_id, timeout=120, poll_interval=0.2)
        generation = records.get_generation(Generation.create_id(made.job_id))
        assert remote.generation_id == str(generation.id)
        assert remote.model_version == str(generation.model_version) == str(run_id)
        assert remote.output_sha256 == generation.output_sha256
        png = ledger.blobs.get(generation.blob_id)
        assert hashlib.sha256(png).hexdigest() == generation.output_sha256
        # The generation, and the first version of its content credentials, signed on the worker.
        assert ledger.recorder.max_notification_id() == before + 2
        signed, _ = ContentCredentialService(ledger).current(generation.id)
        assert [v["attribution_id"] for v in signed.versions] == [None]

        # 6. A refusal on the worker reaches the submitter as the same ledger error; arguments
        # that need no ledger are refused before anything is queued.
        unknown = uuid4()
        refused = jobs.submit(
            "generate", f"{queue['tag']}-refused", role="final", emotion="calm", seed=9,
            steps=8, version=str(unknown),
        )  # fmt: skip
        with pytest.raises(NotFound, match=f"no training run or model version {unknown}"):
            jobs.wait_for_result(refused.job_id, timeout=120, poll_interval=0.2)
        with pytest.raises(ValueError, match="unknown preset"):
            jobs.submit("train", f"{queue['tag']}-bad", preset="huge", seed=0, shards=1, steps=5)
        assert ledger.recorder.max_notification_id() == before + 2

        # 7. The generation is credited on the worker, which builds the run's index itself.
        credit = jobs.submit(
            "attribute", f"{queue['tag']}-credit", generation_id=str(generation.id),
            top=3, timesteps=2, dim=64,
        )  # fmt: skip
        credited = jobs.wait_for_result(credit.job_id, timeout=180, poll_interval=0.2)
        recorded = AttributionRecords(ledger).for_generation(generation.id)
        assert [str(a.id) for a in recorded] == [credited.attribution_id]
        assert len(credited.top_k) == 3
        assert sum(line.ppm for line in credited.credits) == 1_000_000
        # The attribution, its listing under the generation, and credentials version 2.
        assert ledger.recorder.max_notification_id() == before + 5
        signed, _ = ContentCredentialService(ledger).current(generation.id)
        assert [v["attribution_id"] for v in signed.versions] == [None, str(recorded[0].id)]
        ledger.integrity.verify()
    finally:
        for worker in workers:
            _kill(worker, signal.SIGTERM)


def test_a_retraining_job_runs_on_a_worker_once(
    queue: dict[str, str], ledger: MuseumLedger, tmp_path: Path
) -> None:
    """An erasure of a donor of the deployed version, served on a worker: the one shard is
    retrained (the tiny preset, 10 steps), deployed, and the erasure certified."""
    version = deploy_recorded_version(ledger, shards=1)
    leaving = UUID(version.items[0]["artist_id"])
    ModelRecords(ledger).erase_artist(leaving, "leaving")
    log = tmp_path / "worker.log"
    worker = _start_worker(queue, log)
    job_id = f"{queue['tag']}-retrain"
    try:
        assert jobs.submit("retrain", job_id, now=True).created
        result = jobs.wait_for_result(job_id, timeout=240, poll_interval=0.2)
        assert isinstance(result, RetrainJobResult), log.read_text()[-2000:]
        assert (result.state, result.deployed, result.tries) == ("completed", True, 1)
        assert (result.shards_retrained, result.shards_reused) == ([0], [])
        assert result.erasures_certified == [str(leaving)]
        assert ModelRecords(ledger).registry().deployed == TrainingRun.create_id(job_id)
        assert ledger.erasure_status(leaving).completed
        before = ledger.recorder.max_notification_id()
        again = jobs.submit("retrain", job_id, now=True)
        assert (again.created, again.status) == (False, "complete")
        assert jobs.wait_for_result(job_id) == result
        assert ledger.recorder.max_notification_id() == before
        ledger.integrity.verify()
    finally:
        _kill(worker, signal.SIGTERM)


def test_the_continuation_model_trains_and_proposes_on_a_worker(
    queue: dict[str, str], ledger: MuseumLedger, tmp_path: Path
) -> None:
    """`museum train --variant continuation` and `museum continue` as a worker runs them."""
    log = tmp_path / "worker.log"
    worker = _start_worker(queue, log)
    train_id, continue_id = f"{queue['tag']}-cont", f"{queue['tag']}-next"
    try:
        assert jobs.submit(
            "train", train_id, preset="tiny", seed=0, shards=1, steps=8, variant="continuation"
        ).created
        trained = jobs.wait_for_result(train_id, timeout=240, poll_interval=0.2)
        assert isinstance(trained, TrainJobResult), log.read_text()[-2000:]
        assert (trained.variant, trained.state, trained.deployed) == (
            "continuation",
            "completed",
            True,
        )
        donation = ModelRecords(ledger).donation_ids()[0]
        assert jobs.submit(
            "continue", continue_id, donation_id=str(donation), stage=0, count=2, steps=2
        ).created
        made = jobs.wait_for_result(continue_id, timeout=240, poll_interval=0.2)
        assert isinstance(made, ContinueJobResult), log.read_text()[-2000:]
        assert [len(series) for series in made.series] == [1, 1]
        assert made.parent.donation_id == str(donation)
        for series in made.series:
            generation = ModelRecords(ledger).get_generation(UUID(series[0].generation_id))
            assert generation.parent == {
                "kind": "stage",
                "donation_id": str(donation),
                "stage_index": 0,
                "fingerprint": ledger.get_donation(donation).stages[0].fingerprint,
            }
            assert CredentialRecords(ledger).find(generation.id) is not None  # signed by the job
    finally:
        _kill(worker, signal.SIGTERM)
