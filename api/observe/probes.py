"""`/healthz`, `/readyz` and `/metrics` of a process that serves no HTTP otherwise (a job
worker), on a bind of its own (`museum worker --probes HOST:PORT`, loopback by default)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from api.observe.readiness import ReadyRead


class Probes:
    """What the probe server answers with; `ready` and `metrics` are None until the process
    has opened its ledger (it is then alive, not ready)."""

    def __init__(self) -> None:
        self.ready: Callable[[], ReadyRead] | None = None
        self.metrics: Callable[[], bytes] | None = None


def _handler(probes: Probes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._send(200, "application/json", b'{"status":"ok"}')
            elif self.path == "/readyz":
                found = probes.ready() if probes.ready else ReadyRead(status="starting", checks=[])
                code = 200 if found.status == "ready" else 503
                self._send(code, "application/json", json.dumps(found.as_builtins()).encode())
            elif self.path == "/metrics" and probes.metrics is not None:
                self._send(200, CONTENT_TYPE_LATEST, probes.metrics())
            else:
                self._send(404, "application/json", b'{"status":"not found"}')

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes are polled every few seconds: not logged."""

    return Handler


def serve_probes(host: str, port: int, probes: Probes) -> ThreadingHTTPServer:
    """Start answering in a daemon thread; `shutdown()` the server returned to stop."""
    server = ThreadingHTTPServer((host, port), _handler(probes))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="museum-probes", daemon=True).start()
    return server
