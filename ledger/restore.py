"""`museum restore SRC`: a backup back into an empty data directory, proven before it is used.

1. The manifest is read and its signature checked under the configured master key (or the one
   the backup holds, when asked to carry it), which must be the key the backup was made with.
2. Every file is checked against the manifest (size and SHA-256; nothing missing, nothing
   extra) while it is copied into a staging folder inside the data directory; a PostgreSQL
   dump goes into the (empty) database with `pg_restore` in one transaction.
3. The staged ledger is opened (the schema migrated to this version's head if it was older)
   and its log verified; it must hold exactly the events the manifest counts.
4. With the operator's newest signed head (or a receipt, or an erasure certificate), the
   restored log must extend it. A log shorter than that head lost its newest events: that is
   refused, naming how many, unless the operator accepts the loss.
5. Erasure survives the restore. Every erasure the restored log records but whose key the
   backup still holds (it was taken mid-erasure) is finished; every artist a shred list names
   (`ledger.shred_list`: the configured one, and any given) whose key the backup brought back
   is erased again, through the ordinary erasure path (request, withdrawal, retraining owed,
   key destroyed, certificate when due). What is guaranteed: no key whose shredding is recorded
   in the restored log or noted in a shred list read here is left in the vault. What is not:
   an erasure after the backup that no shred list read here notes; the restore says so.
6. `ledger verify` runs in full over the result (the log's part again only if step 5 wrote to
   it); only then are the files moved into place.
   Any refusal before that leaves the data directory (and the database) as empty as it was.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import SecretStr

from ledger import backup_archive as archive
from ledger import backup_manifest as mf
from ledger import pg_tools, upkeep
from ledger.application import MuseumLedger
from ledger.audit import check_against, full_audit, load_proof, proven_head
from ledger.backup_views import RestoreRead
from ledger.crypto import MasterKey
from ledger.domain import Artist
from ledger.erasures import Erasures
from ledger.errors import ConfigurationError, Conflict, FileProblem, IntegrityViolation
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings
from ledger.shred_list import Shredding, read_shred_lists
from ledger.store import alembic_config

ALLOWED_IN_HOME = {"master.key", upkeep.FOLDER}


def _master_key(target: Settings, source: Path, manifest: dict[str, Any]) -> tuple[str, bool]:
    """The master key's text, and whether it comes from the backup (to be installed)."""
    if target.master_key is not None:
        return target.master_key.get_secret_value(), False
    path = target.master_key_file
    if path is None and target.embedded and (target.home / "master.key").exists():
        path = target.home / "master.key"
    from_backup = path is None and any(f["path"] == mf.MASTER_KEY_FILE for f in manifest["files"])
    if from_backup:
        path = source / mf.MASTER_KEY_FILE
    if path is None:
        raise ConfigurationError(
            "the backup holds no master key and none is configured: set MUSEUM_MASTER_KEY or "
            f"MUSEUM_MASTER_KEY_FILE to the key the museum ran with (key id {manifest['key_id']})"
        )
    try:
        return path.read_text(), from_backup
    except OSError as exc:
        raise FileProblem(f"cannot read the master key {path}: {exc.strerror or exc}") from None


def _check_revision(revision: object) -> None:
    """The backup's schema is one this version knows (older ones are migrated on open)."""
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(str(revision))
    except CommandError:
        known = None
    if revision is None or known is None:
        raise ConfigurationError(
            f"the backup's schema revision {revision} is unknown to this version of the museum "
            "(made by a newer one?): restore it with the version that made it"
        )


def _check_target(target: Settings) -> None:
    """A restore writes into an empty data directory (and an empty database) only."""
    blobs = target.blob_dir
    if blobs.is_dir() and any(blobs.rglob("*")):
        raise Conflict(f"the blob store {blobs} is not empty: restore into an empty data directory")
    if not target.embedded:
        pg_tools.check_empty(str(target.database_url))
        return
    if not target.home.exists():
        return
    allowed = ALLOWED_IN_HOME | {target.shred_list_path.name, "blobs"}
    for entry in sorted(target.home.iterdir()):
        if entry.name not in allowed:
            raise Conflict(
                f"MUSEUM_HOME ({target.home}) is not empty: it holds {entry.name}; "
                "restore into an empty data directory"
            )


def _stage(source: Path, listed: dict[str, dict[str, Any]], staging: Path, mode: str) -> None:
    """Copy every file into `staging`, each checked against the manifest on the way; the
    PostgreSQL dump is only checked (pg_restore reads it where it is)."""
    for path, item in sorted(listed.items()):
        if path == mf.POSTGRES_FILE or path == mf.MASTER_KEY_FILE:
            size, digest = mf.hash_file(source / path)
        else:
            (staging / path).parent.mkdir(parents=True, exist_ok=True)
            size, digest = mf.copy_hashed(source / path, staging / path)
        problem = mf.mismatch(path, item, size, digest)
        if problem is not None:
            raise problem
    wanted = mf.SQLITE_FILE if mode == "sqlite" else mf.POSTGRES_FILE
    if wanted not in listed:
        raise IntegrityViolation(f"the backup holds no {wanted}")


def _check_head(
    ledger: MuseumLedger,
    document: dict[str, Any],
    size: int,
    accept_loss: bool,
    shred_list_read: bool,
) -> tuple[dict[str, Any], int]:
    """The restored log against the operator's head: (what was checked, events lost)."""
    kind, head = proven_head(ledger, document)
    if head.tree_size <= size:
        checked = check_against(ledger, document)
        return checked | {"lost_events": 0}, 0
    lost = head.tree_size - size
    if not accept_loss:
        raise IntegrityViolation(
            f"the restored log has {size:,} events, but the {kind} you hold proves "
            f"{head.tree_size:,}: this backup lacks the newest {lost:,} events. Restore a newer "
            "backup, or pass --accept-loss to restore this one without them"
            + (
                ""
                if shred_list_read
                else " (and give the shred list, --shredded FILE, so "
                "that erasures among them are made again)"
            )
        )
    return {"kind": kind, "tree_size": head.tree_size, "lost_events": lost}, lost


def _reapply_erasures(
    ledger: MuseumLedger, shreddings: Sequence[Shredding]
) -> tuple[list[str], list[str], int]:
    """(erasures resumed, artists erased again, listed artists unknown to the backup)."""
    erasures = Erasures(ledger)
    resumed = []
    for artist_id in dict.fromkeys(ledger.ids_with_topic(Artist.ErasureRequested)):
        if not ledger.get_artist(artist_id).key_shredded:
            ledger.erase_artist(artist_id, "")  # resumes: each step done is skipped
            erasures.settle(artist_id)
            resumed.append(str(artist_id))
    registered = set(ledger.artist_ids())
    again, unknown = [], 0
    for shredding in shreddings:
        if shredding.artist_id not in registered:
            unknown += 1
        elif not ledger.get_artist(shredding.artist_id).key_shredded:
            erasures.request(
                shredding.artist_id,
                f"erased again on restore: the shred list notes the key shredded at {shredding.at}",
            )
            again.append(str(shredding.artist_id))
    return resumed, again, unknown


def _place(staging: Path, home: Path, key_from_backup: bool) -> None:
    """Move the proven files from the staging folder into the data directory."""
    for name in (mf.SQLITE_FILE, f"{mf.SQLITE_FILE}-wal", f"{mf.SQLITE_FILE}-shm"):
        if (staging / name).exists():
            os.replace(staging / name, home / name)
    if (home / mf.BLOBS).is_dir():
        shutil.rmtree(home / mf.BLOBS)  # empty, checked before anything was written
    if (staging / mf.BLOBS).is_dir():
        os.replace(staging / mf.BLOBS, home / mf.BLOBS)
    if key_from_backup and (staging / mf.MASTER_KEY_FILE).exists():
        os.replace(staging / mf.MASTER_KEY_FILE, home / mf.MASTER_KEY_FILE)


def restore(
    target: Settings,
    source: Path,
    *,
    head: Path | None = None,
    shred_lists: Sequence[Path] = (),
    accept_loss: bool = False,
) -> RestoreRead:
    """Restore the backup folder (or archive) `source` into the data directory of `target`."""
    began = time.perf_counter()
    with archive.unpacked(source, target.home.absolute().parent) as folder:
        view = _restore(target, folder, head, shred_lists, accept_loss)
    view = msgspec.structs.replace(
        view, source=str(source), seconds=round(time.perf_counter() - began, 3)
    )
    facts = {"source": str(source), "events": view.events_restored, "lost_events": view.lost_events}
    upkeep.note(target.home, "restore", True, facts)
    upkeep.note(target.home, "verify", True, {"events": view.verify.events})
    return view


def _restore(
    target: Settings,
    source: Path,
    head: Path | None,
    shred_lists: Sequence[Path],
    accept_loss: bool,
) -> RestoreRead:
    manifest = mf.load(source)
    mode = "sqlite" if target.embedded else "postgresql"
    if manifest["mode"] != mode:
        raise ConfigurationError(
            f"the backup is of the {manifest['mode']} mode, but this museum is configured for "
            f"{mode} (MUSEUM_DATABASE_URL)"
        )
    key_text, key_from_backup = _master_key(target, source, manifest)
    master = MasterKey.from_text(key_text)
    if master.key_id != manifest["key_id"]:
        raise ConfigurationError(
            f"the configured master key (key id {master.key_id}) is not the one this backup "
            f"was made with (key id {manifest['key_id']})"
        )
    mf.check_signature(manifest, master)
    _check_revision(manifest["schema_revision"])
    listed = mf.check_listing(source, manifest)
    _check_target(target)
    document = None if head is None else load_proof(head)
    lists = [*shred_lists, *([target.shred_list_path] if target.shred_list_path.exists() else [])]
    shreddings = read_shred_lists(lists)
    staged = target.model_copy(
        update={"master_key": SecretStr(key_text.strip()), "master_key_file": None}
    )
    target.home.mkdir(parents=True, exist_ok=True)
    staging = target.home / f".restoring-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _stage(source, listed, staging, mode)
        if key_from_backup and mode == "sqlite":  # the embedded mode reads it from its home
            mf.copy_hashed(source / mf.MASTER_KEY_FILE, staging / mf.MASTER_KEY_FILE)
        staged = staged.model_copy(update={"home": staging, "shred_list": target.shred_list_path})

        def prove() -> RestoreRead:
            return _prove(staged, source, manifest, document, shreddings, lists, accept_loss)

        if mode == "postgresql":
            url = str(target.database_url)
            pg_tools.restore_dump(url, source / mf.POSTGRES_FILE)
            view = pg_tools.guarded(url, prove)
        else:
            view = prove()
        _place(staging, target.home, key_from_backup)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return view


def _prove(
    staged: Settings,
    source: Path,
    manifest: dict[str, Any],
    document: dict[str, Any] | None,
    shreddings: Sequence[Shredding],
    lists: Sequence[Path],
    accept_loss: bool,
) -> RestoreRead:
    """Steps 3 to 6 on the staged ledger (closed again before the files move)."""
    warnings = []
    ledger = open_ledger(staged)
    try:
        report = ledger.integrity.verify()
        if report.events != int(manifest["events"]):
            raise IntegrityViolation(
                f"the restored log holds {report.events} events, its manifest "
                f"{manifest['events']}: the backup is not the snapshot it claims"
            )
        checked, lost = None, None
        if document is not None:
            checked, lost = _check_head(ledger, document, report.events, accept_loss, bool(lists))
        resumed, again, unknown = _reapply_erasures(ledger, shreddings)
        # The log's audit is repeated only when the erasures made again appended to it.
        audit = full_audit(ledger, report=None if resumed or again else report)
        blobs = len(ledger.blobs.paths())
    finally:
        close_ledger(ledger)
    if document is None:
        warnings.append(
            "no signed head was given (--head): whether the backup lacks newer events is not known"
        )
    elif lost:
        warnings.append(
            f"the restored ledger lacks the newest {lost} events the head you hold proves: "
            "they are lost"
        )
    if not lists:
        warnings.append(
            "no shred list was read: an artist erased after this backup was taken would have "
            "their key back (give the list with --shredded FILE, or set MUSEUM_SHRED_LIST)"
        )
    return RestoreRead(
        source=str(source),
        mode=str(manifest["mode"]),
        events_restored=report.events,
        blobs_restored=blobs,
        keys_restored=int(manifest["keys"]),
        schema_revision=manifest["schema_revision"],
        head_checked=checked,
        lost_events=lost,
        shred_lists=[str(path) for path in lists],
        erased_again=again,
        erasures_resumed=resumed,
        not_in_backup=unknown,
        verify=audit,
        warnings=warnings,
        seconds=0.0,
    )
