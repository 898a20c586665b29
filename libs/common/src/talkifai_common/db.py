"""PostgreSQL: an asyncpg pool, and migrations through Alembic.

Each service keeps its Alembic scripts in its own package (`<package>/migrations`) and runs them with
`migrate(database_url, script_location)` from its `migrate` command; the server never migrates on its
own, so that several replicas can start at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

# What a request meets while PostgreSQL is down, restarting, refusing connections or full: the
# request may succeed later, unlike a failing statement (HTTP answers 503 with Retry-After).
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionError,  # refused or reset at the socket
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,  # our backend was terminated
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,  # the connection closed under a running statement
    asyncpg.ObjectNotInPrerequisiteStateError,  # "database ... is not currently accepting connections"
    # A statement started on a pooled connection whose backend was just terminated, while asyncpg
    # still consumes the server's FATAL ("cannot switch to state 11; another operation (2) is in
    # progress"); the connection closes a moment later and the pool replaces it.
    asyncpg.InternalClientError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """Nothing to reset beyond what asyncpg always does (roll back an open transaction).

    Our code leaves no session state on pooled connections: advisory locks are transaction-scoped,
    LISTEN uses its own connection, nothing runs SET or keeps cursors. asyncpg's default reset
    (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) was a round trip per release:
    a tenth of numbers-api's CPU under load.
    """


async def create_pool(database_url: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    """A pool whose connections decode json/jsonb to Python values."""
    pool = await asyncpg.create_pool(
        dsn=database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_no_session_state,
        command_timeout=30,
    )
    assert pool is not None  # asyncpg types it Optional only for the un-awaited form
    return pool


async def connect(database_url: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (for LISTEN and tools)."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn=database_url)
    await _init_connection(conn)
    return conn


def sqlalchemy_url(database_url: str) -> str:
    """The same database as a SQLAlchemy URL with the asyncpg driver (Alembic speaks SQLAlchemy)."""
    url = make_url(database_url)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def alembic_config(database_url: str, script_location: Path) -> Config:
    """An Alembic configuration for a service's migrations, with no ini file."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["database_url"] = sqlalchemy_url(database_url)
    return config


def migrate(database_url: str, script_location: Path, revision: str = "head") -> None:
    """Bring the schema to `revision` (blocking; call it from a command or a thread)."""
    command.upgrade(alembic_config(database_url, script_location), revision)


def run_alembic_env(config: Config, target_metadata: Any = None) -> None:
    """The body of every service's `migrations/env.py`: run online migrations over asyncpg."""
    import asyncio

    from alembic import context
    from sqlalchemy import pool
    from sqlalchemy.ext.asyncio import create_async_engine

    def do_run(connection: Any) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(config.attributes["database_url"], poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
