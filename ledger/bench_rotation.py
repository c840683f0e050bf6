"""The master-key rotation figure of `museum bench ledger`: how long `rotate_master` takes over
a vault of `artists` wrapped data keys, beside a raw rewrite of the same rows.

Rotation re-wraps every vault row and writes the key ring and its event in one transaction, so
its cost grows with the vault, not with the log. The vault is filled directly (untimed) with
data keys wrapped by the museum's real master key, `artists` rows in all, including the bench's
artists registered through the service; the log keeps what the append bench wrote. The
baseline, on the same database in the same run: one transaction that rewrites every vault row
with bytes of the same length, no cryptography, no event. Afterwards the ledger is opened with
the new key and verified, and a sampled artist read, so the figure is of a rotation that worked.
"""

from __future__ import annotations

import os
import time
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from pydantic import SecretStr

from ledger.crypto import MasterKey
from ledger.rotation import rotate_master
from ledger.runtime import opened_ledger
from ledger.settings import Settings
from ledger.tables import artist_keys

BATCH = 2_000


def _fill_vault(settings: Settings, master: MasterKey, artists: int) -> int:
    """Wrapped keys up to `artists` rows in the vault; returns how many were added."""
    with opened_ledger(settings) as ledger, ledger.engine.begin() as c:
        present = int(c.execute(sa.select(sa.func.count()).select_from(artist_keys)).scalar() or 0)
        missing = max(0, artists - present)
        now = int(time.time() * 1000)
        for start in range(0, missing, BATCH):
            rows = []
            for _ in range(min(BATCH, missing - start)):
                artist_id = uuid4()
                _, wrapped = master.new_data_key(artist_id)
                rows.append(
                    {"artist_id": artist_id.hex, "wrapped_key": wrapped, "created_at_ms": now}
                )
            c.execute(artist_keys.insert(), rows)
    return missing


def _raw_rewrite(settings: Settings) -> float:
    """Seconds to rewrite every vault row with fresh bytes of the same length, one transaction."""
    with opened_ledger(settings) as ledger:
        with ledger.engine.connect() as c:
            rows = [(str(r[0]), len(r[1])) for r in c.execute(sa.select(artist_keys))]
        began = time.perf_counter()
        with ledger.engine.begin() as c:
            c.execute(
                artist_keys.update()
                .where(artist_keys.c.artist_id == sa.bindparam("id"))
                .values(wrapped_key=sa.bindparam("bytes")),
                [{"id": artist, "bytes": os.urandom(size)} for artist, size in rows],
            )
        return time.perf_counter() - began


def rotation_figures(settings: Settings, artists: int, sample: UUID) -> dict[str, Any]:
    """Rotate the ledger of `settings` (its key given by MUSEUM_MASTER_KEY) to a new key over
    a vault of `artists` keys; `sample` is an artist registered through the service."""
    old_text = settings.master_key.get_secret_value() if settings.master_key else ""
    added = _fill_vault(settings, MasterKey.from_text(old_text), artists)
    new_text = MasterKey.generate_text()
    with opened_ledger(settings) as ledger:
        events = ledger.integrity.size()
        began = time.perf_counter()
        done = rotate_master(ledger, MasterKey.from_text(new_text))
        rotate_seconds = time.perf_counter() - began
    rotated = settings.model_copy(update={"master_key": SecretStr(new_text)})
    with opened_ledger(rotated) as ledger:
        t0 = time.perf_counter()
        ledger.integrity.sign_head()
        first_head_seconds = time.perf_counter() - t0
        ledger.integrity.verify()
        readable = ledger.artist_view(sample).pseudonym != ""
    raw_seconds = _raw_rewrite(rotated)
    return {
        "artists": done.artists_rewrapped,
        "vault_rows_added_untimed": added,
        "log_events": events,
        "rotate_seconds": rotate_seconds,
        "first_new_head_seconds": first_head_seconds,
        "us_per_artist": rotate_seconds / max(1, done.artists_rewrapped) * 1e6,
        "raw_rewrite_seconds": raw_seconds,
        "rotate_to_raw_ratio": rotate_seconds / raw_seconds if raw_seconds > 0 else 0.0,
        "verified_after": True,
        "sample_artist_readable": readable,
    }
