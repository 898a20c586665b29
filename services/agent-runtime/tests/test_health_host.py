"""The worker's own HTTP (health) server listens on `HOST`, not on every interface."""

from __future__ import annotations

import asyncio

import jwt  # noqa: F401  # the warning filter below names its class
import psutil
import pytest

from agent_runtime.config import Settings
from agent_runtime.directory import AgentDirectory, NumberDirectory
from agent_runtime.handlers import Context
from agent_runtime.worker import create_server
from livekit_emulator.testing import running_emulator
from talkifai_common import devinfra
from tests.support.agent_fakes import FakeSource, RecordingEvents

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

WAIT_S = 15.0  # a guard against hanging, never an expectation of speed


def _listening_addresses(port: int) -> set[str]:
    return {
        c.laddr.ip
        for c in psutil.Process().net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port
    }


async def test_the_workers_http_server_listens_on_the_configured_host() -> None:
    port = devinfra.free_port()
    async with running_emulator() as lk:
        settings = Settings(
            dev_mode=True,
            host="127.0.0.1",
            worker_http_port=port,
            livekit_url=lk.url,
            livekit_api_key=lk.api_key,
            livekit_api_secret=lk.api_secret,
        )
        source = FakeSource(agents={}, numbers={})
        ctx = Context(
            settings=settings,
            agents=AgentDirectory(source),
            numbers=NumberDirectory(source),
            events=RecordingEvents(),
            consent=None,  # type: ignore[arg-type]
            loop=asyncio.get_running_loop(),
        )
        server = create_server(ctx)
        task = asyncio.create_task(server.run(devmode=True))
        try:
            async with asyncio.timeout(WAIT_S):
                while True:
                    addresses = _listening_addresses(port)
                    if addresses:
                        break
                    await asyncio.sleep(0.02)
            assert addresses == {"127.0.0.1"}
        finally:
            await server.aclose()
            await asyncio.gather(task, return_exceptions=True)
