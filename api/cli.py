"""The `museum` command. Thin: parses, calls a service, prints; errors are one line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api import boundary
from api.cli_bench import bench_app
from api.cli_royalties import royalties_app
from ledger.errors import LedgerError

app = typer.Typer(
    name="museum",
    help="Back office of the Museum of Failures: provenance ledger, model, attribution, royalties.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
ledger_app = typer.Typer(help="Inspect and prove the verifiable event log.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(royalties_app, name="royalties")

out = Console()

# The widest whole number the database columns hold: seeds and sizes beyond it are refused.
INT64 = 2**63 - 1


@app.callback()
def start(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="On an unexpected error, print the traceback (or MUSEUM_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Check the whole configuration once, before any command runs, so a wrong variable is
    named up front even by commands that would read it late."""
    from ledger.settings import get_settings
    from royalties.settings import get_royalty_settings

    del debug  # read by `main` before parsing, so even a failing start-up can be debugged
    get_settings.cache_clear()
    get_royalty_settings.cache_clear()
    get_settings()
    get_royalty_settings()


def _open() -> Any:
    from ledger.runtime import open_ledger
    from ledger.settings import get_settings

    return open_ledger(get_settings())


def _print_json(payload: Any) -> None:
    out.print_json(json.dumps(payload, default=str))


@app.command()
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Prepare everything, then exit.")
    ] = False,
    artists: Annotated[
        int, typer.Option(min=1, max=500, help="Artists in the founding collection.")
    ] = 36,
    seed: Annotated[
        int, typer.Option(min=0, max=INT64, help="Seed of the collection and the model.")
    ] = 0,
    preset: Annotated[
        str, typer.Option(help="Model preset to train: tiny, demo or full.")
    ] = "demo",
    steps: Annotated[
        int | None, typer.Option(min=1, help="Override the preset's training steps.")
    ] = None,
) -> None:
    """Seed the founding collection, train the first model, open the exhibition, prove the ledger."""
    from api.demo import run_demo

    run_demo(out, artists=artists, seed=seed, preset=preset, steps=steps)
    if not no_serve:
        out.print("The exhibition site is not part of this build yet; nothing to serve. Done.")


@ledger_app.command("verify")
def ledger_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against",
            help="A receipt, signed head or erasure certificate handed out earlier: the log "
            "must still extend it (repeatable).",
        ),
    ] = None,
    projections: Annotated[
        bool,
        typer.Option("--projections", help="Also compare the read models with a rebuild."),
    ] = False,
) -> None:
    """Recompute every leaf, head, blob and key from the store; non-zero exit names the first fault."""
    from ledger.audit import full_audit
    from royalties.audit import compare
    from royalties.projection import PostingsProjection

    read_models = {"royalty_postings": lambda museum: compare(PostingsProjection(museum))}
    figures = full_audit(_open(), against or [], read_models if projections else None)
    if as_json:
        print(json.dumps(figures))
        return
    extra = f", {len(figures['against'])} outside proofs held" if figures["against"] else ""
    if "projections" in figures:
        rows = figures["projections"]["royalty_postings"]["rows"]
        extra += f", read model agrees with a rebuild ({rows:,} posting rows)"
    out.print(
        f"ledger verified: {figures['events']} events, {figures['signed_heads_checked']} signed "
        f"heads checked, {figures['events_per_second']:,.0f} events/s, "
        f"{figures['blobs_checked']} blobs re-hashed ({figures['blobs_referenced']} referenced), "
        f"{figures['keys_present']} artist keys present and {figures['keys_shredded']} "
        f"shredded as recorded{extra}",
        soft_wrap=True,
    )


@ledger_app.command("head")
def ledger_head(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sign a tree head over everything recorded so far (if anything is new) and print it."""
    museum = _open()
    head = museum.integrity.sign_head().as_dict() | {"public_key": museum.integrity.public_key_hex}
    if as_json:
        print(json.dumps(head))
    else:
        _print_json(head)


@ledger_app.command("proof")
def ledger_proof(
    event: Annotated[str, typer.Argument(help="Notification id, or ORIGINATOR_ID:VERSION.")],
) -> None:
    """Print a receipt: the event as stored, its inclusion path and a signed head."""
    from uuid import UUID

    museum = _open()
    if ":" in event:
        originator, _, version = event.partition(":")
        try:
            receipt = museum.integrity.receipt_for(UUID(originator), int(version))
        except ValueError:
            raise typer.BadParameter("expected ORIGINATOR_ID:VERSION, e.g. 3f0c…:1") from None
    else:
        try:
            receipt = museum.integrity.receipt(int(event))
        except ValueError:
            raise typer.BadParameter("expected a notification id (a whole number)") from None
    print(json.dumps(receipt, indent=2))


@ledger_app.command("consistency")
def ledger_consistency(
    old_size: Annotated[
        int, typer.Argument(min=0, max=INT64, help="Size of the older signed head.")
    ],
    new_size: Annotated[
        int | None, typer.Argument(min=0, max=INT64, help="Size of the newer head (default: now).")
    ] = None,
) -> None:
    """Print a consistency proof that the log of OLD_SIZE is a prefix of the log of NEW_SIZE."""
    print(json.dumps(_open().integrity.consistency(old_size, new_size), indent=2))


@ledger_app.command("check-receipt")
def ledger_check_receipt(
    receipt_file: Annotated[Path, typer.Argument(help="Receipt JSON.")],
    public_key: Annotated[
        str, typer.Option(help="The museum's public key (hex), obtained out of band.")
    ],
) -> None:
    """Verify a receipt offline: no database is opened."""
    from ledger.receipt import load_receipt, verify_receipt

    receipt = load_receipt(receipt_file)
    verify_receipt(receipt, public_key)
    out.print(
        f"receipt verified: event {receipt['event']['notification_id']} is in the log of "
        f"size {receipt['head']['tree_size']}"
    )


@ledger_app.command("new-master-key")
def ledger_new_master_key() -> None:
    """Print a fresh master key (base64) for MUSEUM_MASTER_KEY; keep it secret and backed up."""
    from ledger.crypto import MasterKey

    print(MasterKey.generate_text())


# --- the model: train, generate, and the job worker ------------------------------------------


def _say(text: str) -> None:
    """One line of plain output (no wrapping, no highlighting: it is read by scripts too)."""
    out.print(text, highlight=False, soft_wrap=True)


_JOB_ID_HELP = "Job id (default: a fresh one). Submitting an id again never runs the job twice."


def _job_id(value: str | None) -> str:
    from uuid import uuid4

    from ledger.errors import InvalidInput
    from ledger.validation import key

    if value is None:
        return uuid4().hex
    try:
        return key(value, "--job-id")
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc)) from None


def _as_refusal(exc: ValueError) -> LedgerError:
    """A `ValueError` (bad preset, bad number) as the ledger's own one-line refusal."""
    from ledger.errors import InvalidInput

    return exc if isinstance(exc, LedgerError) else InvalidInput(str(exc))


class _TrainingDisplay:
    """Training progress: a rich bar on a terminal, one plain line per report otherwise."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.last: tuple[int, int] = (-1, -1)

    def __enter__(self) -> _TrainingDisplay:
        if not self.quiet and self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, shard: int, shards: int, step: int, total_steps: int, loss: float) -> None:
        if self.quiet or (shard, step) <= self.last:
            return
        self.last = (shard, step)
        done = shard * total_steps + step
        if self.bar is None:
            self.console.print(
                f"shard {shard + 1}/{shards} step {step}/{total_steps} loss {loss:.4f}",
                highlight=False,
                soft_wrap=True,
            )
            return
        if self.task is None:
            self.task = self.bar.add_task("training", total=shards * total_steps, loss="…")
        self.bar.update(
            self.task,
            completed=done,
            description=f"training shard {shard + 1}/{shards}",
            loss=f"{loss:.4f}",
        )


class _LedgerProgress:
    """Follow a queued training job through the progress its worker records in the ledger."""

    def __init__(self, display: _TrainingDisplay, job_id: str) -> None:
        from ledger.domain.model import TrainingRun

        self.display = display
        self.run_id = TrainingRun.create_id(job_id)
        self.ledger: Any = None
        self.seen = 0

    def __call__(self) -> None:
        from ledger.errors import NotFound
        from ledger.model_records import ModelRecords

        if self.display.quiet:
            return
        if self.ledger is None:
            self.ledger = _open()
        try:
            run = ModelRecords(self.ledger).get_run(self.run_id)
        except NotFound:
            return  # not started yet
        steps = int(run.config["train"]["steps"])
        for entry in run.losses[self.seen :]:
            self.display.update(entry["shard"], run.shards, entry["step"], steps, entry["loss"])
        self.seen = len(run.losses)

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
            self.ledger.engine.dispose()


def _no_worker(queue: str) -> None:
    _say(f"waiting for a worker: none is running on queue {queue!r} (start one: museum worker)")


def _submitted(submission: Any, as_json: bool) -> None:
    if not submission.created and not as_json:
        _say(
            f"job {submission.job_id} was submitted before ({submission.status}); "
            "following it instead of running it again"
        )


@app.command()
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
    job_id: Annotated[str | None, typer.Option("--job-id", help=_JOB_ID_HELP)] = None,
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
    from ledger.settings import get_settings

    job = _job_id(job_id)
    arguments: dict[str, Any] = {"preset": preset, "seed": seed, "shards": shards, "steps": steps}
    run_id = TrainingRun.create_id(job)
    try:
        from api import jobs

        jobs.validate("train", **arguments)
        with _TrainingDisplay(out, quiet=as_json) as display:
            if not as_json:
                _say(f"training job {job} (run {run_id}), preset {preset}")
            if get_settings().redis_url:
                submission = jobs.submit("train", job, **arguments)
                _submitted(submission, as_json)
                if no_wait:
                    payload = {"job_id": job, "run_id": str(run_id), "status": submission.status}
                    if as_json:
                        print(json.dumps(payload))
                    else:
                        _say(f"queued; follow it with: museum train --job-id {job}")
                    return
                follow = _LedgerProgress(display, job)
                try:
                    result = jobs.wait_for_result(
                        job, on_poll=follow, on_no_worker=None if as_json else _no_worker
                    )
                finally:
                    follow.close()
            else:

                def report(progress: Any) -> None:
                    display.update(
                        progress.shard,
                        progress.shards,
                        progress.step,
                        progress.total_steps,
                        progress.loss,
                    )

                result = jobs.run_job_inline("train", job, on_progress=report, **arguments)
    except ValueError as exc:
        raise _as_refusal(exc) from None
    except KeyboardInterrupt:
        if get_settings().redis_url:
            _fail(
                f"stopped following job {job}, which goes on; follow it: museum train --job-id {job}",
                130,
            )
        _fail(
            f"interrupted: run {run_id} holds the training slot; resume: museum train --job-id {job}",
            130,
        )
    if as_json:
        print(json.dumps(result))
        return
    deployed = " (deployed)" if result.get("deployed") else ""
    _say(
        f"run {result['run_id']} {result['state']}: {result['items']} items, "
        f"{result['shards']} shard(s) × {result['steps']} steps"
    )
    _say(f"model version: {result['run_id']}{deployed}")
    _say(f"final loss: {result['final_loss']:.6f}")


@app.command()
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
    job_id: Annotated[str | None, typer.Option("--job-id", help=_JOB_ID_HELP)] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the image to this PNG file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Make one image with the museum's model and record it as a generation."""
    from api.files import writable_target, write_atomically
    from ledger.settings import get_settings

    job = _job_id(job_id)
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
            _submitted(jobs.submit("generate", job, **arguments), as_json)
            result = jobs.wait_for_result(job, on_no_worker=None if as_json else _no_worker)
        else:
            result = jobs.run_job_inline("generate", job, **arguments)
    except ValueError as exc:
        raise _as_refusal(exc) from None
    if out_file is not None:
        museum = _open()
        try:
            png = museum.blobs.get(result["blob_id"])
        finally:
            museum.close()
            museum.engine.dispose()
        try:
            write_atomically(out_file, png, "--out")
        except LedgerError as exc:
            raise type(exc)(
                f"generation {result['generation_id']} is recorded, but {exc}"
            ) from None
        result["out"] = str(out_file)
    if as_json:
        print(json.dumps(result))
        return
    _say(f"generation {result['generation_id']} (job {job})")
    _say(f"model version: {result['model_version']}")
    _say(f"output sha256: {result['output_sha256']}")
    if out_file is not None:
        _say(f"wrote {out_file}")


@app.command()
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
    job_id: Annotated[str | None, typer.Option("--job-id", help=_JOB_ID_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Credit a generation to the donated items that shaped it, and record the attribution.

    Scores every training item of the run that made the generation (building the run's index on
    first use), records the top-k with shares that sum to exactly one, rolled up per donation,
    stage role and artist.
    """
    from ledger.settings import get_settings

    job = _job_id(job_id)
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
            _submitted(jobs.submit("attribute", job, **arguments), as_json)
            result = jobs.wait_for_result(job, on_no_worker=None if as_json else _no_worker)
        else:
            if not as_json:
                _say(f"attributing generation {generation} (the run's index is built on first use)")
            result = jobs.run_job_inline("attribute", job, **arguments)
    except ValueError as exc:
        raise _as_refusal(exc) from None
    if as_json:
        print(json.dumps(result))
        return
    _say(
        f"attribution {result['attribution_id']} ({result['method']}, index {result['index_hash'][:12]}…)"
    )
    table = Table(title=f"top {result['k']} items, shares of the positively scored")
    for column in ("item", "score", "share"):
        table.add_column(column, justify="right" if column != "item" else "left")
    shares = {line["item_id"]: line["ppm"] for line in result["shares_ppm"]}
    for line in result["top_k"]:
        ppm = shares.get(line["item_id"], 0)
        table.add_row(line["item_id"], f"{line['score']:.4g}", f"{ppm / 10_000:.2f} %")
    out.print(table)
    for credit in result["credits"]:
        _say(f"credit: {credit['pseudonym']} {credit['ppm'] / 10_000:.2f} %")


@app.command()
def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Exit once the queue is empty.")] = False,
) -> None:
    """Run a job worker for training and generation (needs MUSEUM_REDIS_URL); stop with Ctrl-C."""
    try:
        from api.jobs import run_worker

        run_worker(burst=burst)
    except ValueError as exc:
        raise _as_refusal(exc) from None


def _fail(message: str, code: int) -> None:
    boundary.say(message)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point, and the command line's one error boundary (`api/boundary.py`): every
    failure ends as one `error: …` line on stderr and the documented exit code, raised as
    SystemExit so tests can call `main(argv)` in-process."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = boundary.debug_requested(args)
    try:
        boundary.check_arguments(args)
        code = app(args=args, standalone_mode=False)
    except SystemExit:
        raise
    except BaseException as exc:  # this is the boundary
        boundary.end(exc, args, debug=debug)
    if isinstance(code, int) and code:
        raise SystemExit(code)


@app.command()
def migrate(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Set up the schema once (migrations and the event tables); run it before workers start."""
    from ledger.runtime import migrate_ledger
    from ledger.settings import get_settings

    settings = get_settings()
    state, applied = migrate_ledger(settings)
    figures = {
        "revision": state.revision,
        "head": state.head,
        "events_table": state.events_table,
        "applied": applied,
        "backend": "sqlite" if settings.embedded else "postgresql",
    }
    if as_json:
        print(json.dumps(figures))
        return
    done = "applied now" if applied else "already in place"
    out.print(f"ledger schema at revision {state.revision} ({figures['backend']}, {done})")
