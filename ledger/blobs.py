"""Content-addressed blob store: donors' images (always sealed) and the museum's own artefacts."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ledger.errors import NotFound


def write_whole(path: Path, data: bytes, *, prefix: str, suffix: str = "") -> None:
    """Write `data` to `path` whole or not at all: a synced temporary file in the same folder,
    renamed over the target (removed again if anything fails). OSError goes to the caller."""
    fd, temporary = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class BlobStore:
    """A directory of files named by the SHA-256 of their (encrypted) contents."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, blob_id: str) -> Path:
        if len(blob_id) != 64 or any(c not in "0123456789abcdef" for c in blob_id):
            raise NotFound(f"no blob {blob_id!r}: blob ids are 64 lowercase hex characters")
        return self.root / blob_id[:2] / blob_id

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return the blob id and whether this call created the file."""
        blob_id = hashlib.sha256(data).hexdigest()
        path = self._path(blob_id)
        if path.exists():
            return blob_id, False
        path.parent.mkdir(parents=True, exist_ok=True)
        write_whole(path, data, prefix=".incoming-")
        return blob_id, True

    def get(self, blob_id: str) -> bytes:
        path = self._path(blob_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {blob_id}") from None
        if hashlib.sha256(data).hexdigest() != blob_id:
            raise NotFound(f"blob {blob_id} is corrupt: its contents no longer match its id")
        return data

    def discard(self, blob_id: str) -> None:
        """Undo a put whose event was never recorded (the only deletion the store allows)."""
        self._path(blob_id).unlink(missing_ok=True)

    def paths(self) -> list[Path]:
        return [p for p in self.root.glob("??/*") if p.is_file()]
