"""Chaos testing support: services as real processes that can be killed, and exact accounting.

`Service` runs one process (nats-server, numbers-api, trunk-sync) on a fixed port, killed with
SIGKILL and started again on the same port. `Ledger` records what numbers-api acknowledged;
`account` compares every committed change (numbers-api's current data plus the versions the stream
names) with the events on `TELEPHONY`, and `livekit_drift` compares LiveKit with the desired state.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import nats
from livekit import api as lkapi
from nats.js.errors import NotFoundError

from talkifai_common import carriers, devinfra
from talkifai_common.events import STREAM_NAME
from tests.support.numbers_api import Api

NUMBER_EVENTS = ("created", "updated", "deleted")


class Service:
    """A process on a fixed port that a test kills (SIGKILL) and starts again."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: dict[str, str],
        port: int,
        log_dir: Path,
        ready_path: str | None = "/healthz",
    ) -> None:
        self.name = name
        self.port = port
        self._command = list(command)
        self._env = env
        self._log_path = log_dir / f"{name}.log"
        self._ready_path = ready_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the process and wait until it answers on its port."""
        self._log = self._log_path.open("ab")
        self._process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, not awaited
            self._command, env=self._env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.starts += 1
        await wait_until(self._answers, within_s=30, what=f"{self.name} to start")

    async def _answers(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self._process.returncode}")
        if self._ready_path is None:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            await writer.wait_closed()
            return True
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                response = await http.get(f"http://127.0.0.1:{self.port}{self._ready_path}")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is lost."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(self._process.wait)
        self._close_log()

    async def stop(self) -> None:
        """Stop gracefully (the end of the test)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                await asyncio.to_thread(self._process.wait, 15)
            except subprocess.TimeoutExpired:
                await self.kill()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within_s: float, what: str, every_s: float = 0.05
) -> None:
    """Until `check` returns True; an AssertionError it raises ends the wait at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(every_s)


def nats_command(store: Path, port: int) -> list[str]:
    """nats-server with JetStream, its store kept across restarts."""
    return [
        devinfra.nats_server_binary(),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-js",
        "-sd",
        str(store),
    ]


@dataclass
class Ledger:
    """What the burst asked of numbers-api and what it acknowledged."""

    acknowledged: set[tuple[str, str, int | None]] = field(default_factory=set)
    attempted: int = 0
    uncertain: int = 0  # the connection broke after the request was sent: committed or not
    refused_connections: int = 0  # numbers-api down: retried, nothing was sent
    server_errors: list[str] = field(default_factory=list)

    def ack(self, kind: str, number_id: str, version: int | None) -> None:
        """numbers-api answered 2xx: the change is committed."""
        self.acknowledged.add((kind, number_id, version))


class Uncertain(Exception):
    """The request reached numbers-api but no answer came back."""


async def mutate(api: Api, ledger: Ledger, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One mutation through the HTTP API; waits out numbers-api being down (nothing sent then)."""
    ledger.attempted += 1
    while True:
        try:
            response = await api.request(method, path, **kwargs)
        except httpx.ConnectError:
            ledger.refused_connections += 1
            await asyncio.sleep(0.1)
            continue
        except httpx.TransportError as exc:
            ledger.uncertain += 1
            raise Uncertain(f"{method} {path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            ledger.server_errors.append(f"{method} {path}: {response.status_code} {response.text}")
            raise Uncertain(f"{method} {path}: {response.status_code}")
        assert response.status_code < 400, f"{method} {path}: {response.text}"
        return response


async def telephony_events(nats_url: str) -> list[dict[str, Any]]:
    """Every CloudEvent on the `TELEPHONY` stream, in stream order."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        state = (await js.stream_info(STREAM_NAME)).state
        events = []
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                message = await js.get_msg(STREAM_NAME, seq)
            except NotFoundError:
                continue
            assert message.data is not None
            events.append(json.loads(message.data))
        return events
    finally:
        await nc.close()


async def current_numbers(api: Api) -> dict[str, dict[str, Any]]:
    """Every number numbers-api holds now (its committed state), by id."""
    numbers: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        response = await api.request("GET", "/phone-numbers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        numbers.update({n["id"]: n for n in page["items"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return numbers


@dataclass
class Accounting:
    """Committed changes against the events that report them."""

    committed: int
    events: int
    lost: list[str]
    duplicated: list[str]
    phantom: list[str]
    unacknowledged: list[str]  # acknowledged by numbers-api, absent from its data and events


def account(
    events: list[dict[str, Any]], numbers: dict[str, dict[str, Any]], ledger: Ledger
) -> Accounting:
    """Every committed change of a number has exactly one event, by entity id and version.

    A number at version V committed `created` at 1 and `updated` at 2..V, and `deleted` at V when
    numbers-api no longer has it; a deleted number's V is its `deleted` event's version.
    """
    seen: Counter[tuple[str, str, int]] = Counter()
    for event in events:
        kind = event["type"].removeprefix("talkifai.telephony.phone_number.").removesuffix(".v1")
        if kind in NUMBER_EVENTS:
            seen[(kind, event["data"]["id"], event["data"]["version"])] += 1
    ids = {key[1] for key in seen} | {key[1] for key in ledger.acknowledged} | set(numbers)
    expected: set[tuple[str, str, int]] = set()
    lost: list[str] = []
    for number_id in ids:
        if number_id in numbers:
            final = numbers[number_id]["version"]
        else:
            deletions = [v for k, i, v in seen if k == "deleted" and i == number_id]
            if not deletions:
                lost.append(f"deleted {number_id} (gone from numbers-api, no event)")
                continue
            final = max(deletions)
            expected.add(("deleted", number_id, final))
        expected.add(("created", number_id, 1))
        expected.update(("updated", number_id, v) for v in range(2, final + 1))
    lost += [f"{k} {i} v{v}" for k, i, v in sorted(expected - set(seen))]
    duplicated = [f"{k} {i} v{v} x{n}" for (k, i, v), n in sorted(seen.items()) if n > 1]
    phantom = [f"{k} {i} v{v}" for k, i, v in sorted(set(seen) - expected)]
    unacknowledged = [
        f"{k} {i} v{v}"
        for k, i, v in sorted(ledger.acknowledged, key=str)
        if (i in numbers if k == "deleted" else (k, i, v) not in expected)
    ]
    return Accounting(
        committed=len(expected),
        events=sum(seen.values()),
        lost=lost,
        duplicated=duplicated,
        phantom=phantom,
        unacknowledged=unacknowledged,
    )


def inbound_sources(number: dict[str, Any]) -> list[str]:
    """The addresses a number's inbound trunk should accept calls from (none: any)."""
    if number["inbound_allow_any_source"]:
        return []
    if number["inbound_allowed_addresses"] is not None:
        return list(number["inbound_allowed_addresses"])
    return list(carriers.profile(number["carrier"]).signalling_addresses)


async def livekit_drift(livekit: lkapi.LiveKitAPI, numbers: dict[str, dict[str, Any]]) -> list[str]:
    """How LiveKit differs from the desired state of `numbers`: missing, duplicate, stale, orphan."""
    inbound = (await livekit.sip.list_inbound_trunk(lkapi.ListSIPInboundTrunkRequest())).items
    outbound = (await livekit.sip.list_outbound_trunk(lkapi.ListSIPOutboundTrunkRequest())).items
    rules = (await livekit.sip.list_dispatch_rule(lkapi.ListSIPDispatchRuleRequest())).items
    held: dict[str, dict[str, list[Any]]] = {}
    for kind, items in (("inbound", inbound), ("outbound", outbound), ("rules", rules)):
        for item in items:
            number_id = json.loads(item.metadata)["phone_number_id"]
            held.setdefault(number_id, {"inbound": [], "outbound": [], "rules": []})[kind].append(
                item
            )
    drift = [f"orphan resources of {i}" for i in sorted(set(held) - set(numbers))]
    for number_id, n in sorted(numbers.items()):
        mine = held.get(number_id, {"inbound": [], "outbound": [], "rules": []})
        want_out, want_rule = bool(n["termination_uri"]), n["inbound_agent"] is not None
        counts = (len(mine["inbound"]), len(mine["outbound"]), len(mine["rules"]))
        if counts != (1, int(want_out), int(want_rule)):
            drift.append(f"{number_id} holds {counts} inbound/outbound/rules")
            continue
        if list(mine["inbound"][0].numbers) != [n["phone_number"]]:
            drift.append(f"{number_id} inbound trunk numbers {list(mine['inbound'][0].numbers)}")
        if list(mine["inbound"][0].allowed_addresses) != inbound_sources(n):
            drift.append(f"{number_id} inbound trunk takes calls from other addresses")
        if want_out:
            trunk = mine["outbound"][0]
            if json.loads(trunk.metadata).get("version") != n["version"]:
                drift.append(f"{number_id} outbound trunk not at version {n['version']}")
            elif trunk.address != n["termination_uri"] or trunk.auth_username != (
                n["sip_username"] or ""
            ):
                drift.append(f"{number_id} outbound trunk differs")
        if want_rule:
            [dispatch] = mine["rules"][0].room_config.agents
            agent_id = json.loads(dispatch.metadata)["agent_id"]
            if agent_id != n["inbound_agent"]["id"]:
                drift.append(f"{number_id} rule dispatches {agent_id}")
            if list(mine["rules"][0].trunk_ids) != [mine["inbound"][0].sip_trunk_id]:
                drift.append(f"{number_id} rule bound to another trunk")
        if n["sync"]["state"] != "synced":
            drift.append(f"{number_id} sync {n['sync']}")
    return drift
