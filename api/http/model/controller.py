"""Training runs (`/runs`) and model versions (`/models`).

Curators start runs (a `train` job: 202); compliance, curators and integrators read them;
anyone may see which model versions exist and which one makes the exhibition's images.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from api.http.auth.access import EVERYONE, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.jobs.responses import LOCATION, IdempotencyKey, accepted
from api.http.jobs.schemas import JobRead
from api.http.model.schemas import RunCreate
from api.http.pagination import Cursor, Limit, Page, page
from ledger.model_views import ModelVersionRead, RunRead

RUN_READERS = allow(Role.COMPLIANCE, Role.CURATOR, Role.INTEGRATOR)


class RunController(Controller):
    path = "/runs"
    tags = ("model",)

    @post("/", opt=allow(Role.CURATOR), status_code=202, response_headers=LOCATION)
    async def start_run(
        self,
        museum: Museum,
        principal: Caller,
        data: JSONBody[RunCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Start a training run on every stage whose donation has `train` consent now: a job.
        An unknown preset is a 422 before anything is queued; poll the job for progress."""
        job = await museum.jobs.submit(
            "train",
            {"preset": data.preset, "seed": data.seed, "shards": data.shards, "steps": data.steps},
            principal,
            idempotency_key,
        )
        return accepted(job)

    @get("/", opt=RUN_READERS, sync_to_thread=True)
    def runs(
        self, museum: Museum, cursor: Cursor = None, limit: Limit = 50
    ) -> Page[RunRead]:
        """Training runs in the order they started: state, progress, loss, checkpoints."""
        items, following = museum.model_reads.runs(cursor, limit)
        return page(items, limit, following)

    @get("/{run_id:uuid}", opt=RUN_READERS, sync_to_thread=True)
    def run(self, museum: Museum, run_id: FromPath[UUID]) -> RunRead:
        """A training run: state, progress (steps over all shards), latest and final loss, how
        many items it used, its checkpoints by content hash, and whether it is deployed."""
        return museum.model_reads.run(run_id)


class ModelController(Controller):
    path = "/models"
    tags = ("model",)

    @get("/", opt=allow(*EVERYONE), sync_to_thread=True)
    def models(
        self, museum: Museum, cursor: Cursor = None, limit: Limit = 50
    ) -> Page[ModelVersionRead]:
        """Model versions (completed runs) in the order they completed; one is deployed."""
        items, following = museum.model_reads.versions(cursor, limit)
        return page(items, limit, following)

    @get("/deployed", opt=allow(*EVERYONE), sync_to_thread=True)
    def deployed(self, museum: Museum) -> ModelVersionRead:
        """The model version that makes new images; a 404 before the first run completes."""
        return museum.model_reads.deployed()
