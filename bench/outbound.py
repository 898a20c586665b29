"""Benchmark call-orchestrator's outbound call path against the LiveKit emulator.

Two measurements of the service, each against the emulator's own `CreateSIPParticipant` called
directly, and the floor under the first:
- overhead at 50 concurrent calls: every callee answers after `--ring-ms` (1 s, a quick answer
  by telephone standards) and the 50 clients start spread over that time, so 50 calls are in
  progress at once and new ones arrive steadily, as in production; the service's share is its
  latency minus the direct one (targets p50 <= 3 ms, p99 <= 15 ms), with each process's CPU time
  per call (ringing included) at that load;
- set-ups per second with an instantly answering emulator and 50 clients back to back (target
  >= 300/s). This saturates the machine, so its latencies are queueing (clients / rate, Little's
  law) rather than overhead; they are printed too, with each process's CPU time per call set-up
  and the rate the machine's cores allow at that cost;
- the floor: the first measurement's overhead through bench/reference_proxy.py, a bare FastAPI
  route forwarding the call with none of the service's work (what one HTTP hop through Python
  costs on this machine), and this machine's PostgreSQL round trips back to back and after 20 ms
  idle (a call's steps are separated by waits, so each wakes processes that were asleep).
Everything runs here: embedded PostgreSQL and nats-server, the emulator and call-orchestrator as
separate processes, an aiohttp client.

    uv run python bench/outbound.py [--calls 3000] [--ringing-calls 1000] [--ring-ms 1000]
        [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import nats
from livekit import api as lkapi

from call_orchestrator.main import MIGRATIONS
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import ALL_KEYS, RuntimeCapabilities, advertise
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.db import migrate

ORG = "org_bench"
SECRET = "bench-jwt-secret-0123456789-abcdefghijkl"
LK_KEY, LK_SECRET = "benchkey", "bench-livekit-secret-0123456789abcdef"
FROM = "+12025550100"
AGENT = "agent_bench0001"
CPU_GROUPS = (
    ("call-orchestrator", "call-orchestrator serve"),
    ("emulator", "livekit-emulator"),
    ("PostgreSQL", "postgres"),
    ("NATS", "nats-server"),
)


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devinfra.wait_for_port("127.0.0.1", port, timeout_s=30)
    return process


async def seed(database_url: str, trunk_id: str) -> None:
    conn = await asyncpg.connect(database_url)
    if os.environ.get("BENCH_ASYNC_COMMIT"):
        await conn.execute("ALTER DATABASE postgres SET synchronous_commit = off")
    await conn.execute(
        "INSERT INTO agents (id, org_id, name, architecture, version) "
        "VALUES ($1, $2, 'Bench Agent', 'pipeline', 1)",
        AGENT,
        ORG,
    )
    await conn.execute(
        "INSERT INTO phone_numbers (id, org_id, phone_number, outbound_agent_id, "
        "outbound_agent_name, outbound_agent_arch, version) "
        "VALUES ('pn_bench', $1, $2, $3, 'Bench Agent', 'pipeline', 1)",
        ORG,
        FROM,
        AGENT,
    )
    await conn.execute(
        "INSERT INTO phone_number_sync (phone_number_id, version, state, outbound_trunk_id, at) "
        "VALUES ('pn_bench', 1, 'synced', $1, now())",
        trunk_id,
    )
    await conn.close()


async def run_concurrently(
    clients: int, calls: int, one: object, spread_s: float = 0.0
) -> tuple[list[float], float]:
    """Run `calls` calls of `one(i)` with `clients` at a time; latencies (ms) and elapsed (s).
    Client k starts after k/clients of `spread_s`, so calls of equal length do not move in waves."""
    assert callable(one)
    counter = itertools.count()
    samples: list[float] = []

    async def client(k: int) -> None:
        await asyncio.sleep(spread_s * k / clients)
        while (i := next(counter)) < calls:
            started = time.perf_counter()
            await one(i)
            samples.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return samples, time.perf_counter() - began


async def direct(
    lk_url: str, trunk_id: str, clients: int, calls: int, prefix: str, spread_s: float = 0.0
) -> tuple[list[float], float]:
    api = lkapi.LiveKitAPI(lk_url, LK_KEY, LK_SECRET, failover=False)

    async def one(i: int) -> None:
        request = lkapi.CreateSIPParticipantRequest(
            sip_trunk_id=trunk_id,
            sip_call_to=f"+1{prefix}{i:07d}",
            sip_number=FROM,
            room_name=f"direct_{prefix}_{i}",
            participant_identity=f"sip_{i}",
            wait_until_answered=True,
        )
        request.ringing_timeout.seconds = 30
        await api.sip.create_sip_participant(request)

    try:
        return await run_concurrently(clients, calls, one, spread_s)
    finally:
        await api.aclose()


def stand_in_runtime() -> RuntimeCapabilities:
    """An agent-runtime with every provider key (none runs in this benchmark)."""
    return RuntimeCapabilities(
        instance_id="art_bench",
        agent_name="talkifai-agent",
        key_variables=tuple(sorted(ALL_KEYS)),
        at=datetime.now(UTC),
    )


async def wait_for_runtime(base_url: str) -> None:
    """Until the service sees the stand-in agent-runtime (its calls are no longer 503)."""
    token = issue_hs256_token(SECRET, sub="bench", org_id=ORG, role=Role.MEMBER)
    async with aiohttp.ClientSession(
        base_url, headers={"Authorization": f"Bearer {token}"}
    ) as session:
        for i in range(200):
            body = {"to_number": f"+1304{i:07d}", "from_number": FROM}
            async with session.post("/telephony/outbound-call", json=body) as response:
                if response.status != 503:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError("call-orchestrator never saw the stand-in agent-runtime")


async def program_ringing(lk_url: str, prefix: str, calls: int, ring_ms: int) -> None:
    """Make every callee `+1<prefix><i>` answer after `ring_ms`."""
    async with aiohttp.ClientSession(lk_url) as session:
        for i in range(calls):
            body = {"number": f"+1{prefix}{i:07d}", "sip_status_code": 200, "ring_ms": ring_ms}
            async with session.post("/emulator/outcomes", json=body) as response:
                response.raise_for_status()


async def through_reference_proxy(
    env: dict[str, str], lk_url: str, trunk_id: str, clients: int, calls: int, ring_ms: int
) -> tuple[list[float], list[float]]:
    """Direct and bench/reference_proxy.py latencies of ringing calls, measured side by side."""
    port = devinfra.free_port()
    proxy = start(
        [sys.executable, str(Path(__file__).with_name("reference_proxy.py")), str(port)],
        {**env, "REFERENCE_TRUNK_ID": trunk_id},
        port,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        await through_service(base_url, clients, 300, "304", [])
        await program_ringing(lk_url, "630", calls, ring_ms)
        await program_ringing(lk_url, "631", calls, ring_ms)
        baseline, _ = await direct(lk_url, trunk_id, clients, calls, "630", ring_ms / 1000)
        samples, _ = await through_service(base_url, clients, calls, "631", [], ring_ms / 1000)
        return baseline, samples
    finally:
        proxy.terminate()
        proxy.wait(timeout=15)


async def idle_round_trips(database_url: str, rounds: int = 150, idle_s: float = 0.02) -> str:
    """PostgreSQL round trips on this machine, back to back and each after `idle_s` asleep."""
    conn = await asyncpg.connect(database_url)
    try:
        # A logged table and synchronous commit (whatever BENCH_ASYNC_COMMIT set): each insert
        # waits for its WAL flush, as the service's writes do.
        await conn.execute("SET synchronous_commit = on")
        await conn.execute("CREATE TABLE bench_idle_probe (id bigserial, at timestamptz)")
        statements = {
            "SELECT 1": "SELECT 1",
            "durable INSERT": "INSERT INTO bench_idle_probe (at) VALUES (now())",
        }
        parts = []
        for label, sql in statements.items():
            figures = []
            for pause in (0.0, idle_s):
                samples = []
                for _ in range(rounds):
                    if pause:
                        await asyncio.sleep(pause)
                    started = time.perf_counter()
                    await conn.execute(sql)
                    samples.append((time.perf_counter() - started) * 1000)
                figures.append(pct(samples, 0.5))
            parts.append(f"{label} {figures[0]:.2f} ms back to back, {figures[1]:.2f} after idle")
        await conn.execute("DROP TABLE bench_idle_probe")
    finally:
        await conn.close()
    return (
        f"  this machine's PostgreSQL round trips (p50, idle {idle_s * 1000:.0f} ms): "
        + "; ".join(parts)
    )


def server_timing(header: str) -> dict[str, float]:
    """`Server-Timing` as {name: ms}."""
    out: dict[str, float] = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


async def through_service(
    base_url: str,
    clients: int,
    calls: int,
    prefix: str,
    timings: list[dict[str, float]],
    spread_s: float = 0.0,
) -> tuple[list[float], float]:
    token = issue_hs256_token(SECRET, sub="bench", org_id=ORG, role=Role.MEMBER)
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=headers) as session:

        async def one(i: int) -> None:
            body = {"to_number": f"+1{prefix}{i:07d}", "from_number": FROM}
            async with session.post("/telephony/outbound-call", json=body) as response:
                await response.read()
                assert response.status == 200, (response.status, await response.text())
                timings.append(server_timing(response.headers.get("Server-Timing", "")))

        return await run_concurrently(clients, calls, one, spread_s)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--ringing-calls", type=int, default=1000)
    parser.add_argument("--ring-ms", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        devinfra.embedded_postgres(Path(tmp) / "pg") as database_url,
        devinfra.embedded_nats(Path(tmp) / "nats") as nats_url,
    ):
        await asyncio.to_thread(migrate, database_url, MIGRATIONS)
        lk_port, service_port = devinfra.free_port(), devinfra.free_port()
        bin_dir = Path(sys.executable).parent
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "AUTH_JWT_SECRET": SECRET,
            "INTERNAL_API_TOKEN": "bench-internal-token-0123456789",
            "WEBHOOK_SIGNING_SECRET": "bench-webhook-secret-0123456789",
            "LIVEKIT_URL": f"http://127.0.0.1:{lk_port}",
            "LIVEKIT_API_KEY": LK_KEY,
            "LIVEKIT_API_SECRET": LK_SECRET,
            "CALL_ORCHESTRATOR_PORT": str(service_port),
            "MAX_CONCURRENT_CALLS_PER_ORG": "1000000",
            "DATABASE_POOL_MAX": os.environ.get("DATABASE_POOL_MAX", "20"),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        emulator = start(
            [
                str(bin_dir / "livekit-emulator"),
                "--host",
                "127.0.0.1",
                "--port",
                str(lk_port),
                "--api-key",
                LK_KEY,
                "--api-secret",
                LK_SECRET,
                "--no-sip",
            ],
            env,
            lk_port,
        )
        service = None
        bus = await nats.connect(nats_url)
        # No agent-runtime here: a stand-in advertises one, or every call would be refused.
        runtime = asyncio.create_task(advertise(bus.jetstream(), stand_in_runtime))
        try:
            lk_url = f"http://127.0.0.1:{lk_port}"
            api = lkapi.LiveKitAPI(lk_url, LK_KEY, LK_SECRET, failover=False)
            trunk = await api.sip.create_outbound_trunk(
                lkapi.CreateSIPOutboundTrunkRequest(
                    trunk=lkapi.SIPOutboundTrunkInfo(
                        name="bench", address="bench.pstn.example.com", numbers=[FROM]
                    )
                )
            )
            await api.aclose()
            await seed(database_url, trunk.sip_trunk_id)
            service = start([str(bin_dir / "call-orchestrator"), "serve"], env, service_port)
            base_url = f"http://127.0.0.1:{service_port}"
            await wait_for_runtime(base_url)

            warm = min(300, args.calls)
            await direct(lk_url, trunk.sip_trunk_id, args.clients, warm, "415")
            await through_service(base_url, args.clients, warm, "303", [])
            await program_ringing(lk_url, "628", args.ringing_calls, args.ring_ms)
            await program_ringing(lk_url, "629", args.ringing_calls, args.ring_ms)
            spread = args.ring_ms / 1000
            ringing_direct, _ = await direct(
                lk_url, trunk.sip_trunk_id, args.clients, args.ringing_calls, "628", spread
            )
            ringing_timings: list[dict[str, float]] = []
            ringing_cpu_before = devinfra.cpu_seconds(CPU_GROUPS)
            ringing, _ = await through_service(
                base_url, args.clients, args.ringing_calls, "629", ringing_timings, spread
            )
            ringing_cpu = devinfra.cpu_report(
                ringing_cpu_before, devinfra.cpu_seconds(CPU_GROUPS), args.ringing_calls, "call"
            )
            reference_direct, reference_samples = await through_reference_proxy(
                env, lk_url, trunk.sip_trunk_id, args.clients, args.ringing_calls, args.ring_ms
            )
            round_trips = await idle_round_trips(database_url)
            instant_direct, direct_elapsed = await direct(
                lk_url, trunk.sip_trunk_id, args.clients, args.calls, "416"
            )
            timings: list[dict[str, float]] = []
            cpu_before = devinfra.cpu_seconds(CPU_GROUPS)
            samples, elapsed = await through_service(
                base_url, args.clients, args.calls, "202", timings
            )
            cpu = devinfra.cpu_report(
                cpu_before, devinfra.cpu_seconds(CPU_GROUPS), args.calls, "call set-up"
            )
        finally:
            for process in (service, emulator):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=15)
            runtime.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runtime
            await bus.close()

    print(
        f"Overhead: {args.ringing_calls} calls, {args.clients} in progress at once, "
        f"each answered after {args.ring_ms} ms"
    )
    report(ringing_direct, ringing, ringing_timings)
    print(ringing_cpu)
    print(
        "  the floor, a bare FastAPI route forwarding the same call (bench/reference_proxy.py): "
        f"overhead p50 {pct(reference_samples, 0.5) - pct(reference_direct, 0.5):.2f} ms"
    )
    print(round_trips)
    print(
        f"Throughput: {args.calls} calls, {args.clients} clients back to back, "
        "instantly answering emulator (saturated: latencies are queueing)"
    )
    report(instant_direct, samples, timings)
    print(
        f"  call set-ups per second:                {args.calls / elapsed:8.0f}   (target >= 300/s;"
        f" the emulator alone: {args.calls / direct_elapsed:.0f}/s)"
    )
    print(cpu)


def report(baseline: list[float], samples: list[float], timings: list[dict[str, float]]) -> None:
    """Direct and service latencies, their difference, and the service's own segments."""
    d50, d99 = pct(baseline, 0.50), pct(baseline, 0.99)
    s50, s99 = pct(samples, 0.50), pct(samples, 0.99)
    print(f"  emulator CreateSIPParticipant (direct): p50 {d50:7.2f} ms  p99 {d99:7.2f} ms")
    print(f"  POST /telephony/outbound-call:          p50 {s50:7.2f} ms  p99 {s99:7.2f} ms")
    print(
        f"  overhead:                               p50 {s50 - d50:7.2f} ms  p99 {s99 - d99:7.2f} ms"
        "   (targets p50 <= 3 ms, p99 <= 15 ms)"
    )
    print("  inside the service (Server-Timing):")
    for name in ("lookup", "create", "dispatch", "dial", "answer", "total"):
        samples_ms = [t.get(name, 0.0) for t in timings]
        print(
            f"    {name:9} p50 {pct(samples_ms, 0.5):7.2f} ms  p99 {pct(samples_ms, 0.99):7.2f} ms"
        )
    ours = [t["total"] - t.get("dial", 0.0) for t in timings]
    print(
        f"    total - dial (the service's own time, LiveKit's dial excluded): "
        f"p50 {pct(ours, 0.5):.2f} ms  p99 {pct(ours, 0.99):.2f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
