"""Files the command line writes where its caller asked: checked before any work, written whole.

A path that cannot take the file is refused with `FileProblem` naming it before anything is
recorded; the bytes go to a temporary file in the same folder that is renamed over the target,
so a failed write never leaves half a file behind. The file is private to its owner (mode 0600,
as `mkstemp` makes it): what the museum exports may hold personal data.
"""

from __future__ import annotations

import os
from pathlib import Path

from ledger.blobs import write_whole
from ledger.errors import FileProblem


def writable_target(path: Path, option: str) -> Path:
    """`path` if a file can be written there; FileProblem naming the path and why otherwise."""
    if path.is_dir():
        raise FileProblem(f"{option}: {path} is a directory, not a file")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise FileProblem(f"{option}: cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FileProblem(f"{option}: cannot write {path}: permission denied")
    return path


def write_atomically(path: Path, data: bytes, option: str) -> None:
    """Write `data` to `path` whole or not at all."""
    writable_target(path, option)
    try:
        write_whole(path.absolute(), data, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise FileProblem(f"{option}: cannot write {path}: {exc.strerror or exc}") from None
