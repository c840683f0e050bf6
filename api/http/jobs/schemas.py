"""The job resource: what `POST` of long work answers (202) and `GET /jobs/{job_id}` reads."""

from __future__ import annotations

from ledger.model_views import ProgressRead
from ledger.views import View

JOB_STATES = ("queued", "in_progress", "complete", "failed")


class JobProblemRead(View, frozen=True, kw_only=True):
    """Why a job failed, as an RFC 9457 problem (the status the request would have had)."""

    type: str
    title: str
    status: int
    detail: str


class JobRead(View, frozen=True, kw_only=True):
    """A job: its kind (`train`, `generate`, `attribute`), state (queued, in_progress, complete,
    failed), progress (training: steps done over all shards), and once complete the link to
    what it made (`result`, with that record's id); on failure the problem."""

    job_id: str
    kind: str
    state: str
    progress: ProgressRead | None
    result: str | None
    result_id: str | None
    problem: JobProblemRead | None
