"""End-to-end fixtures: the real numbers-api (PostgreSQL and nats-server from the root fixtures), the
Studio's own server in front of it, and Debian's Chromium driven by Playwright.

The tests skip, saying why, when the Studio is not built, Chromium is missing, or the `playwright`
package is not installed; `services/studio/scripts/test.sh` provides all three and runs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from numbers_api.config import Settings
from numbers_api.main import MIGRATIONS, create_app
from talkifai_common import devinfra
from talkifai_common.auth import Role, issue_hs256_token
from tests.support.databases import DatabaseFactory
from tests.support.servers import serve_asgi

STUDIO = Path(__file__).resolve().parents[1]
DIST = STUDIO / "dist"
CHROMIUM = Path(os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = STUDIO.parents[1] / "test-artifacts" / "studio"
JWT_SECRET = "studio-e2e-jwt-secret-0123456789-abcdefgh"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    if not (DIST / "index.html").is_file():
        return "the Studio is not built (run services/studio/scripts/test.sh, or npm run build)"
    if not CHROMIUM.is_file():
        return f"Chromium is missing at {CHROMIUM} (apt-get install chromium)"
    if shutil.which("node") is None:
        return "node is not installed"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (services/studio/scripts/test.sh adds it)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip this directory's browser tests, with the reason, when something they need is missing."""
    reason = _missing()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=f"Studio e2e: {reason}"))


@dataclass
class Stack:
    """numbers-api and the Studio in front of it."""

    api_url: str
    studio_url: str
    http: httpx.AsyncClient

    def token(self, org_id: str = "org_e2e", role: Role = Role.OWNER, sub: str = "user-1") -> str:
        """A signed user token."""
        return issue_hs256_token(JWT_SECRET, sub=sub, org_id=org_id, role=role)

    async def call(
        self, method: str, path: str, org_id: str = "org_e2e", sub: str = "user-2", **kw: Any
    ) -> Any:
        """Call numbers-api directly, as another client of the organization; return the JSON body."""
        headers = {"Authorization": f"Bearer {self.token(org_id, Role.OWNER, sub)}"}
        response = await self.http.request(method, path, headers=headers, **kw)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def page_url(self, token: str) -> str:
        """The Studio, signed in by a token handed in through the URL."""
        return f"{self.studio_url}/telephony/#token={token}"


@contextlib.contextmanager
def studio_server(numbers_api_url: str, call_orchestrator_url: str | None = None) -> Iterator[str]:
    """The Studio's own server (server/server.mjs) on a free port, proxying to numbers-api (and to
    call-orchestrator when one runs)."""
    port = devinfra.free_port()
    env = {
        **os.environ,
        "STUDIO_PORT": str(port),
        "NUMBERS_API_URL": numbers_api_url,
        # Without call-orchestrator (most tests) the page must explain the 502.
        "CALL_ORCHESTRATOR_URL": call_orchestrator_url
        or f"http://127.0.0.1:{devinfra.free_port()}",
        "STUDIO_ACCESS_LOG": "0",
    }
    process = subprocess.Popen(["node", str(STUDIO / "server" / "server.mjs")], env=env, cwd=STUDIO)
    try:
        devinfra.wait_for_port("127.0.0.1", port, timeout_s=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def stack(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Stack]:
    """A fresh database, numbers-api in dev mode (for /dev/token) and the Studio server."""
    settings = Settings(
        dev_mode=True,
        database_url=await database_factory(MIGRATIONS),
        nats_url=clean_stream,
        auth_jwt_secret=JWT_SECRET,
        log_format="console",
        log_level="WARNING",
    )
    async with (
        serve_asgi(create_app(settings)) as api_url,
        httpx.AsyncClient(base_url=api_url, timeout=10) as http,
    ):
        for _ in range(500):  # the live event stream needs the bus
            if (await http.get("/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.02)
        with studio_server(api_url) as studio_url:
            yield Stack(api_url=api_url, studio_url=studio_url, http=http)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through Playwright (which cannot download its own here)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


NewPage = Callable[..., Awaitable[Any]]


@pytest.fixture
async def new_page(browser: Any) -> AsyncIterator[NewPage]:
    """Open pages in fresh browser contexts (or a given one); everything closes after the test."""
    contexts: list[Any] = []

    async def make(context: Any = None, width: int = 1280, height: int = 800) -> Any:
        if context is None:
            context = await browser.new_context(viewport={"width": width, "height": height})
            contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def call_stack(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Any]:
    """Every service a call needs and the Studio in front of them (`real_stack.CallStack`)."""
    from .real_stack import running_call_stack  # it imports this module's studio_server

    async with running_call_stack(database_factory, clean_stream) as stack:
        yield stack
