"""Open the ledger described by the settings: embedded SQLite or PostgreSQL, same code path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from eventsourcing.utils import get_topic
from sqlalchemy.engine import make_url

from ledger.application import MuseumLedger
from ledger.blobs import BlobStore
from ledger.bootstrap import SchemaState, prepare_schema
from ledger.crypto import MasterKey
from ledger.errors import ConfigurationError
from ledger.sealing import SealedPostgresApplicationRecorder, SealedSQLiteApplicationRecorder
from ledger.settings import Settings
from ledger.store import make_engine


def load_master_key(settings: Settings) -> MasterKey:
    """Env var, then key file; a development key is made only for the embedded store."""
    if settings.master_key is not None:
        return MasterKey.from_text(settings.master_key.get_secret_value())
    if settings.master_key_file is not None:
        try:
            return MasterKey.from_text(settings.master_key_file.read_text())
        except OSError as exc:
            raise ConfigurationError(f"cannot read MUSEUM_MASTER_KEY_FILE: {exc}") from None
    if not settings.embedded:
        raise ConfigurationError(
            "PostgreSQL needs MUSEUM_MASTER_KEY or MUSEUM_MASTER_KEY_FILE; no development key is made for it"
        )
    path = settings.home / "master.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(MasterKey.generate_text() + "\n")
        print(f"created a development master key at {path}", file=sys.stderr)
    return MasterKey.from_text(path.read_text())


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


def migrate_ledger(settings: Settings) -> tuple[SchemaState, bool]:
    """Apply the migrations and eventsourcing's tables, once; no master key is needed."""
    url, env = database_parts(settings)
    engine = make_engine(url)
    try:
        return prepare_schema(engine, env, MuseumLedger.name)
    finally:
        engine.dispose()


def open_ledger(settings: Settings) -> MuseumLedger:
    """Open the ledger; the schema is set up first if missing (safe when many start at once)."""
    master = load_master_key(settings)
    url, env = database_parts(settings)
    engine = make_engine(url)
    prepare_schema(engine, env, MuseumLedger.name)
    settings.blob_dir.mkdir(parents=True, exist_ok=True)
    return MuseumLedger(
        # The tables exist now: the application must not race to create them again.
        env=env | {"CREATE_TABLE": "no"},
        master=master,
        engine=engine,
        blobs=BlobStore(settings.blob_dir),
        head_every_events=settings.head_every_events,
    )
