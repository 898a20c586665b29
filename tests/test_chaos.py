"""Chaos: a burst of number changes while numbers-api, trunk-sync and nats-server are killed.

Each service runs as a real process (nats-server keeps its JetStream store across restarts; two
trunk-sync replicas share the work) and is killed with SIGKILL in turn, twice, while a burst
creates, edits, assigns and deletes numbers through numbers-api's HTTP API. Then exact accounting: every committed change has exactly one event on
`TELEPHONY` (by entity id and version), nothing acknowledged is missing, and LiveKit (the emulator,
read through LiveKit's SIP list APIs) holds exactly the desired state of every number: no orphan,
no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import api as lkapi

from livekit_emulator.testing import RunningEmulator, running_emulator
from numbers_api.main import MIGRATIONS
from talkifai_common import devinfra
from talkifai_common.crypto import generate_key
from tests.support.chaos import (
    Accounting,
    Ledger,
    Service,
    Uncertain,
    account,
    current_numbers,
    livekit_drift,
    mutate,
    nats_command,
    telephony_events,
    wait_until,
)
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.trunk_sync import INTERNAL_TOKEN, JWT_SECRET, token_factory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

ROUNDS = 2  # each service killed this many times
WORKERS = 6  # mutations in flight at once
LIVEKIT_KEY, LIVEKIT_SECRET = "chaos-test-key", "chaos-test-livekit-secret-0123456789abcdef"


@dataclass
class Stack:
    """The processes under test and clients for them."""

    nats: Service
    numbers_api: Service
    trunk_syncs: tuple[Service, Service]
    api: Api
    nats_url: str
    livekit: lkapi.LiveKitAPI


@pytest.fixture
async def stack(tmp_path: Path, database_factory: DatabaseFactory) -> AsyncIterator[Stack]:
    """nats-server, numbers-api and two trunk-sync replicas as processes (logs in `tmp_path`);
    the LiveKit emulator in this one."""
    database_url = await database_factory(MIGRATIONS)
    nats_port, api_port, *sync_ports = (devinfra.free_port() for _ in range(4))
    nats_url, api_url = f"nats://127.0.0.1:{nats_port}", f"http://127.0.0.1:{api_port}"
    common = {
        **os.environ,
        "DEV_MODE": "false",
        "HOST": "127.0.0.1",
        "NATS_URL": nats_url,
        "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "console",
        # Offline machine: the termination host cannot be resolved to prove it is public.
        "ALLOW_PRIVATE_SIP_DESTINATIONS": "true",
    }
    async with running_emulator(api_key=LIVEKIT_KEY, api_secret=LIVEKIT_SECRET) as lk:
        services = _services(tmp_path, common, database_url, lk, nats_port, api_port, sync_ports)
        nats, numbers_api, *trunk_syncs = services
        livekit = lkapi.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        try:
            for service in services:
                await service.start()
            async with httpx.AsyncClient(base_url=api_url, timeout=10) as http:
                api = Api(base_url=api_url, http=http, token=token_factory(), app=None)
                yield Stack(
                    nats, numbers_api, (trunk_syncs[0], trunk_syncs[1]), api, nats_url, livekit
                )
        finally:
            for service in reversed(services):
                await service.stop()
            await livekit.aclose()


def _services(
    tmp_path: Path,
    common: dict[str, str],
    database_url: str,
    lk: RunningEmulator,
    nats_port: int,
    api_port: int,
    sync_ports: list[int],
) -> list[Service]:
    nats = Service(
        "nats-server",
        nats_command(tmp_path / "nats", nats_port),
        common,
        nats_port,
        tmp_path,
        ready_path=None,
    )
    numbers_api = Service(
        "numbers-api",
        [sys.executable, "-m", "numbers_api.main", "serve"],
        {
            **common,
            "NUMBERS_API_PORT": str(api_port),
            "DATABASE_URL": database_url,
            "AUTH_JWT_SECRET": JWT_SECRET,
            "FERNET_KEYS": generate_key(),
        },
        api_port,
        tmp_path,
    )
    trunk_syncs = [
        Service(
            f"trunk-sync-{i + 1}",
            [sys.executable, "-m", "trunk_sync.main", "serve"],
            {
                **common,
                "TRUNK_SYNC_PORT": str(sync_port),
                "NUMBERS_API_URL": f"http://127.0.0.1:{api_port}",
                "LIVEKIT_URL": lk.url,
                "LIVEKIT_API_KEY": lk.api_key,
                "LIVEKIT_API_SECRET": lk.api_secret,
                # A killed replica's messages come back after 2 s rather than 30.
                "ACK_WAIT_S": "2",
                "RETRY_BASE_S": "0.1",
                "RETRY_MAX_S": "2",
            },
            sync_port,
            tmp_path,
        )
        for i, sync_port in enumerate(sync_ports)
    ]
    return [nats, numbers_api, *trunk_syncs]


async def change_one_number(api: Api, ledger: Ledger, index: int, agents: list[str]) -> None:
    """Create a number, then assign, edit, unassign, clear and delete as its index says."""
    e164 = f"+1303555{index:04d}"
    response = await mutate(
        api,
        ledger,
        "POST",
        "/phone-numbers",
        json={
            "phone_number": e164,
            "termination_uri": "acme.pstn.twilio.com",
            "sip_username": f"u{index}",
            "sip_password": f"chaos-password-{index:04d}",
        },
    )
    number_id = response.json()["id"]
    ledger.ack("created", number_id, response.json()["version"])
    changes: list[tuple[str, str, dict[str, Any]]] = [
        (
            "PUT",
            "/phone-numbers/agent-assignments",
            {"phone_number": e164, "inbound_agent_id": agents[index % 2]},
        ),
        ("PATCH", f"/phone-numbers/{number_id}", {"sip_username": f"u{index}-b"}),
    ]
    if index % 3 == 0:
        changes.append(("PATCH", f"/phone-numbers/{number_id}", {"termination_uri": None}))
    if index % 4 == 0:
        changes.append(
            (
                "PUT",
                "/phone-numbers/agent-assignments",
                {"phone_number": e164, "inbound_agent_id": None, "outbound_agent_id": agents[0]},
            )
        )
    for method, path, body in changes:
        response = await mutate(api, ledger, method, path, json=body)
        ledger.ack("updated", number_id, response.json()["version"])
    if index % 5 == 0:
        await mutate(api, ledger, "DELETE", f"/phone-numbers/{number_id}")
        ledger.ack("deleted", number_id, None)


async def burst(api: Api, ledger: Ledger, agents: list[str], stop: asyncio.Event) -> int:
    """Change numbers from several workers until `stop`; how many numbers were started."""
    indexes = itertools.count()

    async def worker() -> None:
        while not stop.is_set():
            # An uncertain outcome is read back from numbers-api and the stream.
            with contextlib.suppress(Uncertain):
                await change_one_number(api, ledger, next(indexes), agents)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return next(indexes)


async def inject_faults(stack: Stack, ledger: Ledger, stop: asyncio.Event) -> Counter[str]:
    """Kill each service in turn and start it again while the burst runs; then stop the burst.

    Each fault must be hit: changes keep being committed (NATS or trunk-sync down) or keep being
    attempted against a dead port (numbers-api down) while the service is away.
    """
    faults: Counter[str] = Counter()
    try:
        for round_ in range(ROUNDS):
            for service in (stack.nats, stack.numbers_api, stack.trunk_syncs[round_ % 2]):
                # Let the burst run a moment on a healthy stack before the next fault.
                await wait_until(
                    _progress(ledger, 20), within_s=30, what="mutations between faults"
                )
                acknowledged, refused = len(ledger.acknowledged), ledger.refused_connections
                await service.kill()
                faults[service.name] += 1
                if service is stack.numbers_api:
                    await wait_until(
                        _refused_after(ledger, refused),
                        within_s=10,
                        what="a mutation refused while numbers-api is down",
                    )
                else:
                    await wait_until(
                        _progress(ledger, 5),
                        within_s=10,
                        what=f"mutations with {service.name} down",
                    )
                    assert len(ledger.acknowledged) > acknowledged
                await service.start()
    finally:
        stop.set()
    return faults


def _progress(ledger: Ledger, count: int) -> Any:
    start = len(ledger.acknowledged)

    async def check() -> bool:
        return len(ledger.acknowledged) >= start + count

    return check


def _refused_after(ledger: Ledger, refused: int) -> Any:
    async def check() -> bool:
        return ledger.refused_connections > refused

    return check


async def test_a_burst_of_changes_survives_killed_services_with_exact_accounting(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    api, ledger = stack.api, Ledger()
    agents = []
    for name in ("Support", "Sales"):
        response = await mutate(
            api, ledger, "POST", "/agents", json={"name": name, "architecture": "pipeline"}
        )
        agents.append(response.json()["id"])
    stop = asyncio.Event()
    started, faults = await asyncio.gather(
        burst(api, ledger, agents, stop), inject_faults(stack, ledger, stop)
    )

    result: dict[str, Any] = {}

    async def settled() -> bool:
        numbers = await current_numbers(api)
        result["events"] = await telephony_events(stack.nats_url)
        result["accounting"] = account(result["events"], numbers, ledger)
        result["drift"] = await livekit_drift(stack.livekit, numbers)
        result["numbers"] = len(numbers)
        accounting: Accounting = result["accounting"]
        return not (accounting.lost or result["drift"])

    try:
        await wait_until(settled, within_s=90, every_s=1.0, what="events and LiveKit to settle")
    finally:
        accounting = result.get("accounting")
        figures = (
            f"\nchaos: {ledger.attempted} mutations attempted on {started} numbers, "
            f"{len(ledger.acknowledged)} acknowledged, {ledger.uncertain} uncertain, "
            f"{ledger.refused_connections} refused connections (numbers-api down); "
            f"faults injected: {sum(faults.values())} ({dict(faults)}); "
            + (
                f"committed changes: {accounting.committed}, number events counted: "
                f"{accounting.events}, lost: {len(accounting.lost)}, duplicated: "
                f"{len(accounting.duplicated)}, phantom: {len(accounting.phantom)}; "
                if accounting
                else ""
            )
            + f"LiveKit drift: {len(result.get('drift', []))} "
            f"over {result.get('numbers')} numbers"
        )
        with capsys.disabled():
            print(figures)
    accounting = result["accounting"]
    assert sum(faults.values()) == 3 * ROUNDS
    assert not ledger.server_errors, ledger.server_errors[:5]
    assert not accounting.lost, accounting.lost[:20]
    assert not accounting.duplicated, accounting.duplicated[:20]
    assert not accounting.phantom, accounting.phantom[:20]
    assert not accounting.unacknowledged, accounting.unacknowledged[:20]
    assert not result["drift"], result["drift"][:20]
    assert accounting.committed >= len(ledger.acknowledged)
    created = Counter(
        e["subject"] for e in result["events"] if e["type"].startswith("talkifai.telephony.agent.")
    )
    assert created == Counter(agents), f"agent events: {created}"
