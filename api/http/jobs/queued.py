"""Distributed mode: jobs go to arq workers on Redis (`MUSEUM_REDIS_URL`).

One connection pool for the app's lifetime, opened on start-up and closed on shutdown; every
call goes through the async client (`api.jobs.client`), so no handler blocks the event loop.
A job's state is arq's: queued (or deferred), in progress, complete with a result or with the
error it raised. arq keeps results for `MUSEUM_JOB_KEEP_RESULT` seconds; after that a training
or generation job is still found through the ledger (see `JobService`).
"""

from __future__ import annotations

import contextlib

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

from api.http.jobs.runners import Arguments, JobState, problem_of, same_arguments
from api.jobs import client
from api.jobs.settings import job_settings
from api.observe.context import JOB_ARGUMENT
from api.observe.metrics import redis_queue_depth
from ledger.errors import ConfigurationError, LedgerError
from ledger.settings import Settings

STATES = {
    JobStatus.deferred: "queued",
    JobStatus.queued: "queued",
    JobStatus.in_progress: "in_progress",
}


class QueuedJobs:
    """Jobs on arq workers, through one pool held from start to stop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._exits = contextlib.AsyncExitStack()
        self._redis: ArqRedis | None = None

    async def start(self) -> None:
        self._redis = await self._exits.enter_async_context(client.pool(self.settings))

    async def stop(self) -> None:
        self._redis = None
        await self._exits.aclose()

    @property
    def redis(self) -> ArqRedis:
        if self._redis is None:
            raise ConfigurationError("the job queue is not open (the app has not started)")
        return self._redis

    def _job(self, job_id: str) -> Job:
        return Job(job_id, self.redis, _queue_name=job_settings().queue_name)

    async def submit(self, kind: str, job_id: str, arguments: Arguments) -> JobState:
        submitted = await client.submit(kind, job_id, redis=self.redis, **arguments)
        if not submitted.created:
            info = await self._job(job_id).info()
            if info is not None:
                given = {k: v for k, v in info.kwargs.items() if k != JOB_ARGUMENT}
                same_arguments(kind, arguments, info.function, given)
        found = await self.look(job_id)
        return found if found is not None else JobState(job_id, kind, "queued")

    def waiting(self) -> int | None:
        return redis_queue_depth(str(self.settings.redis_url), job_settings().queue_name)

    async def look(self, job_id: str) -> JobState | None:
        job = self._job(job_id)
        status = await job.status()
        if status == JobStatus.not_found:
            return None
        info = await job.info()
        if info is None:  # its result expired between the two reads
            return None
        if status != JobStatus.complete:
            return JobState(job_id, info.function, STATES[status])
        try:
            result = await client.result(job_id, redis=self.redis)
        except LedgerError as exc:
            return JobState(job_id, info.function, "failed", problem=problem_of(exc))
        if result is None:
            return JobState(job_id, info.function, "in_progress")
        return JobState(job_id, info.function, "complete", result=result)
