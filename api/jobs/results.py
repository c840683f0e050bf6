"""What the jobs return: typed, frozen results that arq pickles and `--json` prints.

Field names and order are the keys the job results have always had. A result stored by an older
worker as a plain dict is read back into the same type (`as_result`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from ledger.errors import Conflict
from ledger.model_views import (
    AttributionRead,
    CreditLineRead,
    CreditStabilityRead,
    GenerationRead,
    ItemShareRead,
    KeyedShareRead,
    ParentRead,
    ProposalsRead,
    ScoredItemRead,
)
from ledger.views import View

ResultT = TypeVar("ResultT", bound=View)


class TrainJobResult(View, frozen=True, kw_only=True):
    """A training job's run: its state, loss, size, and whether it is the deployed version;
    how many feedback notes moved the weight of how many donations (the run's
    `feedback_effects`; the compliance report has each one)."""

    job: str = "train"
    job_id: str
    run_id: str
    state: str
    final_loss: float | None
    preset: str
    seed: int
    shards: int
    steps: int | None
    items: int
    deployed: bool
    tries: int
    feedback_notes: int = 0
    feedback_donations: int = 0
    variant: str = "stage"


class RetrainJobResult(View, frozen=True, kw_only=True):
    """A retraining job: the requests it served (by number and cause), its run and what the run
    did to each shard, the model version it deployed and the erasures that completed with it.

    Without a run, `state` says why: `nothing-due` (nothing scheduled, or the batch is not due:
    `next_due_at`) or `unneeded` (the deployed version already matched consent: `requests`
    were served by no run). `erasures_certified`: artists whose erasure requests it served and
    whose certificate exists now.
    """

    job: str = "retrain"
    job_id: str
    run_id: str | None
    state: str
    requests: list[int]
    causes: dict[str, int]
    shards: int | None
    shards_retrained: list[int]
    shards_reused: list[int]
    shards_dropped: list[int]
    deployed: bool
    reason: str
    next_due_at: str | None
    erasures_certified: list[str]
    tries: int
    # The continuation model trained again after an erasure withdrew it (`reach_continuation`).
    continuation_run_id: str | None = None


class GenerateJobResult(View, frozen=True, kw_only=True):
    """A recorded generation: the model version, conditioning, seed and output digest."""

    job: str = "generate"
    job_id: str
    generation_id: str
    state: str
    model_version: str
    role: str
    emotion: str
    seed: int
    steps: int
    output_sha256: str
    blob_id: str


class AttributeJobResult(View, frozen=True, kw_only=True, omit_defaults=True):
    """A recorded attribution (`AttributionRead`'s fields) under the job that made it."""

    job: str
    job_id: str
    state: str
    attribution_id: str
    generation_id: str
    model_version: str
    method: str
    parameters: dict[str, Any]
    index_hash: str
    k: int
    top_k: list[ScoredItemRead]
    shares_ppm: list[ItemShareRead]
    per_donation: list[KeyedShareRead]
    per_role: list[KeyedShareRead]
    credits: list[CreditLineRead]
    projection_seeds: list[int] | None = None
    credit_stability: CreditStabilityRead | None = None
    query_seconds: float | None = None

    @classmethod
    def of(cls, job_id: str, attribution: AttributionRead) -> AttributeJobResult:
        return cls(
            job="attribute",
            job_id=job_id,
            state="completed",
            **msgspec.structs.asdict(attribution),
        )


class ContinueJobResult(View, frozen=True, kw_only=True):
    """Proposals of the continuation model (`ProposalsRead`'s fields) under the job that made
    them: the parent, the model version, one list of generations per seed."""

    job: str = "continue"
    job_id: str
    state: str
    parent: ParentRead
    model_version: str
    series: list[list[GenerationRead]]

    @classmethod
    def of(cls, job_id: str, proposals: ProposalsRead) -> ContinueJobResult:
        return cls(job_id=job_id, state="completed", **msgspec.structs.asdict(proposals))


JobResult = (
    TrainJobResult | RetrainJobResult | GenerateJobResult | AttributeJobResult | ContinueJobResult
)
RESULT_TYPES: dict[str, type[JobResult]] = {
    "train": TrainJobResult,
    "retrain": RetrainJobResult,
    "generate": GenerateJobResult,
    "attribute": AttributeJobResult,
    "continue": ContinueJobResult,
}


def expect(result: JobResult, kind: type[ResultT], job_id: str) -> ResultT:
    """The result as the kind the caller ran; a job id reused for another kind of job is a
    Conflict (its result belongs to that job)."""
    if not isinstance(result, kind):
        raise Conflict(
            f"job {job_id} is a {result.job} job, not a {kind.__name__.removesuffix('JobResult').lower()}"
            " job: give another --job-id"
        )
    return result


def as_result(value: object) -> JobResult | None:
    """A job's stored result as its type: as it is, or from an older worker's dict; else None."""
    if isinstance(value, JobResult):
        return value
    if isinstance(value, dict) and value.get("job") in RESULT_TYPES:
        return msgspec.convert(value, RESULT_TYPES[value["job"]])
    return None
