"""Benchmark a campaign: 10,000 rows dialed by call-orchestrator's scheduler against the emulator.

Creates the campaign through `POST /campaigns` (JSON rows), starts it and waits until every row
is final; every callee answers and hangs up after `--talk-ms`. Prints the achieved dial rate
against the configured one (from the attempts table and from the emulator's record of
CreateSIPParticipant), the concurrency seen by the emulator, the latency from an attempt's slot
to LiveKit receiving its dial, and the scheduler's own database work per dial (its claim
transaction, timed in this process on a second campaign) beside two floors measured in the same
run, alternating: a bare transaction of the same I/O (lock a row, insert one, update two) and a
bare CreateSIPParticipant to the emulator. Everything runs here: embedded PostgreSQL and
nats-server, the emulator in this process, call-orchestrator as its own process.

    uv run python bench/campaign.py [--rows 10000] [--rate 50] [--max-concurrent 50]
        [--talk-ms 200] [--claims 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import nats
from livekit import api as lkapi
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support

from call_orchestrator.adapters.postgres import CampaignDialStore, Claimed
from call_orchestrator.domain import new_call_id
from call_orchestrator.main import MIGRATIONS
from livekit_emulator.testing import running_emulator, test_config
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import advertise
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.bus import stream_config
from talkifai_common.db import create_pool, migrate
from talkifai_common.events import (
    EventName,
    LiveKitResources,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from tests.support.agent_runtimes import every_key_runtime
from tests.support.call_orchestrator import agent_data, number_data

ORG = "org_bench"
SECRET = "bench-jwt-secret-0123456789-abcdefghijkl"
KEY, LK_SECRET = "benchkey", "bench-livekit-secret-0123456789abcdef"
FROM = "+12025550100"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def figures(samples: list[float]) -> str:
    return (
        f"p50 {statistics.median(samples):6.2f}  p95 {pct(samples, 0.95):6.2f}  "
        f"p99 {pct(samples, 0.99):6.2f} ms"
    )


async def publish(js: object, name: EventName, subject: str, data: BaseModel) -> None:
    event = new_event(name, source="bench", subject=subject, orgid=ORG, data=data)
    await js.publish(  # type: ignore[attr-defined]
        name.subject,
        event.model_dump_json().encode(),
        headers={"Nats-Msg-Id": event.id},
    )


async def seed_number(nats_url: str, livekit: lkapi.LiveKitAPI, db_url: str) -> str:
    """The organization's number with an outbound agent and trunk, as the events make it."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    with contextlib.suppress(Exception):
        await js.add_stream(config=stream_config())
    agent = agent_data("agent_bench")
    await publish(js, EventName.AGENT_CREATED, agent.id, agent)
    number = number_data("pn_bench", FROM, outbound=agent)
    await publish(js, EventName.PHONE_NUMBER_CREATED, number.id, number)
    trunk = await livekit.sip.create_outbound_trunk(
        lkapi.CreateSIPOutboundTrunkRequest(
            trunk=lkapi.SIPOutboundTrunkInfo(
                name="bench", address="example.pstn.twilio.com", numbers=[FROM]
            )
        )
    )
    synced = PhoneNumberSyncData(
        phone_number_id=number.id,
        phone_number=FROM,
        version=1,
        state=SyncState.SYNCED,
        resources=LiveKitResources(outbound_trunk_id=trunk.sip_trunk_id),
        at=datetime.now(UTC),
    )
    await publish(js, EventName.PHONE_NUMBER_SYNCED, number.id, synced)
    await nc.close()
    conn = await asyncpg.connect(db_url)
    try:
        for _ in range(500):
            if await conn.fetchval(
                "SELECT outbound_trunk_id FROM phone_number_sync WHERE phone_number_id = $1",
                number.id,
            ):
                return agent.id
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    raise RuntimeError("the read model never got the number")


def start_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devinfra.wait_for_port("127.0.0.1", port, timeout_s=30)
    return process


async def run_campaign(
    base: str, headers: dict[str, str], agent_id: str, args: argparse.Namespace
) -> tuple[str, float, float]:
    rows = [{"to_number": f"+1303{n:07d}", "metadata": {"n": n}} for n in range(args.rows)]
    body = {
        "name": "bench",
        "agent_id": agent_id,
        "from_numbers": [FROM],
        "rows": rows,
        "pacing": {"calls_per_second": args.rate, "max_concurrent": args.max_concurrent},
        "retry": {"max_attempts": 1, "delay_s": 0},
    }
    async with aiohttp.ClientSession(base_url=base, headers=headers) as http:
        started = time.perf_counter()
        async with http.post("/campaigns", json=body) as response:
            created = await response.json()
            assert response.status == 201, created
        create_s = time.perf_counter() - started
        campaign_id = created["id"]
        async with http.post(f"/campaigns/{campaign_id}/start") as response:
            assert response.status == 200, await response.text()
        started = time.perf_counter()
        while True:
            async with http.get(f"/campaigns/{campaign_id}") as response:
                campaign = await response.json()
            if campaign["status"] == "completed":
                break
            await asyncio.sleep(0.5)
        return campaign_id, create_s, time.perf_counter() - started


async def claim_overhead(db_url: str, claims: int) -> tuple[list[float], list[float]]:
    """The scheduler's claim transaction against a second running campaign, and the floor (the
    same I/O bare: lock a row, insert one, update two), alternating."""
    pool = await create_pool(db_url, min_size=1, max_size=2)
    store = CampaignDialStore(pool)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    async with pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO campaigns (id, org_id, name, status, agent_id, agent_name, from_numbers,
                pacing, retry, total_rows, created_by, created_at, updated_at)
            VALUES ('cmp_overhead', 'org_overhead', 'overhead', 'running', 'agent_bench', 'Bench',
                    ARRAY[$1], '{"calls_per_second": 100, "max_concurrent": 10000}',
                    '{"max_attempts": 1, "delay_s": 0}', $2, 'bench', now(), now())
            """,
            FROM,
            claims,
        )
        await conn.executemany(
            "INSERT INTO campaign_rows (id, campaign_id, line, to_number, zones)"
            " VALUES ($1, 'cmp_overhead', $2, $3, ARRAY['UTC'])",
            [(f"cmr_overhead_{n}", n, f"+1404{n:07d}") for n in range(1, claims + 1)],
        )
        await conn.execute("CREATE TABLE floor_parent (id int PRIMARY KEY, n bigint)")
        await conn.execute("INSERT INTO floor_parent VALUES (1, 0)")
        await conn.execute(
            "CREATE TABLE floor_child (id bigserial PRIMARY KEY, parent int, payload text)"
        )
    ours: list[float] = []
    floor: list[float] = []
    for n in range(claims):
        now += timedelta(seconds=1)  # past the pace: every claim dials
        started = time.perf_counter()
        claimed = await store.claim(
            owner="bench",
            now=now,
            lease_s=30,
            org_limit=100_000,
            reserved=0,
            skip=[],
            new_call_id=new_call_id,
        )
        ours.append((time.perf_counter() - started) * 1000)
        assert isinstance(claimed, Claimed), claimed
        started = time.perf_counter()
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow("SELECT * FROM floor_parent WHERE id = 1 FOR UPDATE")
            await conn.execute(
                "INSERT INTO floor_child (parent, payload) VALUES (1, $1)", f"row {n}"
            )
            await conn.execute("UPDATE floor_parent SET n = n + 1 WHERE id = 1")
            await conn.execute("UPDATE floor_parent SET n = n + 1 WHERE id = 1")
        floor.append((time.perf_counter() - started) * 1000)
    await pool.close()
    return ours, floor


async def bare_dials(livekit: lkapi.LiveKitAPI, trunk_id: str, count: int) -> list[float]:
    """CreateSIPParticipant straight to the emulator (answered at once), one at a time."""
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await livekit.sip.create_sip_participant(
            lkapi.CreateSIPParticipantRequest(
                sip_trunk_id=trunk_id,
                sip_call_to=f"+1505{n:07d}",
                sip_number=FROM,
                room_name=f"bare_{n}",
                participant_identity=f"sip_bare_{n}",
                wait_until_answered=True,
            )
        )
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--max-concurrent", type=int, default=50)
    parser.add_argument("--talk-ms", type=int, default=200)
    parser.add_argument("--claims", type=int, default=2000)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        devinfra.embedded_postgres(Path(tmp) / "pg") as db_url,
        devinfra.embedded_nats(Path(tmp) / "nats") as nats_url,
    ):
        await asyncio.to_thread(migrate, db_url, MIGRATIONS)
        port = devinfra.free_port()
        config = dataclasses.replace(
            test_config(
                api_key=KEY,
                api_secret=LK_SECRET,
                webhook_urls=[f"http://127.0.0.1:{port}/livekit/webhook"],
            ),
            default_callee_script=({"wait_ms": args.talk_ms}, {"hangup": True}),
        )
        async with running_emulator(config) as lk:
            livekit = lkapi.LiveKitAPI(lk.url, KEY, LK_SECRET)
            env = {
                **os.environ,
                "DATABASE_URL": db_url,
                "NATS_URL": nats_url,
                "AUTH_JWT_SECRET": SECRET,
                "INTERNAL_API_TOKEN": "bench-internal-token-0123456789",
                "WEBHOOK_SIGNING_SECRET": "bench-webhook-secret-0123456789",
                "LIVEKIT_URL": lk.url,
                "LIVEKIT_API_KEY": KEY,
                "LIVEKIT_API_SECRET": LK_SECRET,
                "CALL_ORCHESTRATOR_PORT": str(port),
                "MAX_CONCURRENT_CALLS_PER_ORG": str(args.max_concurrent * 2),
                "ANSWER_POLL_INTERVAL_S": "0.25",
                "CAMPAIGN_TICK_S": "0.05",
                "LOG_LEVEL": "WARNING",
            }
            bin_dir = Path(sys.executable).parent
            service = start_server([str(bin_dir / "call-orchestrator"), "serve"], env, port)
            nc = await nats.connect(nats_url)
            runtime = asyncio.create_task(advertise(nc.jetstream(), every_key_runtime))
            try:
                agent_id = await seed_number(nats_url, livekit, db_url)
                await asyncio.sleep(1.0)  # the service sees the advertised agent-runtime
                token = issue_hs256_token(SECRET, sub="bench", org_id=ORG, role=Role.ADMIN)
                base = f"http://127.0.0.1:{port}"
                campaign_id, create_s, drain_s = await run_campaign(
                    base, {"Authorization": f"Bearer {token}"}, agent_id, args
                )
                conn = await asyncpg.connect(db_url)
                try:
                    starts = [
                        r["started_at"]
                        for r in await conn.fetch(
                            "SELECT started_at FROM campaign_attempts WHERE campaign_id = $1"
                            " AND outcome <> 'not_placed' ORDER BY started_at",
                            campaign_id,
                        )
                    ]
                    outcomes = await conn.fetch(
                        "SELECT outcome, count(*) FROM campaign_attempts WHERE campaign_id = $1"
                        " GROUP BY 1 ORDER BY 1",
                        campaign_id,
                    )
                    trunk_id = await conn.fetchval(
                        "SELECT outbound_trunk_id FROM phone_number_sync LIMIT 1"
                    )
                    claimed_at = {
                        r["call_id"]: r["started_at"]
                        for r in await conn.fetch(
                            "SELECT a.call_id, a.started_at, c.room_name FROM campaign_attempts a"
                            " JOIN calls c ON c.id = a.call_id WHERE a.campaign_id = $1",
                            campaign_id,
                        )
                    }
                    rooms = {
                        r["room_name"]: r["id"]
                        for r in await conn.fetch("SELECT id, room_name FROM calls")
                    }
                finally:
                    await conn.close()
                state = await lk.control.state()
                dials = [c for c in state["calls"] if c["direction"] == "outbound"]
                created_ms = sorted(c["created_at_ms"] for c in dials)
                span_db = (starts[-1] - starts[0]).total_seconds()
                span_lk = (created_ms[-1] - created_ms[0]) / 1000
                peak = live = 0
                for _, step in sorted(
                    [(c["created_at_ms"], 1) for c in dials]
                    + [(c["ended_at_ms"] or c["created_at_ms"], -1) for c in dials]
                ):
                    live += step
                    peak = max(peak, live)
                to_dial = []
                for c in dials:
                    call_id = rooms.get(c["room_name"])
                    if call_id in claimed_at:
                        at = claimed_at[call_id].timestamp() * 1000
                        to_dial.append(c["created_at_ms"] - at)
                print(
                    f"campaign of {args.rows:,} rows: created in {create_s:.2f} s "
                    f"(POST /campaigns, JSON), drained in {drain_s:.1f} s"
                )
                print("  outcomes: " + ", ".join(f"{r['outcome']} {r['count']}" for r in outcomes))
                print(
                    f"  configured {args.rate:.1f} dials/s, max {args.max_concurrent} concurrent; "
                    f"achieved {(len(starts) - 1) / span_db:.2f} dials/s (attempts table), "
                    f"{(len(created_ms) - 1) / span_lk:.2f} dials/s (emulator's "
                    f"CreateSIPParticipant), peak concurrency {peak}"
                )
                print(f"  its slot -> LiveKit receives the dial  {figures(to_dial)}")
                # The service's own scheduler would race this process for the second campaign.
                service.terminate()
                service.wait(15)
                ours, floor = await claim_overhead(db_url, args.claims)
                print(
                    f"scheduler claim transaction, {args.claims} claims, alternating with the floor"
                )
                print(f"  claim (the scheduler's work per dial)  {figures(ours)}")
                print(f"  floor (lock + insert + 2 updates)      {figures(floor)}")
                bare = await bare_dials(livekit, trunk_id, 200)
                print(f"  floor: bare CreateSIPParticipant to the emulator {figures(bare)}")
            finally:
                runtime.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runtime
                await nc.close()
                await livekit.aclose()
                if service.poll() is None:
                    service.terminate()
                    service.wait(15)


if __name__ == "__main__":
    asyncio.run(main())
