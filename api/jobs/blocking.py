"""Blocking wrappers of `api.jobs.client` for the command line: one event loop per call.

Called from a running event loop they refuse (asyncio would): await the client's
functions there instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from api.jobs import client
from api.jobs.client import Submission
from api.jobs.results import JobResult


def submit(name: str, job_id: str, **kwargs: Any) -> Submission:
    """`client.submit`, blocking."""
    return asyncio.run(client.submit(name, job_id, **kwargs))


def status(job_id: str) -> str:
    """`client.status`, blocking."""
    return asyncio.run(client.status(job_id))


def wait_for_result(
    job_id: str,
    *,
    on_poll: Callable[[], None] | None = None,
    on_no_worker: Callable[[str], None] | None = None,
    poll_interval: float = 0.5,
    timeout: float | None = None,
) -> JobResult:
    """`client.wait_for_result`, blocking."""
    return asyncio.run(
        client.wait_for_result(
            job_id,
            on_poll=on_poll,
            on_no_worker=on_no_worker,
            poll_interval=poll_interval,
            timeout=timeout,
        )
    )
