"""What a job runner knows of a job, and the one interface both runners offer.

`EmbeddedJobs` (no `MUSEUM_REDIS_URL`) runs the job functions in a thread of this process;
`QueuedJobs` hands them to arq workers. Which one the app uses is configuration only
(`runner_for`). Neither knows HTTP beyond turning a failure into a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from api.http.jobs.schemas import JobProblemRead
from api.http.problems import internal_problem, ledger_problem
from api.jobs.results import JobResult
from api.jobs.settings import JobFailed
from ledger.errors import Conflict, LedgerError

Arguments = dict[str, Any]


@dataclass(frozen=True)
class JobState:
    """A job as its runner sees it: state is one of `schemas.JOB_STATES`."""

    job_id: str
    kind: str
    state: str
    result: JobResult | None = None
    problem: JobProblemRead | None = None


class JobRunner(Protocol):
    """Runs jobs by id: submitting an id that exists finds that job (never a second run)."""

    async def start(self) -> None:
        """Open what the runner needs (a thread, a connection pool)."""

    async def stop(self) -> None:
        """Let go of it: after this no job runs on the app's ledger."""

    async def submit(self, kind: str, job_id: str, arguments: Arguments) -> JobState:
        """Queue the job, or find the job of that id; other arguments under it: a Conflict."""

    async def look(self, job_id: str) -> JobState | None:
        """The job of that id, or None if this runner does not know it."""

    def waiting(self) -> int | None:
        """Jobs queued and not yet started (a metric), or None when it cannot be told."""


def problem_of(exc: Exception) -> JobProblemRead:
    """A job's failure as a problem: a refusal keeps its status; a job that crashed is a 500
    (an unexpected error is logged under an incident id, and its text stays in the log)."""
    if isinstance(exc, JobFailed):
        return JobProblemRead(
            type="urn:failure-museum:problem:job-failed",
            title="Job failed",
            status=500,
            detail=str(exc),
        )
    found = ledger_problem(exc) if isinstance(exc, LedgerError) else internal_problem(exc)
    return JobProblemRead(
        type=str(found.type_),
        title=str(found.title),
        status=found.status_code,
        detail=str(found.detail),
    )


def same_arguments(kind: str, arguments: Arguments, known_kind: str, known: Arguments) -> None:
    """A job id names one job: the same id with another kind or other arguments is refused."""
    if known_kind != kind:
        raise Conflict(f"job {known_kind!r} exists under this id (Idempotency-Key), not {kind!r}")
    if known != arguments:
        raise Conflict(
            "a job with other arguments was submitted under this Idempotency-Key: "
            "use a new key for a new job"
        )
