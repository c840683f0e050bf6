"""A backup's manifest: every file it holds with its size and SHA-256, signed by the museum.

The manifest is JSON (`manifest.json` at the top of the backup). Its signature is Ed25519 by
the museum's signing key over the canonical JSON of everything else, under its own prefix, so
a restore detects a changed file (its hash), a changed manifest (the signature) and a backup
of another museum (the key id) before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.crypto import MasterKey
from ledger.errors import FileProblem, IntegrityViolation

FORMAT = "failure-museum-backup/v1"
MANIFEST = "manifest.json"
SQLITE_FILE = "ledger.sqlite3"
POSTGRES_FILE = "ledger.pgdump"  # pg_dump's custom format
MASTER_KEY_FILE = "master.key"
BLOBS = "blobs"
_SIGNED = b"failure-museum-backup-manifest/v1\n"
_CHUNK = 1 << 20


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(body: dict[str, Any], master: MasterKey) -> dict[str, Any]:
    """`body` with `signature`: the museum's Ed25519 signature over it."""
    return body | {"signature": master.signing_key.sign(_SIGNED + canonical(body)).hex()}


def check_signature(manifest: dict[str, Any], master: MasterKey) -> None:
    """The manifest is the one the museum of `master` wrote; IntegrityViolation otherwise."""
    body = {key: value for key, value in manifest.items() if key != "signature"}
    try:
        master.public_key.verify(
            bytes.fromhex(str(manifest.get("signature", ""))), _SIGNED + canonical(body)
        )
    except (InvalidSignature, ValueError):
        raise IntegrityViolation(
            "the backup's manifest does not match its signature: the manifest was changed"
        ) from None


def load(source: Path) -> dict[str, Any]:
    """The manifest of the backup folder `source`; FileProblem if it is not one."""
    path = source / MANIFEST
    if not source.is_dir():
        raise FileProblem(f"{source} is not a backup folder (museum backup writes one)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeError) as exc:
        raise FileProblem(f"{path} is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FileProblem(f"{path} is not a manifest of {FORMAT}")
    for key in ("mode", "key_id", "files", "events", "schema_revision"):
        if key not in manifest:
            raise FileProblem(f"{path} names no {key}")
    return manifest


def copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy `source` to `target` (synced), hashing the bytes on the way: (size, SHA-256)."""
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as fin, target.open("xb") as fout:
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return size, digest.hexdigest()


def hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def entry(path: str, size: int, sha256: str) -> dict[str, Any]:
    return {"path": path, "bytes": size, "sha256": sha256}


def held_files(source: Path) -> set[str]:
    """Every file under the backup folder, by its path inside it (the manifest excepted)."""
    return {
        p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file() or p.is_symlink()
    } - {MANIFEST}


def check_listing(source: Path, manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The manifest's files by path, exactly those the folder holds: a file missing from the
    folder or one the manifest does not list is refused (IntegrityViolation)."""
    listed: dict[str, dict[str, Any]] = {}
    for item in manifest["files"]:
        path = str(item["path"])
        if path.startswith("/") or ".." in Path(path).parts:
            raise IntegrityViolation(f"the backup's manifest names a path outside it: {path}")
        listed[path] = item
    held = held_files(source)
    missing = sorted(set(listed) - held)
    if missing:
        raise IntegrityViolation(
            f"the backup lacks {missing[0]}, which its manifest lists"
            + (f" ({len(missing)} files missing in all)" if len(missing) > 1 else "")
        )
    extra = sorted(held - set(listed))
    if extra:
        raise IntegrityViolation(f"the backup holds {extra[0]}, which its manifest does not list")
    return listed


def mismatch(path: str, item: dict[str, Any], size: int, sha256: str) -> IntegrityViolation | None:
    """Why the file does not match its manifest entry, or None when it does."""
    if size != int(item["bytes"]) or sha256 != str(item["sha256"]):
        return IntegrityViolation(
            f"{path} in the backup does not match its manifest (SHA-256 {sha256[:16]}…, "
            f"{size} bytes; the manifest says {str(item['sha256'])[:16]}…, {item['bytes']} "
            "bytes): the backup was changed or damaged"
        )
    return None
