"""The `livekit-emulator` process logs each request once at info; Twirp detail is at debug."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from livekit import api
from livekit.protocol import sip

API_KEY = "logs-key"
API_SECRET = "logs-secret-0123456789abcdef0123456789"
TWIRP_PATH = "/twirp/livekit.SIP/ListSIPInboundTrunk"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _answers(http: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await http.get(url)).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
async def emulator_process() -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`livekit-emulator` as `make run` starts it (its own logging, uvicorn's access log), at info."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "livekit-emulator"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "INFO"),
        *("--api-key", API_KEY, "--api-secret", API_SECRET),
        "--no-sip",  # its SIP edge would take 5060/5061; these tests are about logs
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            while not await _answers(http, f"{url}/healthz"):
                assert process.returncode is None, "the emulator exited at start"
                await asyncio.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        await process.wait()


async def test_a_twirp_call_is_one_log_line_at_info(
    emulator_process: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, process = emulator_process
    lkapi = api.LiveKitAPI(url, API_KEY, API_SECRET)
    try:
        await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    finally:
        await lkapi.aclose()
    assert process.stderr is not None
    mentions: list[str] = []
    # The access line is written after the handler ran, so any earlier line about the call is read first.
    while not any("uvicorn.access" in line for line in mentions):
        line = (await process.stderr.readline()).decode()
        assert line, "the emulator exited before logging the request"
        if TWIRP_PATH in line:
            mentions.append(line)
    assert len(mentions) == 1, mentions
