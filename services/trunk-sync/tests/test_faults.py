"""Faults: trunk-sync killed mid-burst, nats-server restarted, LiveKit down for a while.

Each time, LiveKit ends up holding exactly the desired state: no duplicate, no orphan.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import api as lkapi
from livekit.protocol.sip import CreateSIPInboundTrunkRequest, SIPInboundTrunkInfo

from livekit_emulator.testing import RunningEmulator
from talkifai_common import devinfra
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.servers import already_started, serve_asgi
from tests.support.trunk_sync import (
    INTERNAL_TOKEN,
    StartSync,
    eventually,
    running_numbers_api,
    sip_state,
    sync_settings,
    wait_ready,
)
from trunk_sync.main import create_app

pytestmark = pytest.mark.slow


async def desired_matches(api: Api, lk: RunningEmulator) -> bool:
    """LiveKit holds exactly one set of resources per number, at its current version."""
    numbers = (await api.request("GET", "/phone-numbers", params={"limit": 200})).json()["items"]
    state = await sip_state(lk.control)
    by_number: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind, items in state.items():
        for item in items:
            pn = json.loads(item["metadata"])["phone_number_id"]
            by_number.setdefault(pn, {"inbound": [], "outbound": [], "rules": []})[kind].append(
                item
            )
    assert set(by_number) == {n["id"] for n in numbers}, "orphans or missing numbers"
    for n in numbers:
        held = by_number[n["id"]]
        assert len(held["inbound"]) == 1, f"inbound trunks of {n['id']}: {held['inbound']}"
        assert held["inbound"][0]["numbers"] == [n["phone_number"]]
        assert len(held["outbound"]) == (1 if n["termination_uri"] else 0)
        for trunk in held["outbound"]:
            assert json.loads(trunk["metadata"])["version"] == n["version"]
        assert len(held["rules"]) == (1 if n["inbound_agent"] else 0)
        assert n["sync"]["state"] == "synced", n
    return True


async def burst(api: Api, count: int, agent_id: str, offset: int = 0) -> None:
    """Create numbers, assign agents, edit and delete some, all at once."""

    async def one(i: int) -> None:
        e164 = f"+1202555{offset + i:04d}"
        number = await api.number(
            e164, termination_uri="acme.pstn.twilio.com", sip_username="u", sip_password="p" * 12
        )
        if i % 2 == 0:
            response = await api.request(
                "PUT",
                "/phone-numbers/agent-assignments",
                json={"phone_number": e164, "inbound_agent_id": agent_id},
            )
            assert response.status_code == 200, response.text
        if i % 3 == 0:
            await api.request(
                "PATCH", f"/phone-numbers/{number['id']}", json={"termination_uri": None}
            )
        if i % 5 == 0:
            await api.request("DELETE", f"/phone-numbers/{number['id']}")

    await asyncio.gather(*(one(i) for i in range(count)))


async def test_trunk_sync_killed_mid_burst_and_restarted_converges(
    api: Api, lk: RunningEmulator, clean_stream: str
) -> None:
    env = {
        **os.environ,
        "DEV_MODE": "false",
        "NATS_URL": clean_stream,
        "NUMBERS_API_URL": api.base_url,
        "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
        "LIVEKIT_URL": lk.url,
        "LIVEKIT_API_KEY": lk.api_key,
        "LIVEKIT_API_SECRET": lk.api_secret,
        "ACK_WAIT_S": "1",
        "RECONCILE_INTERVAL_S": "60",
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        # The test's carrier host (acme.pstn.twilio.com) does not resolve offline.
        "ALLOW_PRIVATE_SIP_DESTINATIONS": "true",
    }

    async def start() -> subprocess.Popen[bytes]:
        port = devinfra.free_port()
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited on
            [sys.executable, "-m", "trunk_sync.main", "serve"],
            env={**env, "TRUNK_SYNC_PORT": str(port)},
            stdout=subprocess.DEVNULL,
        )
        async with httpx.AsyncClient() as http:

            async def ready() -> bool:
                try:
                    response = await http.get(f"http://127.0.0.1:{port}/readyz")
                except httpx.HTTPError:
                    return False
                return response.status_code == 200

            await eventually(ready, within_s=20, every_s=0.05)
        return process

    agent = await api.agent("Support")
    first = await start()
    try:
        work = asyncio.create_task(burst(api, 40, agent["id"]))
        await eventually(lambda: _some_trunks(lk), within_s=10)
        first.send_signal(signal.SIGKILL)
        await asyncio.to_thread(first.wait)
        await work
        second = await start()
        try:
            await eventually(lambda: desired_matches(api, lk), within_s=20, every_s=0.2)
        finally:
            second.terminate()
            await asyncio.to_thread(second.wait, 10)
    finally:
        if first.poll() is None:
            first.kill()
            await asyncio.to_thread(first.wait)


async def _some_trunks(lk: RunningEmulator) -> bool:
    return len((await sip_state(lk.control))["inbound"]) >= 3


async def _livekit_refused_a_call(lk: RunningEmulator) -> bool:
    return int((await lk.control.state())["faults"]["refused"]) > 0


async def test_livekit_unavailable_during_a_burst_converges(
    api: Api, start_sync: StartSync, lk: RunningEmulator
) -> None:
    await start_sync(max_deliveries=100, retry_base_s=0.05, retry_max_s=0.2)
    agent = await api.agent("Support")
    work = asyncio.create_task(burst(api, 30, agent["id"]))
    await eventually(lambda: _some_trunks(lk), within_s=10)  # the burst is being synced
    await lk.control.set_faults(unavailable=True)
    await work
    await burst(api, 5, agent["id"], offset=100)  # changes made while LiveKit is down
    await eventually(lambda: _livekit_refused_a_call(lk), within_s=10)  # the fault was hit
    await lk.control.set_faults(unavailable=False)
    await eventually(lambda: desired_matches(api, lk), within_s=20, every_s=0.2)


async def test_restarting_nats_server_mid_burst_converges(
    tmp_path: Path, database_factory: DatabaseFactory, lk: RunningEmulator
) -> None:
    store, port = tmp_path / "nats", devinfra.free_port()
    server = devinfra.running_nats(store, port)
    url = server.__enter__()
    try:
        async with running_numbers_api(database_factory, url) as api:
            sync_app = create_app(sync_settings(api.base_url, url, lk, ack_wait_s=2))
            async with serve_asgi(sync_app) as sync_url:
                await wait_ready(sync_url)
                agent = await api.agent("Support")
                await burst(api, 10, agent["id"])
                server.__exit__(None, None, None)
                # Changes keep coming while NATS is down: the outbox holds their events.
                await burst(api, 10, agent["id"], offset=100)
                server = devinfra.running_nats(store, port)
                server.__enter__()
                await eventually(lambda: desired_matches(api, lk), within_s=30, every_s=0.2)
    finally:
        server.__exit__(None, None, None)


async def test_a_reconcile_that_failed_at_start_is_retried_within_seconds(
    api: Api, clean_stream: str, lk: RunningEmulator
) -> None:
    """Everything starting at once: numbers-api answers a moment after trunk-sync's first
    reconcile, which is tried again within seconds, not after the whole interval."""
    livekit = lkapi.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    orphan_meta = json.dumps(
        {
            "managed_by": "talkifai",
            "phone_number_id": "pn_never",
            "phone_number": "+12025550666",
            "org_id": "org_a",
        }
    )
    orphan = await livekit.sip.create_inbound_trunk(
        CreateSIPInboundTrunkRequest(
            trunk=SIPInboundTrunkInfo(name="orphan", numbers=["+12025550666"], metadata=orphan_meta)
        )
    )
    await livekit.aclose()
    port = devinfra.free_port()
    settings = sync_settings(f"http://127.0.0.1:{port}", clean_stream, lk, reconcile_interval_s=60)

    async def orphan_gone() -> bool:
        state = await sip_state(lk.control)
        return orphan.sip_trunk_id not in {t["sip_trunk_id"] for t in state["inbound"]}

    tried = asyncio.Event()

    def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tried.set()
        writer.close()

    # Not numbers-api yet: a listener that hangs up, so the first reconcile is seen to fail.
    listener = await asyncio.start_server(hang_up, "127.0.0.1", port)
    async with serve_asgi(create_app(settings)):
        async with asyncio.timeout(10):
            await tried.wait()
        listener.close()
        await listener.wait_closed()
        assert not await orphan_gone()
        async with serve_asgi(already_started(api.app), port=port):
            await eventually(orphan_gone, within_s=10)
