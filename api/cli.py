"""The `museum` command. Thin: parses, calls a service, prints; errors are one line on stderr."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.exceptions import TyperException

from api.cli_royalties import bench_royalties, royalties_app
from ledger.errors import IntegrityViolation, LedgerError

app = typer.Typer(
    name="museum",
    help="Back office of the Museum of Failures: provenance ledger, model, attribution, royalties.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)
ledger_app = typer.Typer(help="Inspect and prove the verifiable event log.", no_args_is_help=True)
bench_app = typer.Typer(help="Measure the museum against its targets.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(royalties_app, name="royalties")
bench_app.command("royalties")(bench_royalties)

out = Console()


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
    seed: Annotated[int, typer.Option(min=0, help="Seed of the collection and the model.")] = 0,
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

    figures = full_audit(_open(), against or [], projections)
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
    old_size: Annotated[int, typer.Argument(min=0, help="Size of the older signed head.")],
    new_size: Annotated[
        int | None, typer.Argument(min=0, help="Size of the newer head (default: now).")
    ] = None,
) -> None:
    """Print a consistency proof that the log of OLD_SIZE is a prefix of the log of NEW_SIZE."""
    print(json.dumps(_open().integrity.consistency(old_size, new_size), indent=2))


@ledger_app.command("check-receipt")
def ledger_check_receipt(
    receipt_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Receipt JSON.")
    ],
    public_key: Annotated[
        str, typer.Option(help="The museum's public key (hex), obtained out of band.")
    ],
) -> None:
    """Verify a receipt offline: no database is opened."""
    from ledger.receipt import verify_receipt

    try:
        receipt = json.loads(receipt_file.read_text())
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{receipt_file} is not JSON: {exc}") from None
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


@bench_app.command("generation")
def bench_generation(
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks the bench runs.")
    ] = False,
    presets: Annotated[str, typer.Option(help="Comma-separated presets to time.")] = "tiny,demo",
    shards: Annotated[str, typer.Option(help="Comma-separated shard counts to compare.")] = "1,2,4",
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch CPU threads (default: torch's own choice).")
    ] = None,
    shard_steps: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Total optimiser steps every shard count shares (default: the plan's, shown).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split, data and trainings.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Training steps/s and images/s per preset, and the held-back loss cost of S shards."""
    from api.bench_generation import render_generation_bench, run_generation_bench

    try:
        shard_counts = tuple(int(part) for part in shards.split(","))
    except ValueError:
        raise typer.BadParameter(
            "--shards takes whole numbers separated by commas, e.g. 1,2,4"
        ) from None
    try:
        figures = run_generation_bench(
            quick=quick,
            presets=tuple(p.strip() for p in presets.split(",") if p.strip()),
            shard_counts=shard_counts,
            seed=seed,
            threads=threads,
            shard_steps=shard_steps,
            progress=None if as_json else (lambda line: out.print(f"[dim]{line}[/dim]")),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print(json.dumps(figures))
    else:
        out.print(render_generation_bench(figures))


@bench_app.command("attribution")
def bench_attribution(
    quick: Annotated[
        bool,
        typer.Option("--quick", help="Smaller sets (still 32 subset models): minutes, not hours."),
    ] = False,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated data sets: digits-2, demo.")
    ] = "digits-2,demo",
    methods: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated methods (default: tracin, trak, d-trak, trak-k100, "
            "d-trak-k100, the default)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Moves every split, subset and seed.")] = 0,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes retraining subset models.")
    ] = 2,
    threads: Annotated[
        int | None, typer.Option(min=1, help="torch threads for scoring and timing.")
    ] = None,
    no_latency: Annotated[
        bool, typer.Option("--no-latency", help="Skip the 10,000-item query timing.")
    ] = False,
    no_counterfactual: Annotated[
        bool, typer.Option("--no-counterfactual", help="Skip the top-k removal retraining.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """LDS of TracIn, TRAK, D-TRAK and the default method on models retrained on random halves;
    index build and query time, memory, and the counterfactual check. Retrained models are
    cached under MUSEUM_HOME/bench/attribution, so a rerun only scores."""
    from api.bench_attribution import run

    try:
        run(
            quick,
            datasets=tuple(d.strip() for d in datasets.split(",") if d.strip()),
            methods=None
            if methods is None
            else tuple(m.strip() for m in methods.split(",") if m.strip()),
            seed=seed,
            workers=workers,
            threads=threads,
            latency=not no_latency,
            counterfactual=not no_counterfactual,
            as_json=as_json,
            console=out,
            progress=None if as_json else (lambda line: out.print(f"[dim]{line}[/dim]")),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@bench_app.command("ledger")
def bench_ledger(
    events: Annotated[
        int, typer.Option(min=10, max=1_000_000, help="Events appended per backend.")
    ] = 2000,
    postgres_url: Annotated[
        str | None,
        typer.Option(
            help="Admin URL of a PostgreSQL server for the second backend; 'none' skips it."
        ),
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object of the figures.")
    ] = False,
) -> None:
    """Ledger appends per second beside raw inserts (ratio), and verify throughput."""
    import tempfile

    from api.bench_ledger import render_ledger_bench, run_ledger_bench

    url = None if postgres_url in (None, "", "none") else postgres_url
    with tempfile.TemporaryDirectory(prefix="museum-bench-") as workdir:
        figures = run_ledger_bench(events=events, postgres_url=url, workdir=Path(workdir))
    if as_json:
        print(json.dumps(figures))
    else:
        out.print(render_ledger_bench(figures))


# --- the model: train, generate, and the job worker ------------------------------------------


def _say(text: str) -> None:
    """One line of plain output (no wrapping, no highlighting: it is read by scripts too)."""
    out.print(text, highlight=False, soft_wrap=True)


_JOB_ID_HELP = "Job id (default: a fresh one). Submitting an id again never runs the job twice."


def _job_id(value: str | None) -> str:
    import re
    from uuid import uuid4

    if value is None:
        return uuid4().hex
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", value):
        raise typer.BadParameter(
            "--job-id takes 1 to 128 letters, digits, '.', '_', ':' or '-' (starting with a "
            "letter or digit)"
        )
    return value


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
    seed: Annotated[int, typer.Option(min=0, help="Seed of the run (0 to 2**63 - 1).")] = 0,
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
        int, typer.Option(min=0, help="Sampling seed: the same seed gives the same image.")
    ] = 0,
    steps: Annotated[int, typer.Option(min=1, help="Denoising steps (up to 1000).")] = 50,
    version: Annotated[
        str | None, typer.Option(help="Model version (a training run id); default: deployed.")
    ] = None,
    job_id: Annotated[str | None, typer.Option("--job-id", help=_JOB_ID_HELP)] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write the image to this PNG file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Make one image with the museum's model and record it as a generation."""
    import os

    from ledger.settings import get_settings

    job = _job_id(job_id)
    if out_file is not None:
        folder = out_file.resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise typer.BadParameter(f"--out: cannot write into {folder}")
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
            out_file.write_bytes(png)
        except OSError as exc:
            raise LedgerError(
                f"generation {result['generation_id']} is recorded, but {out_file} could not be "
                f"written: {exc.strerror or exc}"
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
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and a non-zero exit for every refusal."""
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        _fail("aborted", 130)
    except TyperException as exc:  # usage errors and bad parameters
        format_message = getattr(exc, "format_message", None)
        _fail(format_message() if callable(format_message) else str(exc), 2)
    except IntegrityViolation as exc:
        _fail(f"ledger verification failed: {exc}", 1)
    except LedgerError as exc:
        _fail(str(exc), 1)
    if isinstance(code, int) and code:
        raise SystemExit(code)
