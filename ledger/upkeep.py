"""What the operator last did to look after the ledger: the latest verify, backup and restore.

`museum doctor` answers "when was the ledger last verified, last backed up?" from these. Each
is one small JSON file under `MUSEUM_HOME/upkeep/`, written whole (a reader never sees half a
record); a record that cannot be written does not fail the work it notes (the doctor then
reports the older record, or none).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ledger.blobs import write_whole

Kind = Literal["verify", "backup", "restore"]
FOLDER = "upkeep"


def record_path(home: Path, kind: Kind) -> Path:
    return home / FOLDER / f"last-{kind}.json"


def note(home: Path, kind: Kind, ok: bool, figures: dict[str, Any]) -> str | None:
    """Record the latest `kind` (when, whether it passed, its figures); the reason when the
    record cannot be written, else None."""
    record = {"kind": kind, "at": datetime.now(UTC).isoformat(), "ok": ok} | figures
    path = record_path(home, kind)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, json.dumps(record, default=str).encode(), prefix=".upkeep-")
    except OSError as exc:
        return f"cannot record the {kind} in {path}: {exc.strerror or exc}"
    return None


def last(home: Path, kind: Kind) -> dict[str, Any] | None:
    """The latest record of `kind`, or None when there is none (or it cannot be read)."""
    try:
        record = json.loads(record_path(home, kind).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "at" in record else None


def age_seconds(record: dict[str, Any], now: datetime | None = None) -> float | None:
    """Seconds since the record was written; None if its time does not parse."""
    try:
        at = datetime.fromisoformat(str(record["at"]))
    except (KeyError, ValueError):
        return None
    if at.tzinfo is None:
        return None
    return ((now or datetime.now(UTC)) - at).total_seconds()
