# ruff: noqa: E402 - the import path is fixed before the imports
"""Benchmark trunk-sync: how fast a change made through numbers-api shows in LiveKit (the emulator).

Prints:
- latency of 1,000 changes (PATCH of a number's termination URI until the emulator's outbound trunk
  has the new address): p50 / p99 (targets p50 <= 30 ms, p99 <= 150 ms);
- 5,000 number creations through the API until LiveKit holds all their trunks: changes/s, both end to
  end (the API's burst and the sync share the machine; the CPU each part spent per change says
  what the machine allows) and as a backlog drained by a freshly started trunk-sync (target
  >= 500/s);
- a full reconcile of ~10,000 numbers already in sync: seconds and LiveKit writes (targets <= 5 s, 0).

Everything runs here as separate processes: embedded PostgreSQL and nats-server, the LiveKit emulator
(no injected latency), numbers-api, trunk-sync; the full reconcile runs in this process.

    uv run python bench/sync.py [--changes 1000] [--burst 5000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/numbers_api.py would shadow the numbers_api package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import nats
from livekit import api as lkapi
from livekit.protocol.sip import ListSIPOutboundTrunkRequest

from numbers_api.main import MIGRATIONS
from talkifai_common import devinfra
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.bus import create_broker
from talkifai_common.crypto import generate_key
from talkifai_common.db import migrate
from trunk_sync.adapters.bus import ReconcileLease
from trunk_sync.adapters.livekit import LiveKitAdapter
from trunk_sync.adapters.numbers_api import NumbersApiClient
from trunk_sync.domain import DispatchRuleSpec, InboundTrunkSpec, OutboundTrunkSpec
from trunk_sync.handlers import Context, full_reconcile

ORG = "org_bench"
JWT_SECRET = "bench-jwt-secret-0123456789-abcdefghijkl"
INTERNAL_TOKEN = "bench-internal-token-0123456789abcdef"
LK_KEY = "bench-key"
LK_SECRET = "bench-livekit-secret-0123456789abcdef"


class CountingLiveKit(LiveKitAdapter):
    """The real adapter, counting every write."""

    writes = 0

    async def create_inbound_trunk(self, spec: InboundTrunkSpec, password: str) -> str:
        self.writes += 1
        return await super().create_inbound_trunk(spec, password)

    async def update_inbound_trunk(
        self, trunk_id: str, spec: InboundTrunkSpec, password: str
    ) -> None:
        self.writes += 1
        await super().update_inbound_trunk(trunk_id, spec, password)

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec, password: str) -> str:
        self.writes += 1
        return await super().create_outbound_trunk(spec, password)

    async def update_outbound_trunk(
        self, trunk_id: str, spec: OutboundTrunkSpec, password: str
    ) -> None:
        self.writes += 1
        await super().update_outbound_trunk(trunk_id, spec, password)

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> str:
        self.writes += 1
        return await super().create_dispatch_rule(spec)

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> None:
        self.writes += 1
        await super().update_dispatch_rule(rule_id, spec)

    async def delete_trunk(self, trunk_id: str) -> None:
        self.writes += 1
        await super().delete_trunk(trunk_id)

    async def delete_dispatch_rule(self, rule_id: str) -> None:
        self.writes += 1
        await super().delete_dispatch_rule(rule_id)


def start(args: Sequence[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """A server process, once it listens."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devinfra.wait_for_port("127.0.0.1", port, timeout_s=30)
    return process


_CPU_GROUPS = (
    ("numbers-api", "numbers_api.main"),
    ("trunk-sync", "trunk_sync.main"),
    ("emulator", "livekit-emulator"),
    ("PostgreSQL", "postgres"),
    ("NATS", "nats-server"),
)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(1000):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"{url} never became ready")


async def create_numbers(base_url: str, token: str, first: int, count: int, clients: int) -> None:
    """Create numbers with a termination URI and credentials through the API.

    Through aiohttp: httpx's pool checks every kept connection on each request, which made this
    client (a core of its own) rather than numbers-api the limit of the burst.
    """
    queue = iter(range(first, first + count))
    async with aiohttp.ClientSession(
        base_url,
        headers={"Authorization": f"Bearer {token}"},
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:

        async def post(body: dict[str, str]) -> tuple[int, str]:
            async with session.post("/phone-numbers", json=body) as response:
                return response.status, await response.text()

        async def client() -> None:
            for i in queue:
                body = {
                    "phone_number": f"+1415{i:07d}",
                    "termination_uri": "bench.pstn.twilio.com",
                    "sip_username": "bench",
                    "sip_password": "bench-password-123",
                }
                try:
                    status, text = await post(body)
                    assert status == 201, text
                except aiohttp.ClientConnectionError:
                    # A kept-alive connection the server closed: send again; 409 means the
                    # first attempt had created it.
                    status, text = await post(body)
                    assert status in (201, 409), text

        await asyncio.gather(*(client() for _ in range(clients)))


async def trunk_count(control: httpx.AsyncClient) -> tuple[int, int]:
    state = (await control.get("/emulator/state")).json()
    return len(state["inbound_trunks"]), len(state["outbound_trunks"])


class SyncedCounter:
    """Counts the numbers trunk-sync reported synced (read from NATS: no load on the emulator)."""

    def __init__(self) -> None:
        self.synced: set[str] = set()
        self.first_new_at: float | None = None  # the first number reported after `mark()`
        self._marked = 0

    def mark(self) -> None:
        """Note the numbers synced so far: `first_new_at` is then the next one's time."""
        self._marked = len(self.synced)
        self.first_new_at = None

    async def start(self, nats_url: str) -> Any:
        client = await nats.connect(nats_url)

        async def on_message(msg: Any) -> None:
            self.synced.add(json.loads(msg.data)["subject"])
            if self.first_new_at is None and len(self.synced) > self._marked:
                self.first_new_at = time.perf_counter()

        await client.subscribe("telephony.phone_number.synced", cb=on_message)
        return client

    async def wait(self, expected: int, timeout_s: float = 600) -> tuple[float, int]:
        """When `expected` numbers were reported synced (or how many at timeout)."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if len(self.synced) >= expected:
                return time.perf_counter(), len(self.synced)
            await asyncio.sleep(0.01)
        print(f"  not converged after {timeout_s:.0f} s: {len(self.synced)} of {expected}")
        return time.perf_counter(), len(self.synced)


async def change_latency(
    http: httpx.AsyncClient, livekit: lkapi.LiveKitAPI, numbers: list[dict[str, Any]], rounds: int
) -> list[float]:
    """PATCH a termination URI, then poll LiveKit until the outbound trunk has it."""
    trunks: dict[str, str] = {}
    listed = await livekit.sip.list_outbound_trunk(ListSIPOutboundTrunkRequest())
    for trunk in listed.items:
        trunks[trunk.numbers[0]] = trunk.sip_trunk_id
    samples = []
    for i in range(rounds):
        number = numbers[i % len(numbers)]
        host = f"carrier-{i}.example.com"
        trunk_id = trunks[number["phone_number"]]
        began = time.perf_counter()
        response = await http.patch(
            f"/phone-numbers/{number['id']}", json={"termination_uri": host}
        )
        assert response.status_code == 200, response.text
        while True:
            found = await livekit.sip.list_outbound_trunk(
                ListSIPOutboundTrunkRequest(trunk_ids=[trunk_id])
            )
            if found.items and found.items[0].address == host:
                break
            await asyncio.sleep(0.0005)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        devinfra.embedded_postgres(Path(tmp) / "pg") as db_url,
        devinfra.embedded_nats(Path(tmp) / "nats") as nats_url,
    ):
        await asyncio.to_thread(migrate, db_url, MIGRATIONS)
        api_port, lk_port, sync_port = (devinfra.free_port() for _ in range(3))
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "NATS_URL": nats_url,
            "AUTH_JWT_SECRET": JWT_SECRET,
            "FERNET_KEYS": generate_key(),
            "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
            "NUMBERS_API_PORT": str(api_port),
            "NUMBERS_API_URL": f"http://127.0.0.1:{api_port}",
            "LIVEKIT_URL": f"http://127.0.0.1:{lk_port}",
            "LIVEKIT_API_KEY": LK_KEY,
            "LIVEKIT_API_SECRET": LK_SECRET,
            "TRUNK_SYNC_PORT": str(sync_port),
            "RECONCILE_INTERVAL_S": "60",
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            # The benchmark's carrier hosts (bench.pstn.twilio.com...) do not resolve offline.
            "ALLOW_PRIVATE_SIP_DESTINATIONS": "true",
        }
        bin_dir = Path(sys.executable).parent
        emulator = start(
            [
                str(bin_dir / "livekit-emulator"),
                "--host",
                "127.0.0.1",
                "--port",
                str(lk_port),
                "--no-sip",
            ],
            {**env, "LIVEKIT_EMULATOR_PORT": str(lk_port)},
            lk_port,
        )
        numbers_api = start([sys.executable, "-m", "numbers_api.main"], env, api_port)
        processes = [emulator, numbers_api]
        sync = start([sys.executable, "-m", "trunk_sync.main"], env, sync_port)
        processes.append(sync)
        token = issue_hs256_token(JWT_SECRET, sub="bench", org_id=ORG, role=Role.OWNER)
        try:
            api_url = f"http://127.0.0.1:{api_port}"
            await wait_ready(api_url)
            await wait_ready(f"http://127.0.0.1:{sync_port}")
            async with (
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{api_port}",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                    limits=httpx.Limits(max_connections=args.clients),
                ) as http,
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{lk_port}", timeout=30) as control,
            ):
                livekit = lkapi.LiveKitAPI(f"http://127.0.0.1:{lk_port}", LK_KEY, LK_SECRET)
                # 1. Latency of single changes.
                counter = SyncedCounter()
                nc = await counter.start(nats_url)
                await create_numbers(api_url, token, 0, 20, 4)
                await counter.wait(20, 60)
                numbers = (await http.get("/phone-numbers", params={"limit": 20})).json()["items"]
                await change_latency(http, livekit, numbers, 50)  # warm-up
                samples = await change_latency(http, livekit, numbers, args.changes)
                print(
                    f"change -> LiveKit over {len(samples)} changes: p50 "
                    f"{statistics.median(samples):.1f} ms, p99 {pct(samples, 0.99):.1f} ms "
                    "(targets p50 <= 30 ms, p99 <= 150 ms)"
                )

                # 2a. A burst of creations through the API, trunk-sync running.
                cpu_before = devinfra.cpu_seconds(_CPU_GROUPS)
                began = time.perf_counter()
                await create_numbers(api_url, token, 1000, args.burst, args.clients)
                api_done = time.perf_counter()
                done, synced = await counter.wait(20 + args.burst)
                print(
                    f"{args.burst} creations end to end: API {args.burst / (api_done - began):.0f}"
                    f" creations/s, {synced - 20} synced {done - began:.1f} s after the first: "
                    f"{(synced - 20) / (done - began):.0f} changes/s (target >= 500/s)"
                )
                print(
                    devinfra.cpu_report(
                        cpu_before, devinfra.cpu_seconds(_CPU_GROUPS), synced - 20, "change"
                    )
                )

                # 2b. The same as a backlog: trunk-sync stopped, numbers created, trunk-sync
                # started (the bench holds the reconcile lease, so only the consumer works).
                sync.terminate()
                sync.wait(timeout=20)
                processes.remove(sync)
                broker = create_broker(nats_url, name="bench")
                await broker.connect()
                lease = ReconcileLease(broker, "bench", ttl_s=900)
                held = await lease.acquire()

                async def renew() -> None:
                    while True:
                        await asyncio.sleep(20)
                        await lease.acquire()

                renewing = asyncio.create_task(renew())
                await create_numbers(api_url, token, 100_000, args.burst, args.clients)
                counter.mark()
                began = time.perf_counter()
                sync = start([sys.executable, "-m", "trunk_sync.main"], env, sync_port)
                processes.append(sync)
                done, synced = await counter.wait(20 + 2 * args.burst)
                drained = synced - 20 - args.burst
                first = counter.first_new_at or began
                print(
                    f"{args.burst} creations as a backlog (lease held by the bench: {held}): "
                    f"{drained} synced {done - began:.1f} s after trunk-sync started (process "
                    f"start included): {drained / (done - began):.0f} changes/s; from its first "
                    f"result ({first - began:.1f} s after the start) to the last: "
                    f"{(drained - 1) / max(done - first, 1e-9):.0f} changes/s (target >= 500/s)"
                )
                renewing.cancel()
                await lease.release()
                await broker.stop()
                await nc.close()
                print(f"  LiveKit holds {await trunk_count(control)} inbound/outbound trunks")

                # 3. A full reconcile of everything, all in sync.
                await asyncio.sleep(1.0)
                counting = CountingLiveKit(
                    f"http://127.0.0.1:{lk_port}", LK_KEY, LK_SECRET, timeout_s=30
                )
                client = NumbersApiClient(
                    f"http://127.0.0.1:{api_port}", INTERNAL_TOKEN, timeout_s=30
                )
                ctx = Context(livekit=counting, numbers=client, results=_NoResults())
                began = time.perf_counter()
                report = await full_reconcile(ctx)
                elapsed = time.perf_counter() - began
                print(
                    f"full reconcile of {report.numbers} numbers ({report.in_sync} in sync): "
                    f"{elapsed:.2f} s, {counting.writes} LiveKit writes, "
                    f"{_NoResults.published} results published (targets <= 5 s, 0 writes)"
                )
                await counting.aclose()
                await client.aclose()
                await livekit.aclose()
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)


class _NoResults:
    """Results are counted, not published (the numbers are in sync: none are expected)."""

    published = 0

    async def publish(self, event: Any) -> None:
        _NoResults.published += 1

    async def dead_letter(
        self, subject: str, payload: bytes, *, reason: str, error: str, deliveries: int
    ) -> None:
        raise AssertionError(error)


if __name__ == "__main__":
    asyncio.run(main())
