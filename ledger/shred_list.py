"""The shred list: every artist whose data key the museum destroyed, noted outside the ledger.

A backup holds the key vault as it was when the backup was taken. An artist erased after that
is, in the backup, an artist with a live key, and the restored log cannot know otherwise: the
events that recorded the erasure were lost with the machine. So each shredding is first
appended here (one JSON line, synced) and only then is the key destroyed; `museum restore`
reads the list and erases again every artist it names whose key the backup brought back.

The list names artist ids only (random UUIDs, no personal data) and is not signed: keep it
where only the operator writes, and off the machine whose loss a backup guards against
(`MUSEUM_SHRED_LIST` on another disk or a share; the default, inside `MUSEUM_HOME`, survives
a damaged database but not a lost disk).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from ledger.errors import FileProblem


@dataclass(frozen=True)
class Shredding:
    artist_id: UUID
    at: str  # when the shredding was noted, ISO 8601 (the key went right after)


class ShredList:
    """An append-only file of JSON lines, `{"artist_id": …, "at": …}`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def note(self, artist_id: UUID) -> None:
        """Append one line and sync it, before the key is destroyed: a crash in between leaves
        a line for an erasure that was asked for and will be finished, never a lost one."""
        line = json.dumps({"artist_id": str(artist_id), "at": datetime.now(UTC).isoformat()})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, (line + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise FileProblem(
                f"cannot note the shredding in the shred list {self.path} "
                f"(MUSEUM_SHRED_LIST): {exc.strerror or exc}; the key was kept"
            ) from None

    def read(self) -> list[Shredding]:
        """Every line; a torn last line (a crash while appending) is skipped."""
        return read_shred_lists([self.path]) if self.path.exists() else []


def read_shred_lists(paths: Iterable[Path]) -> list[Shredding]:
    """The shreddings the files name, first noted first per artist; FileProblem names a file
    that cannot be read or a line that is not a shredding (a torn last line is skipped)."""
    found: dict[UUID, Shredding] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise FileProblem(f"cannot read the shred list {path}: {reason or exc}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                shredding = Shredding(UUID(str(entry["artist_id"])), str(entry.get("at", "")))
            except (ValueError, KeyError, TypeError):
                if number == len(lines):  # no newline after it: the append was cut short
                    continue
                raise FileProblem(
                    f"{path}, line {number}: not a shred-list entry "
                    '(expected {"artist_id": "<uuid>", "at": "<time>"})'
                ) from None
            found.setdefault(shredding.artist_id, shredding)
    return list(found.values())
