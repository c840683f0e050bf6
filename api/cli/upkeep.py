"""`museum backup`, `museum restore` and `museum doctor`: keeping the ledger through the loss
of its machine. Imports of the ledger happen inside the commands, so `--help` stays fast."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.console import json_line, say, say_warning

if TYPE_CHECKING:
    from ledger.backup_views import CheckRead, RestoreRead


def backup(
    dest: Annotated[
        Path,
        typer.Argument(help="A new (or empty) folder for the backup, or a new FILE.tar."),
    ],
    include_master_key: Annotated[
        bool,
        typer.Option(
            "--include-master-key",
            help="Also copy the master key (it unwraps every key in the backup: keep it apart "
            "unless this backup is kept as safely as the key).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Back up the ledger (database, key vault, blob store) into DEST with a signed manifest of
    hashes, while the museum runs: SQLite's online backup in the embedded mode, pg_dump in the
    distributed one."""
    from ledger.backup import back_up
    from ledger.settings import get_settings

    done = back_up(get_settings(), dest, include_master_key=include_master_key)
    if as_json:
        json_line(done)
        return
    say(
        f"backed up {done.events:,} events (up to notification {done.last_notification_id}), "
        f"{done.keys} artist keys and {done.blobs:,} blobs ({done.bytes / 1e6:,.1f} MB, "
        f"{done.mode}) to {done.dest} in {done.seconds:.2f} s"
    )
    say(
        f"signed head at the start: size {done.head['tree_size']}, root "
        f"{done.head['root_hash'][:16]}…; shreddings from now on are noted in {done.shred_list}"
    )
    if not done.master_key_included:
        say("the master key is not in the backup: keep it apart (a restore needs it)")


def restore(
    source: Annotated[
        Path, typer.Argument(help="A folder (or .tar archive) `museum backup` wrote.")
    ],
    head: Annotated[
        Path | None,
        typer.Option(
            "--head",
            help="The newest signed head you hold (`museum ledger head --json`), or a receipt "
            "or erasure certificate: the restored log must extend it.",
        ),
    ] = None,
    shredded: Annotated[
        list[Path] | None,
        typer.Option(
            "--shredded",
            help="A shred list (MUSEUM_SHRED_LIST's file): every artist it names is erased "
            "again if the backup brought their key back (repeatable).",
        ),
    ] = None,
    accept_loss: Annotated[
        bool,
        typer.Option(
            "--accept-loss",
            help="Restore even though --head proves newer events than the backup holds.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Restore a backup into an empty data directory (and, distributed, an empty database):
    refused if the manifest does not match; then the log is verified, checked against your
    newest head, and erasures the backup predates are made again."""
    from ledger.restore import restore as run_restore
    from ledger.settings import get_settings

    done = run_restore(
        get_settings(), source, head=head, shred_lists=shredded or [], accept_loss=accept_loss
    )
    if as_json:
        json_line(done)
    else:
        for line in restore_lines(done):
            say(line)
    for warning in done.warnings:
        say_warning(warning)


def restore_lines(done: RestoreRead) -> list[str]:
    checked = done.head_checked
    if checked is None:
        against = "no head given"
    elif done.lost_events:
        against = f"the {checked['kind']} you hold proves {done.lost_events} newer events (lost)"
    else:
        against = f"extends the {checked['kind']} of size {checked['tree_size']} you hold"
    lists = ", ".join(done.shred_lists) or "none"
    return [
        f"restored {done.events_restored:,} events, {done.keys_restored} artist keys and "
        f"{done.blobs_restored:,} blobs from {done.source} ({done.mode}) in {done.seconds:.2f} s",
        f"ledger verified: {done.verify.events:,} events, {done.verify.blobs_checked} blobs "
        f"re-hashed, {done.verify.keys_present} keys present and {done.verify.keys_shredded} "
        f"shredded as recorded; against your head: {against}",
        f"erasures: {len(done.erased_again)} erased again from the shred lists ({lists}), "
        f"{len(done.erasures_resumed)} cut short in the backup finished, "
        f"{done.not_in_backup} listed artists not in the backup",
    ]


def doctor(
    min_free_mib: Annotated[
        int, typer.Option(min=0, help="Free disk space below this (MiB) needs action.")
    ] = 1024,
    verify_max_age_hours: Annotated[
        float, typer.Option(min=0, help="A last verify older than this needs action.")
    ] = 168.0,
    backup_max_age_hours: Annotated[
        float, typer.Option(min=0, help="A last backup older than this needs action.")
    ] = 24.0,
    erasure_warning_days: Annotated[
        float, typer.Option(min=0, help="An open erasure this close to its deadline needs action.")
    ] = 7.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Configuration, connectivity, schema version, disk space, last verify, last backup and
    open erasures near their deadline, one line each; exit 1 when something needs action."""
    from ledger.doctor import Limits, examine
    from ledger.settings import get_settings

    settings = get_settings()
    limits = Limits(
        min_free_bytes=min_free_mib << 20,
        verify_max_age=timedelta(hours=verify_max_age_hours),
        backup_max_age=timedelta(hours=backup_max_age_hours),
        erasure_warning=timedelta(days=erasure_warning_days),
    )
    found = examine(settings, limits)
    checks = list(found.checks)
    if settings.redis_url:
        checks.insert(2, _redis(settings.redis_url))
    if as_json:
        json_line({"ok": all(c.ok for c in checks), "checks": checks})
    else:
        for check in checks:
            say(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def _redis(url: str) -> CheckRead:
    """The job queue answers a PING."""
    import redis

    from ledger.backup_views import CheckRead
    from ledger.settings import hide_passwords

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        return CheckRead(
            name="job queue", ok=False, detail=f"Redis at {hide_passwords(url)}: {exc}"
        )
    finally:
        client.close()
    return CheckRead(name="job queue", ok=True, detail=f"Redis at {hide_passwords(url)} answers")
