"""The job functions: train, retrain, generate and attribute, as arq (or `run_job_inline`)
calls them.

Each checks its arguments, then runs its body (`generation.service.train_run` /
`generation.retraining.retrain` / `generate` / `api.attribute.attribute`) in a thread on
`ctx["ledger"]`, keyed by the job id, so that a job that runs twice records each fact once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from api.attribute import AttributeRequest, attribute, parse_generation_id
from api.jobs.results import (
    AttributeJobResult,
    ContinueJobResult,
    GenerateJobResult,
    JobResult,
    RetrainJobResult,
    TrainJobResult,
)
from api.jobs.retraining import nothing_due, retrain_result
from api.jobs.running import (
    Interrupted,
    fail_run_quietly,
    give_up_if_tried_out,
    in_thread,
    with_ledger,
)
from api.jobs.settings import Ctx, job_settings
from generation.process.request import ContinueRequest
from ledger.application import MuseumLedger
from ledger.domain.model import CONTINUATION, STAGE, VARIANTS, Generation, TrainingRun
from ledger.errors import Conflict, InvalidInput, LedgerError, NotFound
from ledger.model_records import ModelRecords
from ledger.settings import get_settings
from ledger.vocabulary import Emotion, StageRole, parse

if TYPE_CHECKING:
    from generation.credentials.service import ContentCredentialService
    from generation.service import RunProgress

logger = logging.getLogger("museum.jobs")

JobFunction = Callable[..., Coroutine[Any, Any, JobResult]]
R = TypeVar("R")


def _invalid(exc: ValueError) -> LedgerError:
    return exc if isinstance(exc, LedgerError) else InvalidInput(str(exc))


def validate(name: str, **kwargs: Any) -> None:
    """Refuse bad arguments before a job is queued: the checks that need no ledger."""
    try:
        if name == "train":
            from generation.presets import run_config  # torch-free: refused before torch loads

            variant = kwargs.get("variant", STAGE)
            if variant not in VARIANTS:
                raise InvalidInput(
                    f"unknown model variant {variant!r}; expected one of: stage, continuation"
                )
            if variant == CONTINUATION:
                from generation.process.config import continuation_run_config

                continuation_run_config(kwargs["preset"], steps=kwargs.get("steps"))
                if kwargs.get("shards", 1) != 1:
                    raise InvalidInput("the continuation model trains as one shard: --shards 1")
            else:
                run_config(kwargs["preset"], steps=kwargs.get("steps"))
        elif name == "continue":
            continue_request(**kwargs).check()
        elif name == "retrain":
            if not isinstance(kwargs.get("now", False), bool):
                raise InvalidInput(f"now must be true or false, got {kwargs['now']!r}")
        elif name == "generate":
            parse(StageRole, kwargs["role"], "stage role")
            parse(Emotion, kwargs["emotion"], "emotion")
            _version(kwargs.get("version"))
        elif name == "attribute":
            _attribute_request(**kwargs).check()
        else:
            raise InvalidInput(f"unknown job {name!r}; expected one of: {', '.join(JOBS)}")
    except ValueError as exc:
        raise _invalid(exc) from None


def _version(version: str | None) -> UUID | None:
    if version is None:
        return None
    try:
        return UUID(str(version))
    except ValueError:
        raise InvalidInput(
            f"model version {version!r} is not a run id (a UUID such as 3f0c…)"
        ) from None


def _guarded(ctx: Ctx, stop: threading.Event) -> Callable[[RunProgress], None]:
    """A training job's progress callback: it stops the run when the worker stops (`stop`) or
    past the job's time limit, and passes each report on to the caller's `on_progress`."""
    job_id: str = ctx["job_id"]
    report: Callable[[RunProgress], None] | None = ctx.get("on_progress")
    timeout = job_settings().job_timeout
    deadline = time.monotonic() + timeout if "redis" in ctx else None

    def on_progress(progress: RunProgress) -> None:
        if stop.is_set():
            raise Interrupted(f"job {job_id} was interrupted at step {progress.step}")
        if deadline is not None and time.monotonic() > deadline:
            # A RuntimeError: the trainer records the run as failed and frees the slot.
            raise RuntimeError(f"the job ran past its time limit of {timeout:.0f} s")
        if report is not None:
            report(progress)

    return on_progress


async def _training(
    ctx: Ctx,
    again: str,
    body: Callable[[MuseumLedger, Callable[[RunProgress], None]], R],
    settled: Callable[[MuseumLedger, TrainingRun], R],
) -> R:
    """What every job that trains a run shares (see `api.jobs`): the lease, the stop and time
    limit, the last try that only fails the run, the refusal of a run that failed, and after an
    error the run another try completed meanwhile (`settled`), else the error."""
    job_id: str = ctx["job_id"]
    run_id = TrainingRun.create_id(job_id)
    stop = threading.Event()
    on_progress = _guarded(ctx, stop)

    def work(ledger: MuseumLedger) -> R:
        records = ModelRecords(ledger)
        give_up_if_tried_out(ctx, run_id, ledger)
        with contextlib.suppress(NotFound):
            earlier = records.get_run(run_id)
            if earlier.state == "failed":
                raise Conflict(
                    f"training run {run_id} of job {job_id} failed ({earlier.failure}); "
                    f"start a new job to {again}"
                )
        try:
            return body(ledger, on_progress)
        except Interrupted:
            raise  # the worker is stopping: the job goes back to the queue
        except Exception as exc:
            return settled(ledger, _settle(records, run_id, exc))

    return await in_thread(ctx, stop, lambda: with_ledger(ctx, work))


async def train_job(
    ctx: Ctx, preset: str, seed: int, shards: int, steps: int | None, variant: str = STAGE
) -> TrainJobResult:
    """Train a model version on the consented collection (`generation.service.train_run`), or
    the continuation model on its consented stage pairs (`generation.process.service`)."""
    validate("train", preset=preset, steps=steps, variant=variant, shards=shards)

    def result(ledger: MuseumLedger, run: TrainingRun) -> TrainJobResult:
        return TrainJobResult(
            job="train",
            job_id=ctx["job_id"],
            run_id=str(run.id),
            state=run.state,
            final_loss=run.final_loss,
            preset=run.config.get("preset", preset),
            seed=run.seed,
            shards=run.shards,
            steps=run.config.get("train", {}).get("steps"),
            items=len(run.items),
            deployed=run.id in _deployed(ModelRecords(ledger)),
            tries=int(ctx.get("job_try", 1)),
            feedback_notes=sum(len(e["feedback"]) for e in run.feedback_effects),
            feedback_donations=len(run.feedback_effects),
            variant=run.variant,
        )

    def train(ledger: MuseumLedger, on_progress: Callable[[RunProgress], None]) -> TrainJobResult:
        if variant == CONTINUATION:
            from generation.process.service import train_continuation_run

            trained = train_continuation_run(
                ledger,
                job_id=ctx["job_id"],
                preset_name=preset,
                seed=seed,
                steps=steps,
                on_progress=on_progress,
            )
            return result(ledger, trained)
        from generation.service import train_run

        run = train_run(
            ledger,
            job_id=ctx["job_id"],
            preset_name=preset,
            seed=seed,
            shards=shards,
            steps=steps,
            on_progress=on_progress,
        )
        return result(ledger, run)

    return await _training(ctx, "train again", train, result)


async def retrain_job(ctx: Ctx, now: bool = False) -> RetrainJobResult:
    """Serve the retraining schedule: the batch that is due (every pending request with `now`)
    with one run that retrains only the changed shards (`generation.retraining.retrain`)."""
    validate("retrain", now=now)

    def retrain(
        ledger: MuseumLedger, on_progress: Callable[[RunProgress], None]
    ) -> RetrainJobResult:
        idle = nothing_due(ledger, ctx["job_id"], now=now)
        registry = ModelRecords(ledger).registry()
        owed = CONTINUATION in registry.withdrawn_variants  # an erasure withdrew it
        if idle is not None and not owed:  # answered before torch loads
            return retrain_result(ctx, ledger, None, [], idle)
        from generation.retraining import retrain as serve_schedule

        outcome = serve_schedule(ledger, job_id=ctx["job_id"], now=now, on_progress=on_progress)
        return retrain_result(
            ctx, ledger, outcome.run, outcome.requests, outcome.reason, outcome.continuation
        )

    def settled(ledger: MuseumLedger, run: TrainingRun) -> RetrainJobResult:
        if run.retraining is None:
            raise Conflict(f"job {ctx['job_id']} is a training run, not a retraining")
        requests = list(run.retraining["requests"])
        return retrain_result(ctx, ledger, run, requests, "retrained (by another try of the job)")

    return await _training(ctx, "retrain what is still pending", retrain, settled)


def _settle(records: ModelRecords, run_id: UUID, exc: Exception) -> TrainingRun:
    """After a training error: the run if another try of the job completed it meanwhile (a
    worker presumed dead was not); else record the run as failed, unless the database failed
    (worth retrying, and maybe a twin still trains), and raise."""
    try:
        run = records.get_run(run_id)
    except Exception:  # not started, or the database is down: nothing to settle
        run = None
    if run is not None and run.state == "completed":
        logger.warning("run %s was completed by another try of its job (%s)", run_id, exc)
        return run
    if not isinstance(exc, PersistenceError | SQLAlchemyError):
        fail_run_quietly(records, run_id, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ValueError):
        raise _invalid(exc) from None
    raise exc


def credentials(ledger: MuseumLedger) -> ContentCredentialService:
    """The content-credentials service of a job (the signer is loaded once per call)."""
    from generation.credentials.service import ContentCredentialService

    return ContentCredentialService(ledger)  # the settings the ledger was opened with


def _generation_result(generation: Generation, job_id: str) -> GenerateJobResult:
    return GenerateJobResult(
        job="generate",
        job_id=job_id,
        generation_id=str(generation.id),
        state="completed",
        model_version=str(generation.model_version),
        role=generation.conditioning["role"],
        emotion=generation.conditioning["emotion"],
        seed=generation.seed,
        steps=generation.steps,
        output_sha256=generation.output_sha256,
        blob_id=generation.blob_id,
    )


async def generate_job(
    ctx: Ctx, role: str, emotion: str, seed: int, steps: int, version: str | None
) -> GenerateJobResult:
    """Make one image with a model version and record it (`generation.service.generate`)."""
    job_id: str = ctx["job_id"]
    validate("generate", role=role, emotion=emotion, version=version)

    def work(ledger: MuseumLedger) -> GenerateJobResult:
        records = ModelRecords(ledger)
        with contextlib.suppress(NotFound):  # done before: nothing to sample again
            done = records.get_generation(Generation.create_id(job_id))
            credentials(ledger).current(done.id)  # a retry after a crash before signing
            return _generation_result(done, job_id)
        give_up_if_tried_out(ctx, None, ledger)
        records.model_version(_version(version))  # refuse an unusable version before torch loads
        from generation.service import generate

        try:
            made = generate(
                ledger,
                job_id=job_id,
                role=role,
                emotion=emotion,
                seed=seed,
                steps=steps,
                version=_version(version),
            )
        except ValueError as exc:
            raise _invalid(exc) from None
        credentials(ledger).current(made.id)  # the image leaves with its signed manifest
        return _generation_result(made, job_id)

    return await in_thread(ctx, threading.Event(), lambda: with_ledger(ctx, work))


def _attribute_request(generation_id: str, **options: Any) -> AttributeRequest:
    """The job's arguments as a request; a misspelt option is refused like any bad input."""
    known = {"method", "top", "timesteps", "dim", "checkpoints"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidInput(f"unknown attribute option(s): {', '.join(unknown)}")
    return AttributeRequest(generation_id=parse_generation_id(generation_id), **options)


async def attribute_job(ctx: Ctx, generation_id: str, **options: Any) -> AttributeJobResult:
    """Score a generation against its run's items and record the credit (`api.attribute`).

    Options: method, top, timesteps (K), dim (k), checkpoints (see `AttributeRequest`).
    """
    job_id: str = ctx["job_id"]
    request = _attribute_request(generation_id, **options)
    request.check()

    def work(ledger: MuseumLedger) -> AttributeJobResult:
        give_up_if_tried_out(ctx, None, ledger)
        try:
            result = attribute(ledger, ctx.get("home") or get_settings().home, request)
        except ValueError as exc:
            raise _invalid(exc) from None
        credentials(ledger).current(request.generation_id)  # re-attributed: a new version
        return AttributeJobResult.of(job_id, result)

    return await in_thread(ctx, threading.Event(), lambda: with_ledger(ctx, work))


def _deployed(records: ModelRecords) -> set[UUID | None]:
    registry = records.registry()
    return {registry.deployed, *registry.deployed_variants.values()}


def _uuid(value: str | None, what: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not an id (a UUID)") from None


def continue_request(
    donation_id: str | None = None,
    stage: int | None = None,
    upload_blob_id: str | None = None,
    image: bytes | None = None,
    **options: Any,
) -> ContinueRequest:
    """The job's arguments as a request: a donated stage, or an upload already checked and
    kept in the blob store (`upload_blob_id`; `image` its bytes once read)."""
    known = {"role", "failure_type", "emotion", "next_role", "count", "to_final", "seed", "steps"}
    unknown = sorted(set(options) - known - {"version"})
    if unknown:
        raise InvalidInput(f"unknown continue option(s): {', '.join(unknown)}")
    version = options.pop("version", None)
    if image is None and upload_blob_id is not None:
        image = b"\x00"  # a placeholder for the checks that need no blob store
    return ContinueRequest(
        donation_id=_uuid(donation_id, "donation"),
        stage_index=stage,
        image=image,
        version=_version(version),
        **options,
    )


async def continue_job(ctx: Ctx, **arguments: Any) -> ContinueJobResult:
    """Propose next stages (or whole series) with the continuation model and record each
    proposal with its parent (`generation.process.proposals.propose`)."""
    job_id: str = ctx["job_id"]
    continue_request(**arguments).check()

    def work(ledger: MuseumLedger) -> ContinueJobResult:
        give_up_if_tried_out(ctx, None, ledger)
        blob_id = arguments.get("upload_blob_id")
        image = None if blob_id is None else ledger.blobs.get(str(blob_id))
        request = continue_request(**{**arguments, "image": image})
        from generation.process.proposals import propose

        try:
            proposals = propose(ledger, job_id=job_id, request=request)
        except ValueError as exc:
            raise _invalid(exc) from None
        signer = credentials(ledger)
        for series in proposals.series:  # each image leaves with its signed manifest
            for generation in series:
                signer.current(UUID(generation.generation_id))
        return ContinueJobResult.of(job_id, proposals)

    return await in_thread(ctx, threading.Event(), lambda: with_ledger(ctx, work))


JOBS: dict[str, JobFunction] = {
    "train": train_job,
    "retrain": retrain_job,
    "generate": generate_job,
    "attribute": attribute_job,
    "continue": continue_job,
}


def job_function(name: str) -> JobFunction:
    """The job function of that name, or a refusal that lists the known ones."""
    try:
        return JOBS[name]
    except KeyError:
        raise InvalidInput(f"unknown job {name!r}; expected one of: {', '.join(JOBS)}") from None
