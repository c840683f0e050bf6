"""The model's commands: `museum train`, `generate`, `attribute` and the job `worker`. Each runs
on a worker when MUSEUM_REDIS_URL names a job queue, in this process otherwise (the training
progress and job helpers are shared with `museum retrain`: `api.cli.jobs`); heavy imports happen
inside the commands, so `--help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.table import Table

from api.cli.console import json_line, out, say
from api.cli.jobs import as_refusal, make_job_id, no_worker, run_training_job, submitted
from api.cli.options import INT64, JOB_ID_HELP
from ledger.errors import InvalidInput, LedgerError

if TYPE_CHECKING:
    from api.jobs.results import AttributeJobResult


def train(
    preset: Annotated[str, typer.Option(help="Model preset: tiny, demo or full.")] = "demo",
    seed: Annotated[
        int, typer.Option(min=0, max=INT64, help="Seed of the run (0 to 2**63 - 1).")
    ] = 0,
    shards: Annotated[
        int, typer.Option(min=1, help="Compartments trained apart, so an erasure retrains one.")
    ] = 1,
    steps: Annotated[
        int | None, typer.Option(min=1, help="Optimiser steps per shard (default: the preset's).")
    ] = None,
    variant: Annotated[
        str,
        typer.Option(
            help="stage (each stage given its labels) or continuation (the next stage given "
            "the previous one: consented stage pairs; deployed beside the stage model)."
        ),
    ] = "stage",
    job_id: Annotated[str | None, typer.Option("--job-id", help=JOB_ID_HELP)] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="With a job queue: submit, print the ids, exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train a model version on the donated items whose training consent holds now.

    Runs on a worker when MUSEUM_REDIS_URL names a job queue (start one with `museum worker`),
    in this process otherwise.
    """
    from ledger.domain.model import TrainingRun

    job = make_job_id(job_id)
    arguments: dict[str, Any] = {"preset": preset, "seed": seed, "shards": shards, "steps": steps}
    if variant != "stage":  # absent for the stage model: a worker of before variants runs it
        arguments["variant"] = variant
    intro = f"training job {job} (run {TrainingRun.create_id(job)}), preset {preset}"
    if variant != "stage":
        intro += f", {variant} model"
    result = run_training_job(
        "train", job, arguments, as_json=as_json, no_wait=no_wait, intro=intro
    )
    if result is None:
        return  # queued (--no-wait)
    from api.jobs.results import TrainJobResult, expect

    trained = expect(result, TrainJobResult, job)
    if as_json:
        json_line(trained)
        return
    deployed = " (deployed)" if trained.deployed else ""
    say(
        f"run {trained.run_id} {trained.state}: {trained.items} items, "
        f"{trained.shards} shard(s) × {trained.steps} steps"
    )
    kind = "" if trained.variant == "stage" else f" ({trained.variant} model)"
    say(f"model version: {trained.run_id}{kind}{deployed}")
    say(f"final loss: {trained.final_loss:.6f}")
    if trained.feedback_donations:
        say(
            f"feedback: {trained.feedback_notes} note(s) drew the stages of "
            f"{trained.feedback_donations} donation(s) more often (which, and by how much: "
            f"the compliance report of run {trained.run_id})"
        )
    else:
        say("feedback: none changed what the run saw")


def generate(
    role: Annotated[str, typer.Option(help="Stage role to condition on, e.g. failure.")],
    emotion: Annotated[str, typer.Option(help="Emotion to condition on, e.g. doubt.")],
    seed: Annotated[
        int,
        typer.Option(min=0, max=INT64, help="Sampling seed: the same seed gives the same image."),
    ] = 0,
    steps: Annotated[int, typer.Option(min=1, help="Denoising steps (up to 1000).")] = 50,
    version: Annotated[
        str | None, typer.Option(help="Model version (a training run id); default: deployed.")
    ] = None,
    job_id: Annotated[str | None, typer.Option("--job-id", help=JOB_ID_HELP)] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the image to this PNG file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Make one image with the museum's model and record it as a generation."""
    from api.cli.files import writable_target, write_atomically
    from api.cli.ledger import configured_ledger
    from ledger.settings import get_settings

    job = make_job_id(job_id)
    if out_file is not None:
        writable_target(out_file, "--out")  # before anything is generated and recorded
    arguments: dict[str, Any] = {
        "role": role,
        "emotion": emotion,
        "seed": seed,
        "steps": steps,
        "version": version,
    }
    try:
        from api import jobs

        if get_settings().redis_url:
            submitted(jobs.submit("generate", job, **arguments), as_json)
            result = jobs.wait_for_result(job, on_no_worker=None if as_json else no_worker)
        else:
            result = jobs.run_job_inline("generate", job, **arguments)
    except ValueError as exc:
        raise as_refusal(exc) from None
    from api.jobs.results import GenerateJobResult, expect

    made = expect(result, GenerateJobResult, job)
    payload = made.as_builtins()
    if out_file is not None:
        from generation.credentials.service import ContentCredentialService

        with configured_ledger() as museum:  # the image with its signed manifest
            png = ContentCredentialService(museum).signed_png(UUID(made.generation_id))
        try:
            write_atomically(out_file, png, "--out")
        except LedgerError as exc:
            raise type(exc)(f"generation {made.generation_id} is recorded, but {exc}") from None
        payload["out"] = str(out_file)
    if as_json:
        json_line(payload)
        return
    say(f"generation {made.generation_id} (job {job})")
    say(f"model version: {made.model_version}")
    say(f"output sha256: {made.output_sha256}")
    if out_file is not None:
        say(f"wrote {out_file}")


def attribute(
    generation: Annotated[str, typer.Argument(help="Generation id (from museum generate).")],
    method: Annotated[
        str | None,
        typer.Option(help="Attribution method, e.g. d-trak, trak (default: the museum's)."),
    ] = None,
    top: Annotated[int, typer.Option(help="Credit the top-k scored items (1 to 1000).")] = 10,
    timesteps: Annotated[
        int | None, typer.Option(help="K: timesteps the features average over (default: method's).")
    ] = None,
    dim: Annotated[
        int | None, typer.Option(help="k: projection dimension (default: the method's).")
    ] = None,
    checkpoints: Annotated[
        int | None,
        typer.Option(help="Use each shard's last N checkpoints (0: all; default: the method's)."),
    ] = None,
    job_id: Annotated[str | None, typer.Option("--job-id", help=JOB_ID_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Credit a generation to the donated items that shaped it, and record the attribution.

    Scores every training item of the run that made the generation (building the run's index on
    first use), records the top-k with shares that sum to exactly one, rolled up per donation,
    stage role and artist.
    """
    from ledger.settings import get_settings

    job = make_job_id(job_id)
    arguments: dict[str, Any] = {
        "generation_id": generation,
        "method": method,
        "top": top,
        "timesteps": timesteps,
        "dim": dim,
        "checkpoints": checkpoints,
    }
    try:
        from api import jobs

        jobs.validate("attribute", **arguments)
        if get_settings().redis_url:
            submitted(jobs.submit("attribute", job, **arguments), as_json)
            result = jobs.wait_for_result(job, on_no_worker=None if as_json else no_worker)
        else:
            if not as_json:
                say(f"attributing generation {generation} (the run's index is built on first use)")
            result = jobs.run_job_inline("attribute", job, **arguments)
    except ValueError as exc:
        raise as_refusal(exc) from None
    from api.jobs.results import AttributeJobResult, expect

    credited = expect(result, AttributeJobResult, job)
    if as_json:
        json_line(credited)
        return
    say(
        f"attribution {credited.attribution_id} ({credited.method}, "
        f"index {credited.index_hash[:12]}…)"
    )
    table = Table(title=f"top {credited.k} items, shares of the positively scored")
    for column in ("item", "score", "share"):
        table.add_column(column, justify="right" if column != "item" else "left")
    shares = {line.item_id: line.ppm for line in credited.shares_ppm}
    for item in credited.top_k:
        ppm = shares.get(item.item_id, 0)
        table.add_row(item.item_id, f"{item.score:.4g}", f"{ppm / 10_000:.2f} %")
    out.print(table)
    for credit in credited.credits:
        say(f"credit: {credit.pseudonym} {credit.ppm / 10_000:.2f} %")
    say(_stability_line(credited))


def _stability_line(credited: AttributeJobResult) -> str:
    """How far this method's credit held across projection seeds where the bench measured it."""
    stability = credited.credit_stability
    if stability is None:
        seeds = len(credited.projection_seeds or [])
        return f"credit stability: not measured at these settings ({seeds} projection seed(s))"
    return (
        f"credit stability: across {stability.projection_seeds} projection seeds "
        f"the bench's credit agreed {stability.item:.3f} per item and "
        f"{stability.artist:.3f} per artist"
    )


def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queue is empty.")] = False,
    probes: Annotated[
        str | None,
        typer.Option(
            "--probes",
            help="Answer /healthz, /readyz and /metrics on HOST:PORT (e.g. 127.0.0.1:9101).",
        ),
    ] = None,
) -> None:
    """Run a job worker for training, retraining, generation and attribution (needs
    MUSEUM_REDIS_URL); JSON logs on stderr; stop with Ctrl-C."""
    try:
        from api.jobs import run_worker

        run_worker(burst=burst, probes=None if probes is None else _bind(probes))
    except ValueError as exc:
        raise as_refusal(exc) from None


def _bind(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidInput(f"--probes must be HOST:PORT, e.g. 127.0.0.1:9101, got {text!r}")
    return host, int(port)
