"""Fixtures: the same ledger tests run on a SQLite file and on the real PostgreSQL server."""

from __future__ import annotations

import os

# Tests run two xdist workers on two cores: one torch thread each, set before torch loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.application import MuseumLedger
from ledger.crypto import MasterKey
from ledger.runtime import opened_ledger
from ledger.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "MUSEUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_database() -> Iterator[str]:
    """A fresh database per test, dropped afterwards (test scaffolding, not ledger data)."""
    name = f"museum_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for the ledger tests ({POSTGRES_ADMIN_URL}): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, empty ledger on each backend."""
    key = MasterKey.generate_text()
    if request.param == "sqlite":
        yield Settings(home=tmp_path / "var", master_key=key)
    else:
        for url in _postgres_database():
            yield Settings(home=tmp_path / "var", database_url=url, master_key=key)


@pytest.fixture
def ledger(backend: Settings) -> Iterator[MuseumLedger]:
    with opened_ledger(backend) as app:
        yield app
