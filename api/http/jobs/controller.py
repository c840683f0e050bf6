"""`GET /api/v1/jobs/{job_id}`: the state of long work (training, generation, attribution)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath

from api.http.auth.access import allow
from api.http.auth.principal import Role
from api.http.deps import Museum
from api.http.jobs.schemas import JobRead

# Who submits jobs (curators train; integrators, curators and members generate and attribute),
# and compliance, who reads everything. A job holds nothing personal.
JOB_READERS = allow(Role.CURATOR, Role.INTEGRATOR, Role.COMPLIANCE, Role.ARTIST, members_only=True)


class JobController(Controller):
    path = "/jobs"
    tags = ("jobs",)

    @get("/{job_id:uuid}", opt=JOB_READERS)
    async def job(self, museum: Museum, job_id: FromPath[UUID]) -> JobRead:
        """A job: its state (queued, in_progress, complete, failed), its progress (training:
        steps done over all shards, from the run's records), the link to what it made once
        complete, and the problem if it failed. An unknown job is a 404."""
        return await museum.jobs.get(job_id)
