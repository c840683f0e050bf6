"""How a job body runs: on the worker's ledger, in a thread, holding its lease (see `api.jobs`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from redis.exceptions import RedisError

from api.jobs.settings import Ctx, JobFailed, job_settings
from ledger.application import MuseumLedger
from ledger.errors import NotFound
from ledger.model_records import ModelRecords
from ledger.runtime import opened_ledger
from ledger.settings import get_settings

logger = logging.getLogger("museum.jobs")

T = TypeVar("T")


class Interrupted(Exception):
    """Raised inside a training thread when its worker stops; the job is retried elsewhere."""


def open_ledger() -> MuseumLedger:
    """The ledger of the settings (the schema set up first if missing)."""
    from ledger.runtime import open_ledger as open_configured

    return open_configured(get_settings())


def with_ledger(ctx: Ctx, work: Callable[[MuseumLedger], T]) -> T:
    """Run `work` with the ledger in `ctx` (the worker's, or the caller's in embedded mode), or
    with one opened (and closed) for this job when there is none."""
    given: MuseumLedger | None = ctx.get("ledger")
    if given is not None:
        return work(given)
    with opened_ledger(get_settings()) as ledger:
        return work(ledger)


async def hold_lease(redis: ArqRedis, job_id: str, lease_s: float) -> None:
    """Keep arq's in-progress key alive for one lease at a time while the job runs."""
    key = in_progress_key_prefix + job_id
    while True:
        try:
            await redis.pexpire(key, max(1, round(lease_s * 1000)))
        except (RedisError, OSError) as exc:  # a blip: the next renewal may succeed
            logger.warning("could not renew the lease of job %s: %s", job_id, exc)
        await asyncio.sleep(lease_s / 3)


async def in_thread(ctx: Ctx, stop: threading.Event, work: Callable[[], T]) -> T:
    """Run blocking work in a thread; hold the job's lease meanwhile (under a worker).

    Cancellation (worker shutdown, job timeout) sets `stop` and waits for the thread to notice,
    so that the job never runs twice at once on one ledger, and the worker's `on_shutdown`
    closes the ledger only once no thread uses it.
    """
    redis: ArqRedis | None = ctx.get("redis")
    settings = job_settings()
    lease = (
        asyncio.create_task(hold_lease(redis, ctx["job_id"], settings.job_lease))
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


def give_up_if_tried_out(ctx: Ctx, run_id: UUID | None, ledger: MuseumLedger) -> None:
    """arq's last try of a job only records its run as failed: see `api.jobs`."""
    tries = int(ctx.get("job_try", 1))
    limit = job_settings().job_max_tries
    if tries <= limit:
        return
    reason = f"gave up after {limit} tries: the worker running the job stopped each time"
    if run_id is not None:
        fail_run_quietly(ModelRecords(ledger), run_id, reason)
    raise JobFailed(f"job {ctx['job_id']} {reason}")


def fail_run_quietly(records: ModelRecords, run_id: UUID, reason: str) -> None:
    """Release the training slot of a run that cannot go on; a no-op if it never started."""
    try:
        records.fail_run(run_id, reason)
    except NotFound:
        pass
    except Exception:  # the original error matters more than this one
        logger.exception("could not record the failure of run %s", run_id)
