"""`museum backup DEST`: the ledger, its key vault and its blob store, in one folder with a
signed manifest of hashes, taken while the museum runs.

1. A tree head is signed over everything recorded so far (the snapshot extends it).
2. The database is copied at one moment: the embedded mode by SQLite's online backup API (one
   step, so the copy is one consistent snapshot while writers go on); the distributed mode by
   `pg_dump` in an exported snapshot (`ledger.pg_tools`). The key vault is a table of that
   database, so it is copied in the same snapshot as the events that explain it.
3. The blob store is copied by content address after the snapshot: a blob is always stored
   before the event that names it, so every blob the snapshot's events name is there (newer
   blobs may come along; they are harmless). Each is re-hashed against its name on the way.
4. The manifest lists every file with its size and SHA-256 and is signed by the museum's key.

The backup is written beside DEST under a temporary name and renamed into place when whole:
a failed backup leaves nothing at DEST. The master key is not copied unless asked
(`include_master_key`): it unwraps every key in every backup, so it is kept apart.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from ledger import backup_archive as archive
from ledger import backup_manifest as mf
from ledger import pg_tools, upkeep
from ledger.backup_views import BackupRead
from ledger.blobs import write_whole
from ledger.errors import FileProblem, IntegrityViolation
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings


def _target_folder(dest: Path) -> Path:
    """A temporary folder beside DEST; DEST must be new or an empty folder."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise FileProblem(f"{dest} already exists and is not an empty folder: back up elsewhere")
    parent = dest.absolute().parent
    if not parent.is_dir():
        raise FileProblem(f"cannot back up to {dest}: the folder {parent} does not exist")
    partial = parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        partial.mkdir(mode=0o700)  # sealed personal data and wrapped keys: the owner's only
    except OSError as exc:
        raise FileProblem(f"cannot back up to {dest}: {exc.strerror or exc}") from None
    return partial


def sqlite_snapshot(source: Path, target: Path) -> pg_tools.Snapshot:
    """SQLite's online backup of `source` into `target`, in one step; the copy's figures."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: one step, so one read transaction, one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        events, last = dst.execute(
            "SELECT count(*), coalesce(max(rowid), 0) FROM stored_events"
        ).fetchone()
        keys = dst.execute("SELECT count(*) FROM artist_keys").fetchone()[0]
        revision = dst.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        dst.close()
        src.close()
    with target.open("rb+") as fh:
        os.fsync(fh.fileno())
    return pg_tools.Snapshot(int(events), int(last), int(keys), revision[0] if revision else None)


def copy_blobs(store: Path, target: Path) -> list[dict[str, Any]]:
    """Every blob of the store into `target`, each checked against its content address."""
    entries = []
    for path in sorted(store.glob("??/*")):
        if path.name.startswith(".") or not path.is_file():
            continue  # an interrupted put's temporary file, never referenced
        folder = target / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        try:
            size, digest = mf.copy_hashed(path, folder / path.name)
        except FileNotFoundError:
            continue  # discarded meanwhile: a put whose event was never recorded
        if digest != path.name:
            raise IntegrityViolation(
                f"blob {path.name} in the blob store does not match its content address: "
                "run museum ledger verify"
            )
        entries.append(mf.entry(f"{mf.BLOBS}/{path.parent.name}/{path.name}", size, digest))
    return entries


def back_up(settings: Settings, dest: Path, *, include_master_key: bool = False) -> BackupRead:
    """Back the configured ledger up into the new folder `dest` (see the module's steps), or,
    when its name ends in `.tar`, into that one archive file."""
    began = time.perf_counter()
    if not archive.is_archive(dest):
        view = _back_up(settings, dest, include_master_key)
    else:
        if dest.exists():
            raise FileProblem(f"{dest} already exists: back up elsewhere")
        folder = dest.parent / f".{dest.name}.folder-{uuid.uuid4().hex[:8]}"
        try:
            view = _back_up(settings, folder, include_master_key)
            archive.pack(folder, dest)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        view = msgspec.structs.replace(view, dest=str(dest))
    view = msgspec.structs.replace(view, seconds=round(time.perf_counter() - began, 3))
    facts = {"dest": view.dest, "events": view.events, "bytes": view.bytes}
    upkeep.note(settings.home, "backup", True, facts)
    return view


def _back_up(settings: Settings, dest: Path, include_master_key: bool) -> BackupRead:
    began = time.perf_counter()
    mode = "sqlite" if settings.embedded else "postgresql"
    partial = _target_folder(dest)
    try:
        ledger = open_ledger(settings)
        try:
            head = ledger.integrity.sign_head()
            master = ledger.master
            if settings.embedded:
                database = mf.SQLITE_FILE
                snapshot = sqlite_snapshot(settings.sqlite_path, partial / database)
            else:
                database = mf.POSTGRES_FILE
                snapshot = pg_tools.dump_snapshot(
                    str(settings.database_url), ledger.events_table, partial / database
                )
        finally:
            close_ledger(ledger)
        files = [mf.entry(database, *mf.hash_file(partial / database))]
        files += copy_blobs(settings.blob_dir, partial / mf.BLOBS)
        if include_master_key:
            files.append(_copy_master_key(settings, partial))
        body = {
            "format": mf.FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "mode": mode,
            "schema_revision": snapshot.schema_revision,
            "events": snapshot.events,
            "last_notification_id": snapshot.last_notification_id,
            "keys": snapshot.keys,
            "head": head.as_dict(),
            "key_id": master.key_id,
            "public_key": master.public_key_bytes.hex(),
            "files": files,
        }
        manifest = mf.sign(body, master)
        write_whole(partial / mf.MANIFEST, json.dumps(manifest, indent=1).encode(), prefix=".m-")
        if dest.exists():
            dest.rmdir()  # empty, checked above
        os.replace(partial, dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    view = BackupRead(
        dest=str(dest),
        mode=mode,
        events=snapshot.events,
        last_notification_id=snapshot.last_notification_id,
        keys=snapshot.keys,
        blobs=sum(1 for f in files if f["path"].startswith(mf.BLOBS + "/")),
        bytes=sum(int(f["bytes"]) for f in files),
        schema_revision=snapshot.schema_revision,
        head=head.as_dict(),
        master_key_included=include_master_key,
        shred_list=str(settings.shred_list_path),
        seconds=round(time.perf_counter() - began, 3),
    )
    return view


def _copy_master_key(settings: Settings, partial: Path) -> dict[str, Any]:
    """The master key the ledger runs with, as a private file of the backup."""
    if settings.master_key is not None:
        text = settings.master_key.get_secret_value().strip()
    else:
        source = settings.master_key_file or settings.home / "master.key"
        try:
            text = source.read_text().strip()
        except OSError as exc:
            raise FileProblem(
                f"cannot read the master key {source}: {exc.strerror or exc}"
            ) from None
    data = (text + "\n").encode()
    fd = os.open(partial / mf.MASTER_KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return mf.entry(mf.MASTER_KEY_FILE, *mf.hash_file(partial / mf.MASTER_KEY_FILE))
