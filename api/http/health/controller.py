"""Health of the service: `GET /api/v1/health` (a trivial baseline, inside the API),
`/healthz` (the process is up) and `/readyz` (database, queue and blob store answer) at the
root, where probes look for them, and `GET /api/v1/metrics` (Prometheus).

The probes are public and say nothing but up or down and which dependency is down; the
metrics are counts, durations and ages, never an id or a name, and staff read them (a
Prometheus scrape sends a curator's key as its bearer token: `authorization.credentials`).
"""

from __future__ import annotations

from litestar import Controller, Response, get

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.deps import Museum
from api.observe.metrics import LedgerCollector, exposition
from api.observe.readiness import HealthRead, ReadyRead, ready

PROMETHEUS_TEXT = "text/plain; version=0.0.4"  # Litestar adds the charset


class HealthController(Controller):
    path = "/health"
    tags = ("service",)

    @get("/", opt=allow(*EVERYONE), sync_to_thread=False)
    def health(self) -> HealthRead:
        """The server is up and answering."""
        return HealthRead(status="ok")


class ProbeController(Controller):
    tags = ("service",)

    @get("/healthz", opt=allow(*EVERYONE), sync_to_thread=False)
    def healthz(self) -> HealthRead:
        """The process is up (it touches nothing)."""
        return HealthRead(status="ok")

    @get("/readyz", opt=allow(*EVERYONE), sync_to_thread=True)
    def readyz(self, museum: Museum) -> Response[ReadyRead]:
        """200 when the database, the job queue and the blob store answer; else 503, naming
        the one that does not."""
        found = ready(museum.ledger, museum.settings.redis_url)
        return Response(found, status_code=200 if found.status == "ready" else 503)


class MetricsController(Controller):
    path = "/metrics"
    tags = ("service",)

    @get("/", opt=allow(*STAFF), sync_to_thread=True, media_type=PROMETHEUS_TEXT)
    def metrics(self, museum: Museum) -> Response[bytes]:
        """Prometheus metrics: requests and latency by route, jobs, the queue, the ledger."""
        collector = LedgerCollector(museum.ledger.engine, museum.jobs.runner.waiting)
        return Response(exposition(collector), media_type=PROMETHEUS_TEXT)
