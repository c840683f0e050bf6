"""Every request: an id (the caller's `X-Request-ID` when it is a plain token, else a fresh
one) in its logs, in the jobs it queues and in the response's `X-Request-ID`; one JSON log
line when it ends, naming the route template (never the path, query or any header: a path
carries ids, a sign-in link's query its token); Prometheus counts and latency by template."""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.observe.context import HEADER, accepted, request_id

logger = logging.getLogger("museum.http.requests")
# Seconds: the API answers reads in milliseconds; uploads and pages take longer.
LATENCY_BUCKETS: list[str | float] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


class RequestContext(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        given = next(
            (v for k, v in scope["headers"] if k.decode("latin-1").lower() == HEADER), None
        )
        rid = accepted(None if given is None else given.decode("latin-1"))
        token = request_id.set(rid)
        began, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers: list[Any] = list(message.get("headers") or [])
                message["headers"] = [*headers, (HEADER.encode(), rid.encode())]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "route": scope.get("path_template", "unmatched"),
                    "status": status,
                    "ms": round((time.perf_counter() - began) * 1000, 2),
                },
            )
            request_id.reset(token)


def prometheus() -> PrometheusConfig:
    """Requests and latency by method, route template and status (unmatched paths are not
    counted: a stranger's random paths would make endless series)."""
    return PrometheusConfig(
        app_name="museum",
        prefix="museum_http",
        group_path=True,
        exclude_unhandled_paths=True,
        buckets=LATENCY_BUCKETS,
    )
