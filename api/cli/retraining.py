"""Retraining for erasure: `museum retrain` serves the schedule, `museum erasures` shows where
every erasure stands against its 30-day deadline. Heavy imports happen inside the commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.console import json_line, say
from api.cli.jobs import make_job_id, run_training_job
from api.cli.options import JOB_ID_HELP

if TYPE_CHECKING:
    from api.jobs.results import RetrainJobResult
    from ledger.compliance_views import ErasureReportLineRead


def retrain(
    now: Annotated[
        bool,
        typer.Option("--now", help="Serve every pending request, not only a batch that is due."),
    ] = False,
    job_id: Annotated[str | None, typer.Option("--job-id", help=JOB_ID_HELP)] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="With a job queue: submit, print the ids, exit.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the retraining that erasures and training-consent changes have scheduled.

    Serves the batch that is due (MUSEUM_RETRAIN_WINDOW after its first request; with --now,
    everything pending) with one run that retrains from scratch only the shards whose items
    changed, reuses the others' checkpoints and deploys the new model version; then certifies
    every erasure the new version no longer holds. Nothing due is not an error (exit 0). Runs on
    a worker when MUSEUM_REDIS_URL names a job queue, in this process otherwise.
    """
    job = make_job_id(job_id)
    result = run_training_job("retrain", job, {"now": now}, as_json=as_json, no_wait=no_wait)
    if result is None:
        return  # queued (--no-wait)
    from api.jobs.results import RetrainJobResult, expect

    done = expect(result, RetrainJobResult, job)
    if as_json:
        json_line(done)
        return
    for line in retrain_lines(done):
        say(line)


def _shards(shards: list[int]) -> str:
    return ", ".join(str(s) for s in shards) if shards else "none"


def retrain_lines(done: RetrainJobResult) -> list[str]:
    """What a retraining job did, for a person."""
    if done.state == "nothing-due":
        if done.next_due_at is None:
            return ["nothing is due: no retraining is scheduled"]
        return [f"nothing is due (next batch due at {_moment(done.next_due_at)}; --now runs it)"]
    causes = ", ".join(f"{cause} × {count}" for cause, count in done.causes.items())
    served = f"served {len(done.requests)} request(s) ({causes})"
    if done.run_id is None:
        return [f"{served} without a run: {done.reason}"]
    lines = [
        f"{served} with run {done.run_id} ({done.state}, job {done.job_id})",
        f"shards of {done.shards}: retrained {_shards(done.shards_retrained)} · "
        f"reused {_shards(done.shards_reused)} · dropped {_shards(done.shards_dropped)}",
        f"model version: {done.run_id}{' (deployed)' if done.deployed else ''}",
        "erasures certified: " + (", ".join(done.erasures_certified) or "none"),
    ]
    if done.next_due_at is not None:
        lines.append(f"still scheduled: the next batch is due at {_moment(done.next_due_at)}")
    return lines


# --- museum erasures ------------------------------------------------------------------------


def _moment(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def span(seconds: int) -> str:
    """A length of time as a person reads it: `12 d 3 h`, `5 h 12 min`, `40 min`."""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def _where(line: ErasureReportLineRead) -> str:
    if line.state == "complete":
        return "complete" + (f" at {_moment(line.completed_at)}" if line.completed_at else "")
    if line.state == "retraining" and line.retraining_run:
        return f"retraining in run {line.retraining_run}"
    if line.state == "waiting" and line.retraining_due_at:
        return f"waiting for the retraining batch due at {_moment(line.retraining_due_at)}"
    if line.state == "interrupted":
        return "interrupted before the key was destroyed: ask for the erasure again"
    return "open: no retraining is scheduled for it"


def _left(line: ErasureReportLineRead) -> str:
    seconds = line.time_left_seconds or 0
    return f"OVERDUE by {span(seconds)}" if line.overdue else f"{span(seconds)} left"


def _at(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--at must be an ISO date or time, got {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def erasures(
    overdue: Annotated[
        bool, typer.Option("--overdue", help="List only the erasures past their deadline.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option("--at", help="As of this moment (ISO; UTC if no zone), e.g. a week ahead."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every erasure: requested, deadline and time left, and where it stands (waiting for a
    retraining batch, retraining in a run, complete).

    Overdue erasures are flagged OVERDUE and counted in the summary line; the exit code stays 0
    (a report, not a check). The counts cover every erasure, --overdue or not.
    """
    from api.cli.ledger import configured_ledger
    from ledger.compliance import ComplianceReports

    moment = _at(at)
    with configured_ledger() as museum:
        report = ComplianceReports(museum).erasures(now=moment)
    lines = [line for line in report.erasures if line.overdue or not overdue]
    if as_json:
        import msgspec

        json_line(msgspec.structs.replace(report, erasures=lines))
        return
    for line in lines:
        left = "" if line.time_left_seconds is None else f"  {_left(line)}"
        say(
            f"{line.artist_id}  requested {_moment(line.requested_at)}  "
            f"deadline {_moment(line.deadline)}{left}  {_where(line)}"
        )
    flagged = f", {report.overdue} OVERDUE" if report.overdue else ", none overdue"
    say(
        f"{report.total} erasure(s) at {_moment(report.now)}: {report.completed} complete, "
        f"{report.open} open{flagged}"
    )
