"""Two trunk-sync replicas racing on the same numbers never leave duplicate LiveKit resources."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, cast

import pytest

from livekit_emulator.testing import RunningEmulator
from talkifai_common.events import STREAM_NAME
from tests.support.numbers_api import Api
from tests.support.trunk_sync import StartSync, TrunkSync, eventually, sip_state
from trunk_sync.adapters.livekit import LiveKitPort
from trunk_sync.domain import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    OutboundTrunkSpec,
    ResourceMetadata,
)
from trunk_sync.handlers import full_reconcile

pytestmark = pytest.mark.slow

NUMBERS = 40


async def churn(api: Api, index: int, agent_id: str) -> None:
    """Create a number and assign it an agent at once: its two events go to both replicas."""
    e164 = f"+1202556{index:04d}"
    response = await api.request(
        "POST",
        "/phone-numbers",
        json={
            "phone_number": e164,
            "termination_uri": "acme.pstn.twilio.com",
            "sip_username": "u0",
            "sip_password": "p" * 12,
        },
    )
    assert response.status_code == 201, response.text
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": e164, "inbound_agent_id": agent_id},
    )
    assert response.status_code == 200, response.text


async def reconcile_repeatedly(replica: TrunkSync, until: asyncio.Event) -> int:
    """Full reconciles back to back on one replica while the burst runs; how many ran."""
    runs = 0
    while not until.is_set():
        await full_reconcile(replica.app.state.context)
        runs += 1
    return runs


Counts = dict[tuple[str, str], int]


class CreationCounter:
    """A replica's LiveKit port that counts the resources it created, per number and kind."""

    def __init__(self, port: LiveKitPort, created: Counter[tuple[str, str]]) -> None:
        self._port = port
        self._created = created

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def _count(self, meta: ResourceMetadata | None, kind: str) -> None:
        assert meta is not None
        self._created[(meta.phone_number_id, kind)] += 1

    async def create_inbound_trunk(self, spec: InboundTrunkSpec, password: str) -> str:
        """Create, then count."""
        trunk_id = await self._port.create_inbound_trunk(spec, password)
        self._count(spec.meta, "inbound")
        return trunk_id

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec, password: str) -> str:
        """Create, then count."""
        trunk_id = await self._port.create_outbound_trunk(spec, password)
        self._count(spec.meta, "outbound")
        return trunk_id

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> str:
        """Create, then count."""
        rule_id = await self._port.create_dispatch_rule(spec)
        self._count(spec.meta, "rules")
        return rule_id


def count_creations(replicas: list[TrunkSync]) -> Counter[tuple[str, str]]:
    """From now on, count what every replica creates in LiveKit."""
    created: Counter[tuple[str, str]] = Counter()
    for replica in replicas:
        ctx = replica.app.state.context
        ctx.livekit = cast(LiveKitPort, CreationCounter(ctx.livekit, created))
    return created


def resources_per_number(state: dict[str, list[dict[str, Any]]]) -> Counts:
    """How many resources of each kind LiveKit holds for each number: {(number id, kind): n}."""
    counts: Counts = {}
    for kind, items in state.items():
        for item in items:
            key = (json.loads(item["metadata"])["phone_number_id"], kind)
            counts[key] = counts.get(key, 0) + 1
    return counts


async def watch_most(lk: RunningEmulator, most: Counts, until: asyncio.Event) -> None:
    """Record the most resources of each kind ever seen at once for each number."""
    while not until.is_set():
        for key, count in resources_per_number(await sip_state(lk.control)).items():
            most[key] = max(most.get(key, 0), count)
        await asyncio.sleep(0.005)


async def all_messages_handled(replicas: list[TrunkSync]) -> bool:
    """The shared durable has handed out and seen acked every message of the stream."""
    js = replicas[0].app.state.broker.connection.jetstream()
    info = await js.consumer_info(STREAM_NAME, replicas[0].settings.consumer_durable)
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def every_number_synced_at_its_version(api: Api, lk: RunningEmulator) -> bool:
    """numbers-api shows every number synced, and LiveKit holds its latest version."""
    response = await api.request("GET", "/phone-numbers", params={"limit": 200})
    numbers = response.json()["items"]
    assert len(numbers) == NUMBERS
    outbound = (await sip_state(lk.control))["outbound"]
    held = {
        (json.loads(t["metadata"])["phone_number_id"], json.loads(t["metadata"])["version"])
        for t in outbound
    }
    for n in numbers:
        assert n["sync"]["state"] == "synced", n
        assert (n["id"], n["version"]) in held, f"{n['id']} not at version {n['version']}"
    return True


async def test_two_replicas_racing_on_the_same_numbers_leave_exactly_one_of_each_resource(
    api: Api, start_sync: StartSync, lk: RunningEmulator
) -> None:
    # One message at a time per replica, so a number's events are spread over both.
    replicas = [await start_sync(consumer_batch=1), await start_sync(consumer_batch=1)]
    created = count_creations(replicas)
    agent = await api.agent("Support")
    # A little LiveKit latency widens the window in which two replicas plan from the same view.
    await lk.control.set_faults(latency_ms=5)
    burst_done, settled = asyncio.Event(), asyncio.Event()
    most: Counts = {}
    watcher = asyncio.create_task(watch_most(lk, most, settled))
    reconciles = [asyncio.create_task(reconcile_repeatedly(r, burst_done)) for r in replicas]
    try:
        await asyncio.gather(*(churn(api, i, agent["id"]) for i in range(NUMBERS)))
    finally:
        burst_done.set()
        runs = await asyncio.gather(*reconciles)
    assert all(runs), f"each replica ran full reconciles during the burst: {runs}"
    try:
        await eventually(lambda: all_messages_handled(replicas), within_s=60, every_s=0.1)
        await eventually(
            lambda: every_number_synced_at_its_version(api, lk), within_s=30, every_s=0.1
        )
    finally:
        settled.set()
        await watcher

    twice = {key: count for key, count in created.items() if count > 1}
    assert not twice, f"resources created more than once for one number: {twice}"
    duplicated = {key: count for key, count in most.items() if count > 1}
    assert not duplicated, f"resources held twice at once for one number: {duplicated}"
    final = resources_per_number(await sip_state(lk.control))
    assert len({number_id for number_id, _ in final}) == NUMBERS
    assert set(final.values()) == {1}, f"numbers without exactly one of each resource: {final}"
    assert len(final) == 3 * NUMBERS


async def test_two_replicas_repairing_the_same_numbers_at_once_create_each_resource_once(
    api: Api, start_sync: StartSync, lk: RunningEmulator
) -> None:
    replicas = [await start_sync(), await start_sync()]
    agent = await api.agent("Support")
    await asyncio.gather(*(churn(api, i, agent["id"]) for i in range(NUMBERS)))
    await eventually(lambda: all_messages_handled(replicas), within_s=60, every_s=0.1)
    await eventually(lambda: every_number_synced_at_its_version(api, lk), within_s=30, every_s=0.1)
    # LiveKit loses everything (restored from an empty backup): both replicas find every number
    # missing in the same listing and repair them at the same time.
    await lk.control.reset()
    await lk.control.set_faults(latency_ms=3)
    created = count_creations(replicas)
    reports = await asyncio.gather(*(full_reconcile(r.app.state.context) for r in replicas))
    assert all(report.repaired == NUMBERS for report in reports), reports
    twice = {key: count for key, count in created.items() if count > 1}
    assert not twice, f"resources created more than once for one number: {twice}"

    final = resources_per_number(await sip_state(lk.control))
    assert len({number_id for number_id, _ in final}) == NUMBERS
    assert set(final.values()) == {1}, f"numbers without exactly one of each resource: {final}"
    assert len(final) == 3 * NUMBERS
