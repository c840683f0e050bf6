"""The `museum worker` process: arq's settings, and the ledger it opens once for all its jobs.

`on_startup` opens the ledger into `ctx["ledger"]` (so a worker that cannot open it fails at
start, not at its first job) and loads torch; `on_shutdown` closes it once every job has
stopped (arq gathers the job tasks first, and a cancelled job waits for its thread). Jobs
running side by side (`MUSEUM_WORKER_MAX_JOBS` > 1) share that ledger from their threads:
eventsourcing's recorders draw connections from a thread-safe pool, SQLAlchemy's engine is
thread-safe, and the Merkle log (`ledger.log.VerifiableLog`) holds a lock; a command that
loses a race for an aggregate is retried by the application, as between processes.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
from typing import ClassVar

from arq.connections import RedisSettings
from arq.worker import Function, func
from redis.exceptions import RedisError

from api.jobs.running import open_ledger
from api.jobs.settings import Ctx, job_settings, redis_settings, unreachable
from api.jobs.tasks import attribute_job, continue_job, generate_job, retrain_job, train_job
from api.observe.jobs import observed
from api.observe.logs import configure_json_logging
from api.observe.metrics import LedgerCollector, exposition, redis_queue_depth
from api.observe.probes import Probes, serve_probes
from api.observe.readiness import ready
from ledger.application import MuseumLedger
from ledger.errors import ConfigurationError
from ledger.runtime import close_ledger
from ledger.settings import get_settings

logger = logging.getLogger("museum.jobs")
PROBES = Probes()  # what this worker's probe server answers (`run_worker(probes=…)`)


async def on_startup(ctx: Ctx) -> None:
    """Open the worker's ledger into `ctx["ledger"]` and load torch, both in a thread."""
    ledger = await asyncio.to_thread(open_ledger)
    try:
        await asyncio.to_thread(importlib.import_module, "generation.service")
    except BaseException:
        close_ledger(ledger)
        raise
    ctx["ledger"] = ledger
    PROBES.ready = functools.partial(ready, ledger, get_settings().redis_url)
    PROBES.metrics = functools.partial(
        exposition,
        LedgerCollector(
            ledger.engine,
            functools.partial(
                redis_queue_depth, str(get_settings().redis_url), job_settings().queue_name
            ),
        ),
    )
    settings = job_settings()
    logger.info(
        "museum worker ready: queue %r, lease %.0f s, timeout %.0f s, %d tries",
        settings.queue_name,
        settings.job_lease,
        settings.job_timeout,
        settings.job_max_tries,
    )


async def on_shutdown(ctx: Ctx) -> None:
    """Close the worker's ledger and dispose of its engine (a no-op if startup never opened it)."""
    ledger: MuseumLedger | None = ctx.pop("ledger", None)
    PROBES.ready = PROBES.metrics = None
    if ledger is not None:
        await asyncio.to_thread(close_ledger, ledger)
        logger.info("museum worker stopped: ledger closed")


def _optional_redis_settings() -> RedisSettings | None:
    try:
        return redis_settings()
    except ConfigurationError:
        return None


class WorkerSettings:
    """arq worker settings, read from the environment (no connection made) at import.

    `functions` carry a hard timeout, for training and retraining a little past
    `MUSEUM_JOB_TIMEOUT`: they check that soft limit at every progress report and fail their
    run cleanly, the hard one is a backstop.
    `max_tries` is one more than `MUSEUM_JOB_MAX_TRIES`: see `api.jobs`.
    """

    _jobs = job_settings()
    _training = _jobs.job_timeout + max(60.0, _jobs.job_timeout / 10)
    functions: ClassVar[list[Function]] = [
        func(observed("train", train_job), name="train", timeout=_training),
        func(observed("retrain", retrain_job), name="retrain", timeout=_training),
        func(observed("generate", generate_job), name="generate", timeout=_jobs.job_timeout),
        func(observed("attribute", attribute_job), name="attribute", timeout=_jobs.job_timeout),
        func(observed("continue", continue_job), name="continue", timeout=_jobs.job_timeout),
    ]
    redis_settings = _optional_redis_settings()
    queue_name = _jobs.queue_name
    max_tries = _jobs.job_max_tries + 1
    job_timeout = _jobs.job_timeout
    keep_result = _jobs.job_keep_result
    max_jobs = _jobs.worker_max_jobs
    on_startup = on_startup
    on_shutdown = on_shutdown
    del _jobs, _training


def run_worker(*, burst: bool = False, probes: tuple[str, int] | None = None) -> None:
    """Run an arq worker until it is told to stop (or, with `burst`, until the queue is empty).

    Logs are JSON lines on stderr (`api.observe.logs`); with `probes` (host, port) the worker
    answers `/healthz`, `/readyz` and `/metrics` there while it runs."""
    from arq.worker import run_worker as arq_run_worker

    settings = redis_settings()  # refuses without MUSEUM_REDIS_URL
    configure_json_logging()
    server = None
    if probes is not None:
        try:
            server = serve_probes(*probes, PROBES)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot answer probes on {probes[0]}:{probes[1]}: {exc.strerror}"
            ) from None
    try:
        arq_run_worker(WorkerSettings, redis_settings=settings, burst=burst)  # type: ignore[arg-type]
    except (RedisError, OSError) as exc:
        raise unreachable(settings, exc) from None
    finally:
        if server is not None:
            server.shutdown()
