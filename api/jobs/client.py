"""The async client of the job queue: submit a job, look at it, wait for its outcome.

Usable from a running event loop (an HTTP handler) as it is: every function takes the
`ArqRedis` pool the caller holds (`redis=`; open one with `pool()`, e.g. for an app's
lifetime), or opens one for the call. `api.jobs.blocking` wraps these for the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis, create_pool
from arq.constants import health_check_key_suffix
from arq.jobs import Job, JobStatus
from arq.jobs import JobResult as ArqJobResult
from redis.exceptions import RedisError

from api.jobs.results import JobResult, as_result
from api.jobs.settings import JobFailed, job_settings, redis_settings, unreachable
from api.jobs.tasks import job_function, validate
from api.observe.context import JOB_ARGUMENT, request_id
from ledger.errors import Conflict, LedgerError
from ledger.settings import Settings


@dataclass(frozen=True)
class Submission:
    """What `submit` did: queued a new job, or found one with that id (its status then)."""

    job_id: str
    name: str
    created: bool
    status: str


@contextlib.asynccontextmanager
async def pool(museum: Settings | None = None) -> AsyncIterator[ArqRedis]:
    """A connection pool to the queue of `MUSEUM_REDIS_URL` (of `museum`, default the
    environment's settings), closed on leaving."""
    settings = redis_settings(museum)
    settings.conn_retries = 0  # a client reports an unreachable queue at once
    try:
        redis = await create_pool(settings, default_queue_name=job_settings().queue_name)
    except (RedisError, OSError) as exc:
        raise unreachable(settings, exc) from None
    try:
        yield redis
    finally:
        await redis.aclose()


@contextlib.asynccontextmanager
async def _using(redis: ArqRedis | None) -> AsyncIterator[ArqRedis]:
    """The caller's pool (left open), or one of this call's own."""
    if redis is not None:
        yield redis
        return
    async with pool() as opened:
        yield opened


def _job(job_id: str, redis: ArqRedis) -> Job:
    return Job(job_id, redis, _queue_name=job_settings().queue_name)


async def submit(
    name: str, job_id: str, *, redis: ArqRedis | None = None, **kwargs: Any
) -> Submission:
    """Queue a job under `job_id`. A job with that id that is queued, running, or finished (with
    its result still kept) is not queued again: its status is reported instead. Arguments that
    need no ledger are refused (a `LedgerError`) before anything is queued."""
    job_function(name)
    validate(name, **kwargs)
    # The request that queued the job, into the worker's logs (`api.observe.jobs.observed`).
    carried: dict[str, Any] = {JOB_ARGUMENT: request_id.get()} if request_id.get() else {}
    async with _using(redis) as queue:
        job = await queue.enqueue_job(name, _job_id=job_id, **kwargs, **carried)
        if job is not None:
            return Submission(job_id, name, True, JobStatus.queued.value)
        existing = _job(job_id, queue)
        status = await existing.status()
        info = await existing.info()
        if info is not None and info.function != name:
            raise Conflict(f"job {job_id} exists already, as a {info.function!r} job")
        return Submission(job_id, name, False, status.value)


async def status(job_id: str, *, redis: ArqRedis | None = None) -> str:
    """`queued`, `deferred`, `in_progress`, `complete` or `not_found` (arq's `JobStatus`)."""
    async with _using(redis) as queue:
        return (await _job(job_id, queue).status()).value


async def result(job_id: str, *, redis: ArqRedis | None = None) -> JobResult | None:
    """The job's result if it finished, None while it waits or runs.

    A job that failed raises its `LedgerError` (a refusal) or `JobFailed` (anything else); so
    does one that is unknown or whose result expired."""
    async with _using(redis) as queue:
        job = _job(job_id, queue)
        return await _look(job, await job.status())


async def _look(job: Job, state: JobStatus) -> JobResult | None:
    if state == JobStatus.complete:
        return _outcome(job.job_id, await job.result_info())
    if state == JobStatus.not_found:
        raise JobFailed(f"job {job.job_id} is not queued and has no result (unknown, or expired)")
    return None


async def wait_for_result(
    job_id: str,
    *,
    redis: ArqRedis | None = None,
    on_poll: Callable[[], None] | None = None,
    on_no_worker: Callable[[str], None] | None = None,
    poll_interval: float = 0.5,
    timeout: float | None = None,
) -> JobResult:
    """Wait for a queued job's result; call `on_poll` between looks (e.g. to show progress),
    and `on_no_worker` (with the queue's name) once if the job waits while no worker is up.

    Raises as `result` does, and `JobFailed` after `timeout` seconds."""
    started = time.monotonic()
    queue_name = job_settings().queue_name
    async with _using(redis) as queue:
        job = _job(job_id, queue)
        while True:
            state = await job.status()
            done = await _look(job, state)
            if done is not None:
                return done
            if (
                on_no_worker is not None
                and state == JobStatus.queued
                and not await queue.exists(queue_name + health_check_key_suffix)  # workers' beacon
            ):
                on_no_worker(queue_name)
                on_no_worker = None
            if on_poll is not None:
                on_poll()
            if timeout is not None and time.monotonic() - started > timeout:
                raise JobFailed(f"job {job_id} is still {state.value} after {timeout:.0f} s")
            await asyncio.sleep(poll_interval)


def _outcome(job_id: str, info: ArqJobResult | None) -> JobResult:
    if info is None:
        raise JobFailed(f"the result of job {job_id} expired while it was read")
    done = as_result(info.result) if info.success else None
    if done is not None:
        return done
    error = info.result
    if isinstance(error, LedgerError):
        raise error
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        raise JobFailed(f"job {job_id} ran past its time limit and was stopped")
    text = str(error)
    detail = f"{type(error).__name__}: {text}" if text else type(error).__name__
    raise JobFailed(f"job {job_id} failed: {detail}")
