"""Job functions as a worker runs them: the queuing request's id in their logs, their duration
in `museum_job_duration_seconds`, a start and an end line each."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from api.observe import context
from api.observe.metrics import JOB_SECONDS

logger = logging.getLogger("museum.jobs")
R = TypeVar("R")


def observed(
    name: str, function: Callable[..., Coroutine[Any, Any, R]]
) -> Callable[..., Coroutine[Any, Any, R]]:
    @functools.wraps(function)
    async def run(
        ctx: dict[str, Any], *args: Any, request_id: str | None = None, **kwargs: Any
    ) -> R:
        token = context.request_id.set(request_id)
        began, outcome = time.perf_counter(), "failed"
        logger.info("job %s (%s) started, try %s", ctx.get("job_id"), name, ctx.get("job_try", 1))
        try:
            result = await function(ctx, *args, **kwargs)
            outcome = "complete"
            return result
        except asyncio.CancelledError:
            outcome = "interrupted"
            raise
        finally:
            seconds = time.perf_counter() - began
            JOB_SECONDS.labels(name, outcome).observe(seconds)
            logger.info("job %s (%s) %s in %.2f s", ctx.get("job_id"), name, outcome, seconds)
            context.request_id.reset(token)

    return run
