"""Schema set-up that any number of processes may run at the same moment.

Workers and API servers start together in the distributed mode, and each opens the ledger. Two
processes creating tables at once on PostgreSQL fail on its catalogue ("tuple concurrently
updated", a duplicate `pg_type` row), so all schema work, Alembic's migrations and
eventsourcing's own tables, runs under one lock: a PostgreSQL advisory lock, or a file lock
beside a SQLite file. The first look is a cheap read without the lock, so opening a ready ledger
costs no contention; `museum migrate` applies everything once, before anything starts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment
from filelock import FileLock, Timeout
from sqlalchemy.engine import Engine

from ledger.errors import ConfigurationError
from ledger.store import alembic_config, migrate

# Every museum process agrees on this key ("museum" in ASCII); nothing else in the database uses it.
SCHEMA_LOCK_KEY = 0x6D757365756D
LOCK_WAIT_SECONDS = 120


@dataclass(frozen=True)
class SchemaState:
    """Where the database stands: Alembic's revision and whether the events table exists."""

    revision: str | None
    head: str
    events_table: str
    has_events_table: bool

    @property
    def ready(self) -> bool:
        return self.revision == self.head and self.has_events_table


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise ConfigurationError("the migrations folder holds no revision")
    return head


def schema_state(engine: Engine, app_name: str) -> SchemaState:
    """A read-only look: the revision recorded and the presence of eventsourcing's table."""
    table = events_table(engine, app_name)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        present = sa.inspect(connection).has_table(table)
    return SchemaState(revision, head_revision(), table, present)


def events_table(engine: Engine, app_name: str) -> str:
    """eventsourcing's name for the events table: `<app>_events` on PostgreSQL; on SQLite,
    where one file holds one application, always `stored_events`."""
    return "stored_events" if engine.dialect.name == "sqlite" else f"{app_name.lower()}_events"


def prepare_schema(
    engine: Engine, env: Mapping[str, str], app_name: str
) -> tuple[SchemaState, bool]:
    """Bring the schema to head unless it is there; return the state and whether this changed it."""
    state = schema_state(engine, app_name)
    if state.ready:
        return state, False
    with schema_lock(engine):
        state = schema_state(engine, app_name)  # another process may have done it meanwhile
        if state.ready:
            return state, False
        migrate(engine)
        _create_event_tables(env, app_name)
        return schema_state(engine, app_name), True


def _create_event_tables(env: Mapping[str, str], app_name: str) -> None:
    """eventsourcing's tables, made by its own recorder, as the application would make them."""
    setup = dict(env) | {"CREATE_TABLE": "yes", "POSTGRES_POOL_SIZE": "1"}
    factory = InfrastructureFactory.construct(Environment(app_name, setup))
    try:
        factory.application_recorder()
    finally:
        factory.close()


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the schema lock: one process at a time changes the schema."""
    if engine.dialect.name == "postgresql":
        # A session lock on its own connection: the migrations and eventsourcing's recorder
        # work on other connections meanwhile, and a process that dies lets go of it.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'")
            try:
                try:
                    connection.execute(sa.select(sa.func.pg_advisory_lock(SCHEMA_LOCK_KEY)))
                except sa.exc.OperationalError:  # lock_timeout bounds advisory locks too
                    raise _busy() from None
                try:
                    yield
                finally:
                    connection.execute(sa.select(sa.func.pg_advisory_unlock(SCHEMA_LOCK_KEY)))
            finally:
                connection.exec_driver_sql("RESET lock_timeout")  # the connection goes back
        return
    lock = FileLock(f"{engine.url.database}.schema-lock")
    try:
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    except Timeout:
        raise _busy() from None
    try:
        yield
    finally:
        lock.release()


def _busy() -> ConfigurationError:
    return ConfigurationError(
        f"another process held the ledger's schema lock for over {LOCK_WAIT_SECONDS} s; "
        "is a migration stuck? Try `museum migrate` again"
    )
