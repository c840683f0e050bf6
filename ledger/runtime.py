"""Open the ledger described by the settings: embedded SQLite or PostgreSQL, same code path."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from eventsourcing import persistence
from eventsourcing.utils import get_topic
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url

from ledger.application import MuseumLedger
from ledger.blobs import BlobStore
from ledger.bootstrap import SchemaState, prepare_schema
from ledger.crypto import MasterKey
from ledger.errors import ConfigurationError
from ledger.sealing import (
    RetiredKey,
    SealedPostgresApplicationRecorder,
    SealedSQLiteApplicationRecorder,
)
from ledger.settings import Settings
from ledger.store import make_engine


def master_key_file(settings: Settings) -> Path | None:
    """The file the master key is read from (MUSEUM_MASTER_KEY_FILE, or the embedded store's
    development key), or None when MUSEUM_MASTER_KEY gives it."""
    if settings.master_key is not None:
        return None
    if settings.master_key_file is not None:
        return settings.master_key_file
    return settings.home / "master.key" if settings.embedded else None


def pending_key_file(path: Path) -> Path:
    """Where a rotation keeps the new key until it has committed, beside the key file."""
    return path.with_name(path.name + ".new")


def load_master_key(settings: Settings) -> MasterKey:
    """Env var, then key file; a development key is made only for the embedded store."""
    if settings.master_key is not None:
        return MasterKey.from_text(settings.master_key.get_secret_value())
    if settings.master_key_file is not None:
        try:
            return MasterKey.from_text(settings.master_key_file.read_text())
        except (OSError, UnicodeError) as exc:
            raise ConfigurationError(f"cannot read MUSEUM_MASTER_KEY_FILE: {exc}") from None
    if not settings.embedded:
        raise ConfigurationError(
            "PostgreSQL needs MUSEUM_MASTER_KEY or MUSEUM_MASTER_KEY_FILE; no development key is made for it"
        )
    path = settings.home / "master.key"
    if not path.exists():
        write_new_key(path)
        print(f"created a development master key at {path}", file=sys.stderr)
    return MasterKey.from_text(path.read_text())


def write_new_key(path: Path) -> MasterKey:
    """A fresh master key in a new file only its owner may read (never over an existing one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = MasterKey.generate_text()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return MasterKey.from_text(text)


def database_parts(settings: Settings) -> tuple[str, dict[str, str]]:
    """SQLAlchemy URL and eventsourcing environment for the same database."""
    if settings.embedded:
        path = Path(settings.sqlite_path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}", {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": get_topic(SealedSQLiteApplicationRecorder),
        }
    url = make_url(str(settings.database_url))
    if not url.drivername.startswith("postgresql"):
        raise ConfigurationError(
            "MUSEUM_DATABASE_URL must be a postgresql:// URL (or unset for SQLite)"
        )
    if not url.database:
        raise ConfigurationError("MUSEUM_DATABASE_URL names no database")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False), {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.database,
        "POSTGRES_HOST": url.host or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "no",
        "APPLICATION_RECORDER_TOPIC": get_topic(SealedPostgresApplicationRecorder),
    }


# Failures that say the database itself cannot be used (unreachable, not a database, damaged),
# as the three layers raise them; a plain `DatabaseError` of SQLite is "file is not a database".
_UNREACHABLE = (
    sa_exc.OperationalError,
    persistence.OperationalError,
    sqlite3.OperationalError,
    psycopg.OperationalError,
)
_DAMAGED = (sa_exc.DatabaseError, persistence.DatabaseError, sqlite3.DatabaseError)


def is_unusable_database(exc: BaseException) -> bool:
    """Whether `exc` means the configured database cannot be used (rather than a bug)."""
    return isinstance(exc, _UNREACHABLE) or type(exc) in _DAMAGED


def unusable_database(settings: Settings, exc: BaseException) -> ConfigurationError:
    """The configured database cannot be opened: which one (password hidden) and why, one line.

    Used where the ledger is opened and by the command line's error boundary, for failures
    that show up later (a SQLite file damaged after start-up)."""
    cause = getattr(exc, "orig", None) or exc
    reason = " ".join(str(cause).split()) or type(cause).__name__
    if settings.embedded:
        return ConfigurationError(
            f"the ledger database {settings.sqlite_path} is unreadable: {reason}"
        )
    lowered = reason.lower()
    for known in ("connection refused", "timeout expired", "does not exist", "authentication"):
        if known in lowered:
            reason = known if known != "does not exist" else reason.rsplit(": ", 1)[-1]
            break
    shown = make_url(str(settings.database_url)).render_as_string(hide_password=True)
    return ConfigurationError(
        f"cannot reach the database of MUSEUM_DATABASE_URL ({shown}): {reason}"
    )


def migrate_ledger(settings: Settings) -> tuple[SchemaState, bool]:
    """Apply the migrations and eventsourcing's tables, once; no master key is needed."""
    url, env = database_parts(settings)
    engine = make_engine(url)
    try:
        return _prepare(settings, engine, env)
    finally:
        engine.dispose()


def _prepare(settings: Settings, engine: Engine, env: dict[str, str]) -> tuple[SchemaState, bool]:
    """Set the schema up (safe when many processes start at once), or say why the database
    cannot be used."""
    try:
        return prepare_schema(engine, env, MuseumLedger.name)
    except Exception as exc:
        if not is_unusable_database(exc):
            raise
        engine.dispose()
        raise unusable_database(settings, exc) from None


def open_ledger(settings: Settings) -> MuseumLedger:
    """Open the ledger; the schema is set up first if missing."""
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"MUSEUM_HOME ({settings.home}) cannot hold the museum's data: "
            f"{(exc.strerror or str(exc)).lower()}"
        ) from None
    master = load_master_key(settings)
    url, env = database_parts(settings)
    engine = make_engine(url)
    _prepare(settings, engine, env)
    try:
        settings.blob_dir.mkdir(parents=True, exist_ok=True)

        def ledger_with(key: MasterKey) -> MuseumLedger:
            return MuseumLedger(
                # The tables exist now: the application must not race to create them again.
                env=env | {"CREATE_TABLE": "no"},
                master=key,
                engine=engine,
                blobs=BlobStore(settings.blob_dir),
                head_every_events=settings.head_every_events,
                retrain_window=settings.retrain_window,
                settings=settings,
            )

        try:
            return ledger_with(master)
        except RetiredKey:
            key_file = master_key_file(settings)
            pending = None if key_file is None else pending_key_file(key_file)
            if key_file is None or pending is None or not pending.exists():
                raise
            # A rotation committed but stopped before it moved the new key into place.
            ledger = ledger_with(MasterKey.from_text(pending.read_text()))
            os.replace(pending, key_file)
            return ledger
    except BaseException:
        engine.dispose()  # nothing holds the engine yet: let go of its connections here
        raise


def close_ledger(ledger: MuseumLedger) -> None:
    """Close the application and let go of its SQLAlchemy connections: the one way a ledger
    is put away, by `opened_ledger` and by long-lived holders (the job worker)."""
    try:
        ledger.close()
    finally:
        ledger.engine.dispose()


@contextmanager
def opened_ledger(settings: Settings) -> Iterator[MuseumLedger]:
    """The ledger of `settings` for the length of a `with` block, closed however it ends."""
    ledger = open_ledger(settings)
    try:
        yield ledger
    finally:
        close_ledger(ledger)
