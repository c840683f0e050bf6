"""Jobs for the HTTP API: ids (fresh, or from an `Idempotency-Key`), submission, the resource.

The runner is chosen by configuration only: `MUSEUM_REDIS_URL` set → arq workers, else a thread
of this process. Either way the job resource reads progress from the ledger's run records, and a
job its runner no longer knows (a restart in embedded mode, an expired arq result) is found
through what it recorded: the run or the generation keyed by its job id.
"""

from __future__ import annotations

import logging
from uuid import UUID, uuid4, uuid5

import anyio.to_thread

from api.http.auth.principal import Principal
from api.http.jobs.embedded import EmbeddedJobs
from api.http.jobs.queued import QueuedJobs
from api.http.jobs.runners import Arguments, JobRunner, JobState
from api.http.jobs.schemas import JobProblemRead, JobRead
from api.jobs.results import (
    AttributeJobResult,
    ContinueJobResult,
    GenerateJobResult,
    JobResult,
    RetrainJobResult,
    TrainJobResult,
)
from api.jobs.tasks import validate
from ledger.application import MuseumLedger
from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import NotFound
from ledger.model_reads import ModelReads
from ledger.settings import Settings
from ledger.validation import key

logger = logging.getLogger("museum.http.jobs")

API = "/api/v1"
JOB_NAMESPACE = uuid5(MUSEUM_NAMESPACE, "http-job")
RUN_STATES = {"running": "in_progress", "completed": "complete", "failed": "failed"}


def runner_for(settings: Settings, ledger: MuseumLedger) -> JobRunner:
    """arq workers when a queue is configured, else this process."""
    if settings.redis_url:
        return QueuedJobs(settings)
    return EmbeddedJobs(ledger, settings.home)


def job_id_for(principal: Principal, kind: str, idempotency_key: str | None) -> str:
    """The same key from the same API key for the same kind of work names the same job."""
    if idempotency_key is None:
        return str(uuid4())
    chosen = key(idempotency_key, "Idempotency-Key")
    return str(uuid5(JOB_NAMESPACE, f"{principal.key_id}\n{kind}\n{chosen}"))


def result_link(result: JobResult) -> tuple[str, str | None]:
    """Where a finished job's record is read, and its id (none for the schedule)."""
    if isinstance(result, TrainJobResult):
        return f"{API}/runs/{result.run_id}", result.run_id
    if isinstance(result, RetrainJobResult):
        if result.run_id is None:  # nothing was due, or nothing needed a run: the schedule
            return f"{API}/models/retraining", None
        return f"{API}/runs/{result.run_id}", result.run_id
    if isinstance(result, GenerateJobResult):
        return f"{API}/generations/{result.generation_id}", result.generation_id
    if isinstance(result, ContinueJobResult):  # the first proposal; each names its parent
        first = result.series[0][0].generation_id
        return f"{API}/generations/{first}", first
    attribution: AttributeJobResult = result
    return (
        f"{API}/generations/{attribution.generation_id}/attributions",
        attribution.attribution_id,
    )


class JobService:
    """Submit jobs and read them as `JobRead`, over one runner and the app's ledger."""

    def __init__(self, runner: JobRunner, ledger: MuseumLedger) -> None:
        self.runner = runner
        self.ledger = ledger
        self.reads = ModelReads(ledger)

    async def start(self) -> None:
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()

    async def submit(
        self, kind: str, arguments: Arguments, principal: Principal, idempotency_key: str | None
    ) -> JobRead:
        """Queue a job (202), after the checks that need no ledger (a refusal is a 422)."""
        job_id = job_id_for(principal, kind, idempotency_key)
        await anyio.to_thread.run_sync(lambda: validate(kind, **arguments))
        state = await self.runner.submit(kind, job_id, arguments)
        return await anyio.to_thread.run_sync(self._read, state)

    async def get(self, job_id: UUID) -> JobRead:
        state = await self.runner.look(str(job_id))
        if state is None:
            state = await anyio.to_thread.run_sync(self._recorded, str(job_id))
        return await anyio.to_thread.run_sync(self._read, state)

    def _recorded(self, job_id: str) -> JobState:
        """A job the runner does not know, from what it recorded in the ledger."""
        run = self.ledger.find(TrainingRun.create_id(job_id), TrainingRun)
        if run is not None:
            problem = None
            if run.state == "failed":
                problem = JobProblemRead(
                    type="urn:failure-museum:problem:job-failed",
                    title="Job failed",
                    status=500,
                    detail=f"the training run failed: {run.failure}",
                )
            kind = "train" if run.retraining is None else "retrain"
            return JobState(job_id, kind, RUN_STATES[run.state], problem=problem)
        generation = self.ledger.find(Generation.create_id(job_id), Generation)
        if generation is not None:
            return JobState(job_id, "generate", "complete")
        if self.ledger.find(Generation.create_id(f"{job_id}:0:0"), Generation) is not None:
            return JobState(job_id, "continue", "complete")  # its first proposal is recorded
        raise NotFound(f"no job {job_id}")

    def _read(self, state: JobState) -> JobRead:
        """The resource: progress from the run's records, the link once something is recorded."""
        progress = None
        link: tuple[str, str | None] | None = None
        if state.kind in ("train", "retrain"):
            progress = self.reads.progress_of_job(state.job_id)
            if state.state == "complete" and progress is not None:
                run_id = str(TrainingRun.create_id(state.job_id))
                link = (f"{API}/runs/{run_id}", run_id)
        elif state.kind in ("generate", "continue") and state.state == "complete":
            suffix = ":0:0" if state.kind == "continue" else ""
            generation_id = str(Generation.create_id(state.job_id + suffix))
            link = (f"{API}/generations/{generation_id}", generation_id)
        if state.result is not None:
            link = result_link(state.result)
        return JobRead(
            job_id=state.job_id,
            kind=state.kind,
            state=state.state,
            progress=progress,
            result=None if link is None else link[0],
            result_id=None if link is None else link[1],
            problem=state.problem,
        )
