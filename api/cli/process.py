"""`museum continue`: alternative next stages of a donated or uploaded stage.

Runs the `continue` job on a worker when MUSEUM_REDIS_URL names a job queue, in this process
otherwise. An uploaded image is read and checked here (size first, then that it decodes) and
kept in the blob store, so that the job and the proposals' attribution can read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.console import json_line, say
from api.cli.jobs import as_refusal, make_job_id, no_worker, submitted
from api.cli.options import INT64, JOB_ID_HELP
from ledger.errors import FileProblem, InvalidImage


def _upload(path: Path) -> bytes:
    """The uploaded image's bytes, refused before reading when it is too large."""
    from ledger.images import MAX_IMAGE_BYTES, inspect_image

    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise InvalidImage(f"--image {path} is {size} bytes; the limit is {MAX_IMAGE_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise FileProblem(f"--image {path} cannot be read: {exc.strerror or exc}") from None
    inspect_image(data, f"--image {path}")
    return data


def continue_(
    donation: Annotated[
        str | None, typer.Argument(help="Donation id whose stage to continue (or give --image).")
    ] = None,
    stage: Annotated[int | None, typer.Option(help="Index of the stage to continue (0..).")] = None,
    image: Annotated[
        Path | None, typer.Option(help="Continue an uploaded image (PNG, JPEG, WebP) instead.")
    ] = None,
    role: Annotated[str | None, typer.Option(help="With --image: its stage role.")] = None,
    failure_type: Annotated[
        str | None, typer.Option("--failure-type", help="With --image: why it failed.")
    ] = None,
    emotion: Annotated[str | None, typer.Option(help="With --image: the emotion.")] = None,
    next_role: Annotated[
        str | None,
        typer.Option("--next-role", help="Role of the proposed stage (default: the next one)."),
    ] = None,
    count: Annotated[int, typer.Option(help="Proposals, each its own seed (1 to 16).")] = 4,
    to_final: Annotated[
        bool, typer.Option("--to-final", help="Roll each proposal out to a final stage.")
    ] = False,
    seed: Annotated[
        int, typer.Option(min=0, max=INT64, help="Seed of the first proposal (then +1 each).")
    ] = 0,
    steps: Annotated[int, typer.Option(help="Denoising steps (1 to 1000).")] = 50,
    version: Annotated[
        str | None,
        typer.Option(help="Continuation model version (a run id); default: deployed."),
    ] = None,
    job_id: Annotated[str | None, typer.Option("--job-id", help=JOB_ID_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Propose next stages of a donated stage (DONATION --stage N) or of an uploaded image
    (--image FILE --role R --failure-type F --emotion E) with the process continuation model;
    each proposal is recorded as a generation linked to its parent."""
    from api.cli.ledger import configured_ledger
    from ledger.settings import get_settings

    job = make_job_id(job_id)
    arguments: dict[str, Any] = {
        "donation_id": donation,
        "stage": stage,
        "role": role,
        "failure_type": failure_type,
        "emotion": emotion,
        "next_role": next_role,
        "count": count,
        "to_final": to_final,
        "seed": seed,
        "steps": steps,
        "version": version,
    }
    try:
        from api import jobs

        if image is not None:
            arguments["upload_blob_id"] = "pending"  # checked as an upload before it is read
        jobs.validate("continue", **arguments)
        if image is not None:
            data = _upload(image)
            from ledger.domain.model import CONTINUATION
            from ledger.model_records import ModelRecords

            with configured_ledger() as museum:  # refused before the upload is kept
                ModelRecords(museum).model_version(
                    jobs.continue_request(**arguments).version, variant=CONTINUATION
                )
                arguments["upload_blob_id"] = museum.blobs.put(data)[0]
        if get_settings().redis_url:
            submitted(jobs.submit("continue", job, **arguments), as_json)
            result = jobs.wait_for_result(job, on_no_worker=None if as_json else no_worker)
        else:
            result = jobs.run_job_inline("continue", job, **arguments)
    except ValueError as exc:
        raise as_refusal(exc) from None
    from api.jobs.results import ContinueJobResult, expect

    made = expect(result, ContinueJobResult, job)
    if as_json:
        json_line(made)
        return
    parent = made.parent
    if parent.kind == "stage":
        what = f"stage {parent.stage_index} of donation {parent.donation_id}"
    else:
        what = f"the uploaded image (sha256 {parent.sha256})"
    say(f"{len(made.series)} proposal(s) for {what}, continuation model {made.model_version}")
    for number, series in enumerate(made.series, start=1):
        steps_line = " → ".join(f"{g.role} {g.generation_id}" for g in series)
        say(f"{number}. seed {series[0].seed}: {steps_line}")
