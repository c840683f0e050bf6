"""What the commands that run jobs share: job ids, the refusal of a bad value, and a training
job (`museum train`, `museum retrain`) run with its progress shown, in this process or on a
worker when MUSEUM_REDIS_URL names a job queue. Heavy imports happen inside the functions, so
`--help` stays fast."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console

from api.cli.console import json_line, out, refuse, say
from ledger.errors import LedgerError


def make_job_id(value: str | None) -> str:
    """The `--job-id` given (checked), or a fresh one."""
    from uuid import uuid4

    from ledger.errors import InvalidInput
    from ledger.validation import key

    if value is None:
        return uuid4().hex
    try:
        return key(value, "--job-id")
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc)) from None


def as_refusal(exc: ValueError) -> LedgerError:
    """A `ValueError` (bad preset, bad number) as the ledger's own one-line refusal."""
    from ledger.errors import InvalidInput

    return exc if isinstance(exc, LedgerError) else InvalidInput(str(exc))


class TrainingDisplay:
    """Training progress: a rich bar on a terminal, one plain line per report otherwise."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.console = console
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.last: tuple[int, int] = (-1, -1)

    def __enter__(self) -> TrainingDisplay:
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

    def report(self, progress: Any) -> None:
        """A `generation.service.RunProgress`, as the trainer reports it in this process."""
        self.update(
            progress.shard, progress.shards, progress.step, progress.total_steps, progress.loss
        )

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


class LedgerProgress:
    """Follow a queued training job through the progress its worker records in the ledger."""

    def __init__(self, display: TrainingDisplay, job: str) -> None:
        from ledger.domain.model import TrainingRun

        self.display = display
        self.run_id = TrainingRun.create_id(job)
        self.ledger: Any = None
        self.seen = 0

    def __call__(self) -> None:
        from ledger.errors import NotFound
        from ledger.model_records import ModelRecords

        if self.display.quiet:
            return
        if self.ledger is None:
            from ledger.runtime import open_ledger
            from ledger.settings import get_settings

            self.ledger = open_ledger(get_settings())  # held across polls; `close` puts it away
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
            from ledger.runtime import close_ledger

            close_ledger(self.ledger)


def no_worker(queue: str) -> None:
    say(f"waiting for a worker: none is running on queue {queue!r} (start one: museum worker)")


def submitted(submission: Any, as_json: bool) -> None:
    if not submission.created and not as_json:
        say(
            f"job {submission.job_id} was submitted before ({submission.status}); "
            "following it instead of running it again"
        )


def run_training_job(
    command: str,
    job: str,
    arguments: dict[str, Any],
    *,
    as_json: bool,
    no_wait: bool,
    intro: str | None = None,
) -> Any:
    """Run the `command` job (train, retrain) under `job` with its progress shown: on a worker
    when a queue is configured (with `no_wait`: queue it, print the ids and return None), in
    this process otherwise; its result (a `JobResult`) once it ends."""
    from ledger.domain.model import TrainingRun
    from ledger.settings import get_settings

    run_id = TrainingRun.create_id(job)
    queued = bool(get_settings().redis_url)
    try:
        from api import jobs

        jobs.validate(command, **arguments)
        with TrainingDisplay(out, quiet=as_json) as display:
            if intro is not None and not as_json:
                say(intro)
            if not queued:
                return jobs.run_job_inline(command, job, on_progress=display.report, **arguments)
            submission = jobs.submit(command, job, **arguments)
            submitted(submission, as_json)
            if no_wait:
                payload = {"job_id": job, "run_id": str(run_id), "status": submission.status}
                if as_json:
                    json_line(payload)
                else:
                    say(f"queued; follow it with: museum {command} --job-id {job}")
                return None
            follow = LedgerProgress(display, job)
            try:
                return jobs.wait_for_result(
                    job, on_poll=follow, on_no_worker=None if as_json else no_worker
                )
            finally:
                follow.close()
    except ValueError as exc:
        raise as_refusal(exc) from None
    except KeyboardInterrupt:
        if queued:
            refuse(
                f"stopped following job {job}, which goes on; "
                f"follow it: museum {command} --job-id {job}",
                130,
            )
        refuse(
            f"interrupted: run {run_id} holds the training slot; "
            f"resume: museum {command} --job-id {job}",
            130,
        )
