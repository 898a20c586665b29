"""Inbound calls only from the carrier, end to end over real SIP: numbers-api -> trunk-sync ->
the emulator's SIP edge, with SIPp placing the carrier's INVITEs.

A number's inbound security (its carrier's source addresses, or its digest credentials) becomes
its LiveKit inbound trunk; an INVITE from an allowed source, or with the right credentials,
reaches a room with the number's agent dispatched; one from another source is dropped as
livekit/sip drops it, and one with wrong credentials is refused 401, neither creating a room.
Loopback stands in for the carrier's public addresses, so private ranges are allowed here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from livekit_emulator.testing import RunningEmulator
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.sip import Caller, sipp_call
from tests.support.trunk_sync import TrunkSync, running_numbers_api, synced_at_version

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parents[3] / "tools" / "livekit-emulator" / "tests" / "sipp"
NUMBER, CALLER = "+12025550177", "+14155550123"


@pytest.fixture
async def api(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Api]:
    """numbers-api that accepts loopback as the carrier's address (a lab's setting)."""
    async with running_numbers_api(
        database_factory, clean_stream, allow_private_sip_destinations=True
    ) as client:
        yield client


async def answering_number(api: Api, **inbound: Any) -> dict[str, Any]:
    """A custom-carrier number with `inbound` security and an inbound agent, synced."""
    agent = await api.agent("Front Desk")
    number = await api.number(NUMBER, carrier="custom", **inbound)
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": NUMBER, "inbound_agent_id": agent["id"]},
    )
    assert response.status_code == 200, response.text
    await synced_at_version(api, number["id"])
    return dict(response.json())


async def edge(lk: RunningEmulator) -> str:
    ports = (await lk.control.sip())["ports"]
    return f"127.0.0.1:{ports['udp']}"


async def call(
    lk: RunningEmulator, tmp_path: Path, scenario: str, **options: Any
) -> tuple[Caller, list[dict[str, Any]]]:
    """Place one SIPp call; the SIP participants seen in rooms while it lasted."""
    seen: dict[str, dict[str, Any]] = {}
    placing = asyncio.create_task(
        sipp_call(
            tmp_path,
            SCENARIOS / f"{scenario}.xml",
            await edge(lk),
            called=NUMBER,
            caller=CALLER,
            **options,
        )
    )
    while not placing.done():
        for participant in (await lk.control.state())["participants"]:
            if participant.get("kind") == "SIP":
                seen[participant["sid"]] = participant
        await asyncio.sleep(0.05)
    return placing.result(), list(seen.values())


async def test_only_the_carriers_addresses_reach_the_agent(
    api: Api, sync: TrunkSync, lk: RunningEmulator, tmp_path: Path
) -> None:
    number = await answering_number(api, inbound_allowed_addresses=["127.0.0.1"])
    job_seen: list[dict[str, Any]] = []

    async def watch_dispatch() -> None:
        while True:
            for d in (await lk.control.state())["agent_dispatches"]:
                if d["agent_name"] == "talkifai-agent":
                    job_seen.append(json.loads(d["metadata"]))
                    return
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_dispatch())
    allowed, participants = await call(lk, tmp_path, "uac_call", source_ip="127.0.0.1")
    assert allowed.returncode == 0, allowed.trace
    [caller] = participants
    assert caller["room_name"].startswith("inbound")
    assert caller["attributes"]["sip.trunkPhoneNumber"] == NUMBER
    await asyncio.wait_for(watcher, 5)
    assert job_seen[0]["phone_number_id"] == number["id"]
    assert job_seen[0]["agent_id"] == number["inbound_agent"]["id"]

    # The same INVITE from an address the carrier does not use: dropped, as livekit/sip drops
    # an INVITE no trunk takes (100 and 180, then nothing), and no room.
    other, participants = await call(lk, tmp_path, "uac_dropped", source_ip="127.0.0.2")
    assert other.returncode == 0, other.trace
    assert participants == []
    assert "SIP/2.0 200" not in other.trace


async def test_only_the_carriers_credentials_reach_the_agent(
    api: Api, sync: TrunkSync, lk: RunningEmulator, tmp_path: Path
) -> None:
    await answering_number(api, inbound_auth_username="carrier", inbound_auth_password="in-s3cret")
    accepted, participants = await call(
        lk, tmp_path, "uac_auth", credentials=("carrier", "in-s3cret")
    )
    assert accepted.returncode == 0, accepted.trace
    assert [p["attributes"]["sip.trunkPhoneNumber"] for p in participants] == [NUMBER]
    assert "Proxy-Authorization: Digest" in accepted.trace

    refused, participants = await call(
        lk, tmp_path, "uac_auth_refused", credentials=("carrier", "wrong-password")
    )
    assert refused.returncode == 0, refused.trace  # the scenario expects the 401
    assert "SIP/2.0 401" in refused.trace
    assert participants == []
