"""The request id: taken from a caller's `X-Request-ID` (when it is a plain token) or made
fresh, carried through the request's logs and into the jobs it queues."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "x-request-id"
JOB_ARGUMENT = "request_id"  # the job keyword that carries it into a worker
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("museum_request_id", default=None)


def accepted(value: str | None) -> str:
    """The caller's id when it is a short plain token (anything else could smuggle text into
    the logs), else a fresh one."""
    if value is not None and _TOKEN.fullmatch(value):
        return value
    return uuid.uuid4().hex
