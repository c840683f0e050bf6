"""A backup as one file: the backup folder in an uncompressed tar archive (`DEST.tar`).

The folder is written and signed first, exactly as without an archive, then packed under a
temporary name and renamed into place. A restore unpacks it beside the data directory with
tarfile's `data` filter (no absolute paths, no links out, no devices) and then checks the
folder against its manifest as it would any other.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import FileProblem, IntegrityViolation

SUFFIX = ".tar"


def is_archive(path: Path) -> bool:
    """Whether `museum backup` writes `path` as an archive (by its name)."""
    return path.suffix == SUFFIX


def pack(folder: Path, archive: Path) -> None:
    """`folder`'s files into the new file `archive`, whole or not at all."""
    partial = archive.parent / f".{archive.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private
        with tarfile.open(partial, "w") as tar:
            for path in sorted(folder.rglob("*")):
                tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, archive)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def unpacked(source: Path, near: Path) -> Iterator[Path]:
    """The backup folder of `source`: itself, or an archive unpacked into a temporary folder
    in `near` (removed afterwards)."""
    if source.is_dir() or not source.exists():
        yield source  # a missing one is named by the manifest's reader
        return
    if not tarfile.is_tarfile(source):
        raise FileProblem(f"{source} is neither a backup folder nor a backup archive (.tar)")
    near.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".museum-unpacked-", dir=near))
    try:
        try:
            with tarfile.open(source) as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise IntegrityViolation(
                f"the backup archive {source} cannot be unpacked: {exc}"
            ) from None
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
