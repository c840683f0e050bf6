"""Training, generation and attribution as jobs: one job function, in-process or on arq workers.

Embedded mode (no `MUSEUM_REDIS_URL`): `run_job_inline` calls the job function in this process.
Distributed mode: `submit` enqueues it on Redis under the caller's job id, any number of
`museum worker` processes run it, and `wait_for_result` waits for its outcome. Either way the job
body is `generation.service.train_run` / `generate` / `api.attribute.attribute`, keyed by the job
id (an attribution by generation, method and index hash), so a job that runs twice
(a retry after its worker died, a resubmission after its result expired) records each fact once.

Retry after a worker dies
-------------------------
arq marks a job as taken with the key `arq:in-progress:<job id>`; the job stays in the queue until
it finishes, and a worker skips it while that key exists. arq sets the key once, to expire after
the job timeout plus 10 s, and never renews it, so a worker killed with SIGKILL leaves its job
untouched for as long as the timeout: hours for a training job. Shortening the timeout instead
would cut long runs off.

So the key is used as a lease. The job timeout stays long (`MUSEUM_JOB_TIMEOUT`, 6 h by default),
while the job itself renews the key to `MUSEUM_JOB_LEASE` seconds (30 s by default) every third
of that, for as long as the work runs. A worker that dies stops renewing it, and another worker
takes the job up at most one lease (plus a poll interval) later, as try `job_try + 1`. The
trade-off is in the lease length: a short lease retries sooner, but a worker whose event loop or
Redis link stalls for longer than the lease would see its job started a second time beside it.
That costs time, never correctness: the ledger accepts each fact once and refuses the slower
writer's conflicting save.

A retry trains the run again from step 0 (training is deterministic for a seed), and the ledger
drops progress and checkpoints for steps it already holds. Each job may be tried
`MUSEUM_JOB_MAX_TRIES` times (3 by default); arq is allowed one try more, in which the job only
records the run as failed, so that a job given up on never keeps the training slot.

A worker told to stop (SIGTERM, SIGINT) asks a running training job to stop at its next progress
report and waits for it, so that its retry never runs beside it; the job goes back to the queue.

Settings (`JobSettings`): `MUSEUM_QUEUE_NAME` (default `museum:jobs`), `MUSEUM_JOB_TIMEOUT`,
`MUSEUM_JOB_LEASE`, `MUSEUM_JOB_MAX_TRIES`, `MUSEUM_JOB_KEEP_RESULT` (seconds a result, and so
the refusal of a repeated job id, is kept: 7 days) and `MUSEUM_WORKER_MAX_JOBS` (1: one model
at a time per worker process).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar
from uuid import UUID

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import health_check_key_suffix, in_progress_key_prefix
from arq.jobs import Job, JobResult, JobStatus
from arq.worker import Function, func
from eventsourcing.persistence import PersistenceError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from api.attribute import AttributeRequest, attribute, parse_generation_id
from ledger.application import MuseumLedger
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import ConfigurationError, Conflict, InvalidInput, LedgerError, NotFound
from ledger.model_records import ModelRecords
from ledger.settings import Settings, get_settings
from ledger.vocabulary import Emotion, StageRole, parse

__all__ = [
    "JOBS",
    "JobFailed",
    "JobSettings",
    "Submission",
    "WorkerSettings",
    "generate_job",
    "job_settings",
    "run_job_inline",
    "run_worker",
    "submit",
    "train_job",
    "validate",
    "wait_for_result",
]

if TYPE_CHECKING:
    from generation.service import RunProgress

logger = logging.getLogger("museum.jobs")

T = TypeVar("T")
Ctx = dict[str, Any]
JobFunction = Callable[..., Coroutine[Any, Any, dict[str, Any]]]


class JobSettings(BaseSettings):
    """`MUSEUM_*` settings of the job queue (beside `ledger.settings.Settings`)."""

    model_config = SettingsConfigDict(env_prefix="MUSEUM_", frozen=True, extra="ignore")

    queue_name: Annotated[str, Field(min_length=1)] = "museum:jobs"
    #: seconds a job may run
    job_timeout: Annotated[float, Field(gt=0)] = 6 * 3600.0
    #: seconds after which the job of a worker that died is taken up by another
    job_lease: Annotated[float, Field(gt=0)] = 30.0
    job_max_tries: Annotated[int, Field(ge=1, le=100)] = 3
    #: seconds a job's result (or error) is kept in Redis
    job_keep_result: Annotated[float, Field(gt=0)] = 7 * 86400.0
    worker_max_jobs: Annotated[int, Field(ge=1, le=100)] = 1


@cache
def job_settings() -> JobSettings:
    return JobSettings()


class JobFailed(LedgerError):
    """A job ended without a result: it crashed, timed out, or was given up after its tries."""


class Interrupted(Exception):
    """Raised inside a training thread when its worker stops; the job is retried elsewhere."""


# --- the job functions -------------------------------------------------------------------------


def _open_ledger() -> MuseumLedger:
    from ledger.runtime import open_ledger

    return open_ledger(get_settings())


def _with_ledger(ctx: Ctx, work: Callable[[MuseumLedger], T]) -> T:
    """Run `work` with the ledger in `ctx`, or with one opened (and closed) for this job."""
    given: MuseumLedger | None = ctx.get("ledger")
    if given is not None:
        return work(given)
    ledger = _open_ledger()
    try:
        return work(ledger)
    finally:
        ledger.close()
        ledger.engine.dispose()


async def _hold_lease(redis: ArqRedis, job_id: str, lease_s: float) -> None:
    """Keep arq's in-progress key alive for one lease at a time while the job runs."""
    key = in_progress_key_prefix + job_id
    while True:
        try:
            await redis.pexpire(key, max(1, round(lease_s * 1000)))
        except (RedisError, OSError) as exc:  # a blip: the next renewal may succeed
            logger.warning("could not renew the lease of job %s: %s", job_id, exc)
        await asyncio.sleep(lease_s / 3)


async def _in_thread(ctx: Ctx, stop: threading.Event, work: Callable[[], T]) -> T:
    """Run blocking work in a thread; hold the job's lease meanwhile (under a worker).

    Cancellation (worker shutdown, job timeout) sets `stop` and waits for the thread to notice,
    so that the job never runs twice at once on one ledger.
    """
    redis: ArqRedis | None = ctx.get("redis")
    settings = job_settings()
    lease = (
        asyncio.create_task(_hold_lease(redis, ctx["job_id"], settings.job_lease))
        if redis is not None
        else None
    )
    task = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(Exception):  # its outcome no longer matters: it is retried
            await task
        raise
    finally:
        if lease is not None:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lease


def _give_up_if_tried_out(ctx: Ctx, run_id: UUID | None, ledger: MuseumLedger) -> None:
    tries = int(ctx.get("job_try", 1))
    limit = job_settings().job_max_tries
    if tries <= limit:
        return
    reason = f"gave up after {limit} tries: the worker running the job stopped each time"
    if run_id is not None:
        _fail_run_quietly(ModelRecords(ledger), run_id, reason)
    raise JobFailed(f"job {ctx['job_id']} {reason}")


def _fail_run_quietly(records: ModelRecords, run_id: UUID, reason: str) -> None:
    """Release the training slot of a run that cannot go on; a no-op if it never started."""
    try:
        records.fail_run(run_id, reason)
    except NotFound:
        pass
    except Exception:  # the original error matters more than this one
        logger.exception("could not record the failure of run %s", run_id)


def _invalid(exc: ValueError) -> LedgerError:
    return exc if isinstance(exc, LedgerError) else InvalidInput(str(exc))


def validate(name: str, **kwargs: Any) -> None:
    """Refuse bad arguments before a job is queued: the checks that need no ledger."""
    try:
        if name == "train":
            from generation.presets import preset

            preset(kwargs["preset"])  # an unknown preset is refused before torch is imported
            from generation.service import run_config

            run_config(kwargs["preset"], steps=kwargs.get("steps"))
        elif name == "generate":
            parse(StageRole, kwargs["role"], "stage role")
            parse(Emotion, kwargs["emotion"], "emotion")
            _version(kwargs.get("version"))
        elif name == "attribute":
            _attribute_request(**kwargs).check()
        else:
            raise InvalidInput(f"unknown job {name!r}; expected one of: {', '.join(JOBS)}")
    except ValueError as exc:
        raise _invalid(exc) from None


def _version(version: str | None) -> UUID | None:
    if version is None:
        return None
    try:
        return UUID(str(version))
    except ValueError:
        raise InvalidInput(
            f"model version {version!r} is not a run id (a UUID such as 3f0c…)"
        ) from None


async def train_job(
    ctx: Ctx, preset: str, seed: int, shards: int, steps: int | None
) -> dict[str, Any]:
    """Train a model version on the consented collection (`generation.service.train_run`)."""
    job_id: str = ctx["job_id"]
    run_id = TrainingRun.create_id(job_id)
    stop = threading.Event()
    report: Callable[[RunProgress], None] | None = ctx.get("on_progress")
    timeout = job_settings().job_timeout
    deadline = time.monotonic() + timeout if "redis" in ctx else None

    def on_progress(progress: RunProgress) -> None:
        if stop.is_set():
            raise Interrupted(f"job {job_id} was interrupted at step {progress.step}")
        if deadline is not None and time.monotonic() > deadline:
            # A RuntimeError: train_run records the run as failed and frees the slot.
            raise RuntimeError(f"the job ran past its time limit of {timeout:.0f} s")
        if report is not None:
            report(progress)

    def work(ledger: MuseumLedger) -> dict[str, Any]:
        validate("train", preset=preset, steps=steps)
        from generation.service import train_run

        records = ModelRecords(ledger)
        _give_up_if_tried_out(ctx, run_id, ledger)
        with contextlib.suppress(NotFound):
            earlier = records.get_run(run_id)
            if earlier.state == "failed":
                raise Conflict(
                    f"training run {run_id} of job {job_id} failed ({earlier.failure}); "
                    "start a new job to train again"
                )
        try:
            run = train_run(
                ledger,
                job_id=job_id,
                preset_name=preset,
                seed=seed,
                shards=shards,
                steps=steps,
                on_progress=on_progress,
            )
        except Interrupted:
            raise  # the worker is stopping: the job goes back to the queue
        except Exception as exc:
            run = _settle(records, run_id, exc)
        return {
            "job": "train",
            "job_id": job_id,
            "run_id": str(run.id),
            "state": run.state,
            "final_loss": run.final_loss,
            "preset": run.config.get("preset", preset),
            "seed": run.seed,
            "shards": run.shards,
            "steps": run.config.get("train", {}).get("steps"),
            "items": len(run.items),
            "deployed": str(records.registry().deployed) == str(run.id),
            "tries": int(ctx.get("job_try", 1)),
        }

    return await _in_thread(ctx, stop, lambda: _with_ledger(ctx, work))


def _settle(records: ModelRecords, run_id: UUID, exc: Exception) -> TrainingRun:
    """After a training error: the run if another try of the job completed it meanwhile (a
    worker presumed dead was not); else record the run as failed, unless the database failed
    (worth retrying, and maybe a twin still trains), and raise."""
    try:
        run = records.get_run(run_id)
    except Exception:  # not started, or the database is down: nothing to settle
        run = None
    if run is not None and run.state == "completed":
        logger.warning("run %s was completed by another try of its job (%s)", run_id, exc)
        return run
    if not isinstance(exc, PersistenceError | SQLAlchemyError):
        _fail_run_quietly(records, run_id, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):
        raise _invalid(exc) from None
    raise exc


def _generation_result(generation: Generation, job_id: str) -> dict[str, Any]:
    return {
        "job": "generate",
        "job_id": job_id,
        "generation_id": str(generation.id),
        "state": "completed",
        "model_version": str(generation.model_version),
        "role": generation.conditioning["role"],
        "emotion": generation.conditioning["emotion"],
        "seed": generation.seed,
        "steps": generation.steps,
        "output_sha256": generation.output_sha256,
        "blob_id": generation.blob_id,
    }


async def generate_job(
    ctx: Ctx, role: str, emotion: str, seed: int, steps: int, version: str | None
) -> dict[str, Any]:
    """Make one image with a model version and record it (`generation.service.generate`)."""
    job_id: str = ctx["job_id"]
    validate("generate", role=role, emotion=emotion, version=version)

    def work(ledger: MuseumLedger) -> dict[str, Any]:
        records = ModelRecords(ledger)
        with contextlib.suppress(NotFound):  # done before: nothing to sample again
            return _generation_result(records.get_generation(Generation.create_id(job_id)), job_id)
        _give_up_if_tried_out(ctx, None, ledger)
        records.model_version(_version(version))  # refuse an unusable version before torch loads
        from generation.service import generate

        try:
            made = generate(
                ledger,
                job_id=job_id,
                role=role,
                emotion=emotion,
                seed=seed,
                steps=steps,
                version=_version(version),
            )
        except ValueError as exc:
            raise _invalid(exc) from None
        return _generation_result(made, job_id)

    return await _in_thread(ctx, threading.Event(), lambda: _with_ledger(ctx, work))


def _attribute_request(generation_id: str, **options: Any) -> AttributeRequest:
    """The job's arguments as a request; a misspelt option is refused like any bad input."""
    known = {"method", "top", "timesteps", "dim", "checkpoints"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInput(f"unknown attribute option(s): {', '.join(unknown)}")
    return AttributeRequest(generation_id=parse_generation_id(generation_id), **options)


async def attribute_job(ctx: Ctx, generation_id: str, **options: Any) -> dict[str, Any]:
    """Score a generation against its run's items and record the credit (`api.attribute`).

    Options: method, top, timesteps (K), dim (k), checkpoints (see `AttributeRequest`).
    """
    job_id: str = ctx["job_id"]
    request = _attribute_request(generation_id, **options)
    request.check()

    def work(ledger: MuseumLedger) -> dict[str, Any]:
        _give_up_if_tried_out(ctx, None, ledger)
        try:
            result = attribute(ledger, get_settings().home, request)
        except ValueError as exc:
            raise _invalid(exc) from None
        return {"job": "attribute", "job_id": job_id, "state": "completed", **result}

    return await _in_thread(ctx, threading.Event(), lambda: _with_ledger(ctx, work))


JOBS: dict[str, JobFunction] = {
    "train": train_job,
    "generate": generate_job,
    "attribute": attribute_job,
}


# --- embedded mode -----------------------------------------------------------------------------


def run_job_inline(
    name: str,
    job_id: str,
    *,
    on_progress: Callable[[Any], None] | None = None,
    ledger: MuseumLedger | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run a job in this process, as a worker would (without a lease: no one else can take it)."""
    function = _function(name)
    ctx: Ctx = {"job_id": job_id, "job_try": 1, "enqueue_time": datetime.now(UTC), "score": None}
    if on_progress is not None:
        ctx["on_progress"] = on_progress
    if ledger is not None:
        ctx["ledger"] = ledger
    return asyncio.run(function(ctx, **kwargs))


def _function(name: str) -> JobFunction:
    try:
        return JOBS[name]
    except KeyError:
        raise InvalidInput(f"unknown job {name!r}; expected one of: {', '.join(JOBS)}") from None


# --- distributed mode: the queue ---------------------------------------------------------------


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    settings = settings or get_settings()
    if not settings.redis_url:
        raise ConfigurationError(
            "no job queue: set MUSEUM_REDIS_URL (e.g. redis://127.0.0.1:6379/0); "
            "without it jobs run in-process"
        )
    try:
        return RedisSettings.from_dsn(settings.redis_url)
    except (RuntimeError, ValueError) as exc:
        raise ConfigurationError(f"MUSEUM_REDIS_URL is not a redis:// URL: {exc}") from None


async def _startup(ctx: Ctx) -> None:
    """Fail at start, not at the first job, when the ledger cannot be opened; load torch now."""
    ledger = _open_ledger()
    ledger.close()
    ledger.engine.dispose()
    await asyncio.to_thread(importlib.import_module, "generation.service")
    logger.info(
        "museum worker ready: queue %r, lease %.0f s, timeout %.0f s, %d tries",
        job_settings().queue_name,
        job_settings().job_lease,
        job_settings().job_timeout,
        job_settings().job_max_tries,
    )


def _optional_redis_settings() -> RedisSettings | None:
    try:
        return redis_settings()
    except ConfigurationError:
        return None


class WorkerSettings:
    """arq worker settings, read from the environment when this module is imported.

    `functions` carry a hard timeout a little past `MUSEUM_JOB_TIMEOUT`: training checks the
    soft limit at every progress report and fails its run cleanly, the hard one is a backstop.
    `max_tries` is one more than `MUSEUM_JOB_MAX_TRIES`: see the module docstring.
    """

    _jobs = job_settings()
    functions: ClassVar[list[Function]] = [
        func(
            train_job, name="train", timeout=_jobs.job_timeout + max(60.0, _jobs.job_timeout / 10)
        ),
        func(generate_job, name="generate", timeout=_jobs.job_timeout),
        func(attribute_job, name="attribute", timeout=_jobs.job_timeout),
    ]
    redis_settings = _optional_redis_settings()
    queue_name = _jobs.queue_name
    max_tries = _jobs.job_max_tries + 1
    job_timeout = _jobs.job_timeout
    keep_result = _jobs.job_keep_result
    max_jobs = _jobs.worker_max_jobs
    on_startup = _startup
    del _jobs


def run_worker(*, burst: bool = False) -> None:
    """Run an arq worker until it is told to stop (or, with `burst`, until the queue is empty)."""
    import logging.config

    from arq.logs import default_log_config
    from arq.worker import run_worker as arq_run_worker

    settings = redis_settings()  # refuses without MUSEUM_REDIS_URL
    config = default_log_config(verbose=False)
    config["loggers"]["museum.jobs"] = {"handlers": ["arq.standard"], "level": "INFO"}
    logging.config.dictConfig(config)
    try:
        arq_run_worker(WorkerSettings, redis_settings=settings, burst=burst)  # type: ignore[arg-type]
    except (RedisError, OSError) as exc:
        raise _unreachable(settings, exc) from None


def _unreachable(settings: RedisSettings, exc: BaseException) -> ConfigurationError:
    """Name the server, never the URL: it may carry a password."""
    return ConfigurationError(f"cannot reach Redis at {settings.host}:{settings.port}: {exc}")


@dataclass(frozen=True)
class Submission:
    """What `submit` did: queued a new job, or found one with that id (its status then)."""

    job_id: str
    name: str
    created: bool
    status: str


@contextlib.asynccontextmanager
async def _pool() -> AsyncIterator[ArqRedis]:
    settings = redis_settings()
    settings.conn_retries = 0  # a client reports an unreachable queue at once
    try:
        redis = await create_pool(settings, default_queue_name=job_settings().queue_name)
    except (RedisError, OSError) as exc:
        raise _unreachable(settings, exc) from None
    try:
        yield redis
    finally:
        await redis.aclose()


def submit(name: str, job_id: str, **kwargs: Any) -> Submission:
    """Queue a job under `job_id`. A job with that id that is queued, running, or finished (with
    its result still kept) is not queued again: its status is reported instead."""
    _function(name)
    validate(name, **kwargs)
    return asyncio.run(_submit(name, job_id, kwargs))


async def _submit(name: str, job_id: str, kwargs: dict[str, Any]) -> Submission:
    async with _pool() as redis:
        job = await redis.enqueue_job(name, _job_id=job_id, **kwargs)
        if job is not None:
            return Submission(job_id, name, True, JobStatus.queued.value)
        existing = Job(job_id, redis, _queue_name=job_settings().queue_name)
        status = await existing.status()
        info = await existing.info()
        if info is not None and info.function != name:
            raise Conflict(f"job {job_id} exists already, as a {info.function!r} job")
        return Submission(job_id, name, False, status.value)


def wait_for_result(
    job_id: str,
    *,
    on_poll: Callable[[], None] | None = None,
    on_no_worker: Callable[[str], None] | None = None,
    poll_interval: float = 0.5,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Wait for a queued job's result; call `on_poll` between looks (e.g. to show progress),
    and `on_no_worker` (with the queue's name) once if the job waits while no worker is up.

    A job that failed raises its `LedgerError` (a refusal) or `JobFailed` (anything else)."""
    return asyncio.run(_wait(job_id, on_poll, on_no_worker, poll_interval, timeout))


async def _wait(
    job_id: str,
    on_poll: Callable[[], None] | None,
    on_no_worker: Callable[[str], None] | None,
    poll_interval: float,
    timeout: float | None,
) -> dict[str, Any]:
    started = time.monotonic()
    queue = job_settings().queue_name
    async with _pool() as redis:
        job = Job(job_id, redis, _queue_name=queue)
        while True:
            status = await job.status()
            if status == JobStatus.complete:
                return _outcome(job_id, await job.result_info())
            if status == JobStatus.not_found:
                raise JobFailed(
                    f"job {job_id} is not queued and has no result (unknown, or expired)"
                )
            if (
                on_no_worker is not None
                and status == JobStatus.queued
                and not await redis.exists(queue + health_check_key_suffix)  # workers' beacon
            ):
                on_no_worker(queue)
                on_no_worker = None
            if on_poll is not None:
                on_poll()
            if timeout is not None and time.monotonic() - started > timeout:
                raise JobFailed(f"job {job_id} is still {status.value} after {timeout:.0f} s")
            await asyncio.sleep(poll_interval)


def _outcome(job_id: str, info: JobResult | None) -> dict[str, Any]:
    if info is None:
        raise JobFailed(f"the result of job {job_id} expired while it was read")
    if info.success and isinstance(info.result, dict):
        return info.result
    error = info.result
    if isinstance(error, LedgerError):
        raise error
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        raise JobFailed(f"job {job_id} ran past its time limit and was stopped")
    text = str(error)
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    raise JobFailed(f"job {job_id} failed: {detail}")
