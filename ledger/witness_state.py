"""A witness's own directory: its key, its configuration and its state, apart from the museum.

    DIR/witness.key      the Ed25519 seed, base64 (mode 0600)
    DIR/witness.json     {"name": …, "logs": [verifier keys of the logs it witnesses]}
    DIR/witness.sqlite3  the latest cosigned checkpoint per origin, and refused conflicts

Checking the old size and storing the new checkpoint happen in one SQLite write transaction
(BEGIN IMMEDIATE), so two requests cannot roll the witness back (the race tlog-witness names).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.cosignature import Cosigner
from ledger.errors import ConfigurationError, InvalidInput, ProofError
from ledger.signed_note import NoteVerifier, check_name
from ledger.witness import Cosigned

KEY_FILE = "witness.key"
CONFIG_FILE = "witness.json"
STATE_FILE = "witness.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS latest (
    origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root_hash BLOB NOT NULL,
    checkpoint TEXT NOT NULL, updated_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY, origin TEXT NOT NULL, reason TEXT NOT NULL,
    evidence TEXT NOT NULL, received_at_ms INTEGER NOT NULL);
"""


class SQLiteWitnessState:
    def __init__(self, path: Path) -> None:
        self.path = path
        with closing(self._connect()) as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    @contextmanager
    def update(
        self, origin: str, decide: Callable[[Cosigned | None], Cosigned]
    ) -> Iterator[Cosigned]:
        """Read, decide and write under one write lock; the write commits after the block."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT size, root_hash, checkpoint FROM latest WHERE origin = ?", (origin,)
                ).fetchone()
                latest = None if row is None else Cosigned(int(row[0]), bytes(row[1]), str(row[2]))
                accepted = decide(latest)
                db.execute(
                    "INSERT INTO latest VALUES (?, ?, ?, ?, ?) ON CONFLICT(origin) DO UPDATE SET "
                    "size = excluded.size, root_hash = excluded.root_hash, "
                    "checkpoint = excluded.checkpoint, updated_at_ms = excluded.updated_at_ms",
                    (origin, accepted.size, accepted.root_hash, accepted.checkpoint, _now_ms()),
                )
                yield accepted
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def latest(self, origin: str) -> Cosigned | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT size, root_hash, checkpoint FROM latest WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else Cosigned(int(row[0]), bytes(row[1]), str(row[2]))

    def record_conflict(self, origin: str, evidence: str, reason: str) -> None:
        """Keep a refused checkpoint that may prove the log misbehaved (never cosigned)."""
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO conflicts (origin, reason, evidence, received_at_ms) "
                "VALUES (?, ?, ?, ?)",
                (origin, reason, evidence, _now_ms()),
            )

    def conflicts(self, origin: str) -> list[str]:
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT reason FROM conflicts WHERE origin = ? ORDER BY id", (origin,)
            ).fetchall()
        return [str(row[0]) for row in rows]


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class WitnessHome:
    """A witness's directory, opened: its cosigner, the logs it trusts and its state."""

    directory: Path
    cosigner: Cosigner
    logs: tuple[NoteVerifier, ...]
    state: SQLiteWitnessState

    @classmethod
    def create(cls, directory: Path, name: str, log_keys: list[str]) -> WitnessHome:
        """A new witness: a fresh key, refused if the directory already holds one."""
        check_name(name)
        logs = [NoteVerifier.from_key(key) for key in log_keys]
        if not logs:
            raise InvalidInput("a witness trusts at least one log key (--log-key)")
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / KEY_FILE
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise InvalidInput(f"{directory} already holds a witness key") from None
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(seed).decode("ascii") + "\n")
        config = {"name": name, "logs": log_keys}
        (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        return cls.open(directory)

    @classmethod
    def open(cls, directory: Path) -> WitnessHome:
        try:
            seed = base64.b64decode((directory / KEY_FILE).read_text().strip(), validate=True)
            config = json.loads((directory / CONFIG_FILE).read_text())
            name, log_keys = str(config["name"]), [str(key) for key in config["logs"]]
            logs = tuple(NoteVerifier.from_key(key) for key in log_keys)
            cosigner = Cosigner(name, Ed25519PrivateKey.from_private_bytes(seed))
        except (OSError, ValueError, KeyError, TypeError, ProofError) as exc:
            raise ConfigurationError(
                f"{directory} is not a usable witness directory: {exc}"
            ) from None
        return cls(directory, cosigner, logs, SQLiteWitnessState(directory / STATE_FILE))
