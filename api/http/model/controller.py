"""Training runs (`/runs`), model versions (`/models`) and the retraining schedule
(`/models/retraining`).

Curators start runs (a `train` job: 202); compliance, curators and integrators read them;
anyone may see which model versions exist and which one makes the exhibition's images. The
retraining that erasures and consent changes owe is read by staff and members (who asked: staff
only) and started by curators or compliance (a `retrain` job: 202), so an erasure meets its
deadline without waiting for its batch.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody

from api.http.auth.access import EVERYONE, STAFF, allow
from api.http.auth.principal import Role
from api.http.deps import Caller, Museum
from api.http.jobs.responses import LOCATION, IdempotencyKey, accepted
from api.http.jobs.schemas import JobRead
from api.http.model.schemas import RetrainingCreate, RunCreate
from api.http.pagination import Cursor, Limit, Page, page
from ledger.model_views import ModelVersionRead, RunRead
from ledger.retraining_reads import RetrainingScheduleRead, retraining_schedule

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
            {"preset": data.preset, "seed": data.seed, "shards": data.shards, "steps": data.steps}
            | ({} if data.variant == "stage" else {"variant": data.variant}),
            principal,
            idempotency_key,
        )
        return accepted(job)

    @get("/", opt=RUN_READERS, sync_to_thread=True)
    def runs(self, museum: Museum, cursor: Cursor = None, limit: Limit = 50) -> Page[RunRead]:
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


class RetrainingController(Controller):
    path = "/models/retraining"
    tags = ("model",)

    @get(
        "/",
        opt=allow(Role.COMPLIANCE, Role.CURATOR, Role.ARTIST, members_only=True),
        sync_to_thread=True,
    )
    def schedule(self, museum: Museum, principal: Caller) -> RetrainingScheduleRead:
        """What waits for a retraining run: each pending request's cause (erasure, `train`
        revoked or granted), when it was made and when its batch is due; the runs retraining
        now. A request's subject (an artist or donation id) is shown to staff only."""
        return retraining_schedule(museum.ledger, subjects=principal.role in STAFF)

    @post(
        "/",
        opt=allow(Role.CURATOR, Role.COMPLIANCE),
        status_code=202,
        response_headers=LOCATION,
    )
    async def retrain(
        self,
        museum: Museum,
        principal: Caller,
        data: JSONBody[RetrainingCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobRead]:
        """Serve the schedule: the batch that is due (every pending request with `now`) with one
        run that retrains only the changed shards, then certifies the erasures it completes. A
        job; nothing due is a job that completes without a run (its result is this schedule)."""
        job = await museum.jobs.submit("retrain", {"now": data.now}, principal, idempotency_key)
        return accepted(job)
