"""`GET /api/v1/health`: answers without touching the ledger (a trivial baseline)."""

from __future__ import annotations

from litestar import Controller, get

from api.http.auth.access import EVERYONE, allow
from ledger.views import View


class HealthRead(View, frozen=True, kw_only=True):
    status: str


class HealthController(Controller):
    path = "/health"
    tags = ("service",)

    @get("/", opt=allow(*EVERYONE), sync_to_thread=False)
    def health(self) -> HealthRead:
        """The server is up and answering."""
        return HealthRead(status="ok")
