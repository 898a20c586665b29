"""Benchmark call-orchestrator's call history (`GET /calls`) and usage report (`GET /usage`) with
100,000 calls in one organization's history (and 20,000 in another's).

For each page the Studio and API clients ask for (the first page, each filter, a page deep in
the cursor), p50/p95/p99 of `GET /calls?limit=50` one request at a time (target p99 <= 20 ms),
beside the floor measured in the same run, request for request alternating: a bare FastAPI
endpoint running the same SQL with asyncpg and returning the same bytes (checked). Then
requests per second of the first page at `--clients` concurrent clients, service and floor
alternating, and `GET /usage` per number, agent and day over the 30 days, beside the same SQL run
directly with asyncpg. `--explain` prints each page's query plan (EXPLAIN ANALYZE).
Everything runs here: embedded PostgreSQL and nats-server, call-orchestrator and the floor as
separate uvicorn processes, an aiohttp client.

    uv run python bench/calls.py [--calls 100000] [--rounds 300] [--clients 20] [--seconds 3]
        [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg

from call_orchestrator.adapters.postgres.call_rows import encode_cursor
from call_orchestrator.adapters.postgres.calls import list_calls_query
from call_orchestrator.adapters.postgres.costs import GroupBy, usage_sql
from call_orchestrator.main import MIGRATIONS
from talkifai_common import devinfra
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.db import migrate
from talkifai_common.events import CallCost, CallDirection, CallStatus, CostLine

ORG, OTHER_ORG = "org_bench", "org_other"
SECRET = "bench-jwt-secret-0123456789-abcdefghijkl"
DAYS = 30
OUR_NUMBERS = [f"+1202555{i:04d}" for i in range(100, 120)]
AGENTS = [(f"agent_bench{i:04d}", f"{team} Agent") for i, team in enumerate(
    ("Sales", "Support", "Billing", "Concierge", "Front Desk", "Renewals", "Claims", "Booking",
     "Survey", "After Hours")
)]  # fmt: skip
CUSTOMERS = 30_000  # the other parties: about 3 calls each
LIVE_CALLS = 24  # initiated, ringing or answered now; the rest completed or failed

# CostStore.totals's query.

# The floor: the same SQL (CallStore.list_calls's statement, from its builder), the same JSON
# (CallPage's fields in its order, datetimes as pydantic writes them), by hand.
BARE_APP = """
import base64, json, os
from datetime import datetime
import asyncpg
from fastapi import FastAPI, Response
from call_orchestrator.adapters.postgres.calls import list_calls_query
from talkifai_common.events import CallDirection, CallStatus

COST = ("currency", "total", "total_micros", "billed_s", "destination_prefix", "breakdown",
        "rate_deck_version", "computed_at")
LINE = ("component", "quantity", "unit", "rate", "rated_by", "amount", "amount_micros")
app = FastAPI()


@app.on_event("startup")
async def start() -> None:
    async def init(conn):
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=5, max_size=20, init=init)


def ts(value):
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def seconds(start, end):
    return None if start is None or end is None else round(max(0.0, (end - start).total_seconds()), 3)


def cost(value):
    if value is None:
        return None
    out = {k: value[k] for k in COST}
    out["breakdown"] = [{k: line.get(k) for k in LINE} for line in value["breakdown"]]
    return out


def call(r):
    return {
        "id": r["id"], "direction": r["direction"], "status": r["status"],
        "phone_number_id": r["phone_number_id"], "phone_number": r["phone_number"],
        "from_number": r["from_number"], "to_number": r["to_number"],
        "agent": {"id": r["agent_id"], "name": r["agent_name"] or ""} if r["agent_id"] else None,
        "room_name": r["room_name"], "failure_reason": r["failure_reason"],
        "failure_detail": r["failure_detail"], "end_reason": r["end_reason"],
        "sip_status_code": r["sip_status_code"], "sip_call_id": r["sip_call_id"],
        "recording_egress_id": r["recording_egress_id"], "started_at": ts(r["started_at"]),
        "ringing_at": ts(r["ringing_at"]), "answered_at": ts(r["answered_at"]),
        "ended_at": ts(r["ended_at"]), "duration_s": seconds(r["answered_at"], r["ended_at"]),
        "total_duration_s": seconds(r["started_at"], r["ended_at"]), "cost": cost(r["cost"]),
    }


@app.get("/calls")
async def calls(phone_number: str | None = None, direction: str | None = None,
                status: str | None = None, limit: int = 50, cursor: str | None = None) -> Response:
    after = None
    if cursor:
        when, call_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        after = (datetime.fromisoformat(when), call_id)
    sql, args = list_calls_query(
        os.environ["BENCH_ORG"], phone_number=phone_number,
        direction=CallDirection(direction) if direction else None,
        status=CallStatus(status) if status else None, limit=limit + 1, after=after)
    rows = await app.state.pool.fetch(sql, *args)
    items = [call(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = base64.urlsafe_b64encode(
            f"{last['started_at'].isoformat()}|{last['id']}".encode()).decode()
    body = json.dumps({"items": items, "next_cursor": next_cursor}, separators=(",", ":"),
                      ensure_ascii=False)
    return Response(body, media_type="application/json")
"""


def priced(billed_s: int, at: datetime) -> CallCost:
    """A call's cost as call-orchestrator writes it: carrier minutes and an LLM line."""
    minutes = billed_s // 60
    carrier = minutes * 14_000
    llm = 2_500 + billed_s * 10
    return CallCost(
        currency="USD",
        total=f"{(carrier + llm) / 1_000_000:.6f}",
        total_micros=carrier + llm,
        billed_s=billed_s,
        destination_prefix="+1",
        breakdown=(
            CostLine(
                component="carrier", quantity=str(minutes), unit="minute", rate="0.0140",
                rated_by="+1", amount=f"{carrier / 1_000_000:.6f}", amount_micros=carrier,
            ),
            CostLine(
                component="llm_input", quantity="0.001", unit="million_tokens", rate="2.50",
                rated_by="openai", amount=f"{llm / 1_000_000:.6f}", amount_micros=llm,
            ),
        ),
        rate_deck_version=1,
        computed_at=at,
    )  # fmt: skip


def call_records(
    org: str, count: int, now: datetime, rng: random.Random
) -> tuple[list[tuple[object, ...]], list[str]]:
    """`count` calls of `org` over the last DAYS days, newest LIVE_CALLS still live; and the other
    parties' numbers."""
    customers = [f"+1415{n:07d}" for n in rng.sample(range(10_000_000), CUSTOMERS)]
    records: list[tuple[object, ...]] = []
    span = DAYS * 86_400
    for i in range(count):
        started = now - timedelta(
            seconds=span * (i + 1) / (count + 1), microseconds=rng.randrange(10**6)
        )
        ours = OUR_NUMBERS[rng.randrange(len(OUR_NUMBERS))]
        other = customers[rng.randrange(len(customers))]
        direction = "inbound" if rng.random() < 0.5 else "outbound"
        frm, to = (other, ours) if direction == "inbound" else (ours, other)
        agent_id, agent_name = AGENTS[rng.randrange(len(AGENTS))]
        call_id = f"call_{org[4:9]}{i:011d}"
        ringing = started + timedelta(milliseconds=rng.randrange(100, 900))
        answered = ended = None
        reason = sip = cost = None
        billed = currency = carrier = llm = total = None
        if i < LIVE_CALLS:
            status = ("initiated", "ringing", "answered")[i % 3]
            if status == "answered":
                answered = ringing + timedelta(seconds=3)
        elif rng.random() < 0.22:
            status, reason, sip = "failed", rng.choice(["no_answer", "busy", "declined"]), 486
            ended = ringing + timedelta(seconds=rng.randrange(5, 30))
        else:
            status = "completed"
            answered = ringing + timedelta(seconds=rng.randrange(2, 10))
            ended = answered + timedelta(seconds=rng.randrange(10, 600))
            billed = -(-int((ended - answered).total_seconds()) // 60) * 60
            c = priced(billed, ended + timedelta(seconds=5))
            cost = json.dumps(c.model_dump(mode="json"))
            currency, total = "USD", c.total_micros
            carrier, llm = c.breakdown[0].amount_micros, c.breakdown[1].amount_micros
        records.append(
            (
                call_id, org, direction, status, f"pn_{ours[-4:]}", ours, frm, to, agent_id,
                agent_name, f"room_{call_id}", f"sip_{call_id}", reason, sip, started,
                ringing, answered, ended, ended or ringing, cost, billed, currency, carrier, llm,
                0, 0, total,
            )
        )  # fmt: skip
    return records, customers


COLUMNS = [
    "id", "org_id", "direction", "status", "phone_number_id", "phone_number", "from_number",
    "to_number", "agent_id", "agent_name", "room_name", "sip_call_id", "failure_reason",
    "sip_status_code", "started_at", "ringing_at", "answered_at", "ended_at", "updated_at",
    "cost", "billed_s", "cost_currency", "cost_carrier_micros", "cost_llm_micros",
    "cost_stt_micros", "cost_tts_micros", "cost_total_micros",
]  # fmt: skip


async def seed(url: str, count: int, now: datetime) -> tuple[str, str]:
    """The calls of both organizations; a caller of the benchmark's org who called 2-4 times and
    the cursor after its `count * 0.9`th newest call."""
    rng = random.Random(7)
    conn = await asyncpg.connect(url)
    records, _ = call_records(ORG, count, now, rng)
    other, _ = call_records(OTHER_ORG, count // 5, now, rng)
    await conn.copy_records_to_table("calls", records=records + other, columns=COLUMNS)
    # As autovacuum leaves a history that is mostly old: it would run on its own after these
    # inserts, at a moment no run can predict, and the plans should not depend on it.
    await conn.execute("VACUUM (ANALYZE) calls")
    caller = await conn.fetchval(
        "SELECT from_number FROM calls WHERE org_id = $1 AND direction = 'inbound' "
        "GROUP BY 1 HAVING count(*) BETWEEN 2 AND 4 ORDER BY 1 LIMIT 1",
        ORG,
    )
    deep = await conn.fetchrow(
        "SELECT started_at, id FROM calls WHERE org_id = $1 "
        "ORDER BY started_at DESC, id DESC OFFSET $2 LIMIT 1",
        ORG,
        int(count * 0.9),
    )
    await conn.close()
    return caller, encode_cursor(deep["started_at"], deep["id"])


def start_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devinfra.wait_for_port("127.0.0.1", port, timeout_s=30)
    return process


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def figures(samples: list[float]) -> str:
    return (
        f"p50 {statistics.median(samples):6.2f}  p95 {pct(samples, 0.95):6.2f}  "
        f"p99 {pct(samples, 0.99):6.2f} ms"
    )


async def timed_get(
    session: aiohttp.ClientSession, url: str, params: dict[str, str], headers: dict[str, str]
) -> tuple[float, bytes]:
    start = time.perf_counter()
    async with session.get(url, params=params, headers=headers) as response:
        body = await response.read()
        assert response.status == 200, (response.status, body[:300])
    return (time.perf_counter() - start) * 1000, body


async def side_by_side(
    session: aiohttp.ClientSession,
    service: str,
    bare: str,
    headers: dict[str, str],
    params: dict[str, str],
    rounds: int,
) -> tuple[list[float], list[float], bool]:
    """Latencies of the service and the floor, request for request, alternating which goes
    first; and whether both answered the same bytes."""
    _, ours = await timed_get(session, service, params, headers)
    _, theirs = await timed_get(session, bare, params, {})
    same = ours == theirs
    if not same:
        print(f"  ! different bodies for {params}: {ours[:200]!r} / {theirs[:200]!r}")
    for _ in range(10):  # warm-up
        await timed_get(session, service, params, headers)
        await timed_get(session, bare, params, {})
    service_ms, bare_ms = [], []
    for i in range(rounds):
        if i % 2:
            service_ms.append((await timed_get(session, service, params, headers))[0])
            bare_ms.append((await timed_get(session, bare, params, {}))[0])
        else:
            bare_ms.append((await timed_get(session, bare, params, {}))[0])
            service_ms.append((await timed_get(session, service, params, headers))[0])
    return service_ms, bare_ms, same


async def throughput(url: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.get(url, params={"limit": "50"}, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                done += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return done / seconds


def _pg_type(value: object) -> str:
    return (
        "timestamptz"
        if isinstance(value, datetime)
        else "int"
        if isinstance(value, int)
        else "text"
    )


def _literal(value: object) -> str:
    """The bench's own values as SQL literals (EXECUTE takes no parameters)."""
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


async def explain(
    url: str, pages: list[tuple[str, dict[str, str]]], cursor: tuple[datetime, str], now: datetime
) -> None:
    """EXPLAIN ANALYZE of each page's statement, planned for its values (a custom plan) and as a
    prepared statement may be planned once for all values after five runs (a generic plan); then
    of GET /usage's."""
    conn = await asyncpg.connect(url)
    try:
        for label, params in pages:
            direction, status = params.get("direction"), params.get("status")
            sql, args = list_calls_query(
                ORG,
                phone_number=params.get("phone_number"),
                direction=CallDirection(direction) if direction else None,
                status=CallStatus(status) if status else None,
                limit=51,
                after=cursor if "cursor" in params else None,
            )
            types = [_pg_type(a) for a in args]
            await conn.execute(f"PREPARE page({', '.join(types)}) AS {sql}")
            execute = f"EXECUTE page({', '.join(_literal(a) for a in args)})"
            for mode in ("force_custom_plan", "force_generic_plan"):
                await conn.execute(f"SET plan_cache_mode = {mode}")
                await conn.fetch(execute)  # warm
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + execute)
                print(f"-- {label} ({mode.split('_')[1]} plan)")
                for row in plan:
                    print("   " + row[0])
            await conn.execute("DEALLOCATE page")
        await conn.execute("RESET plan_cache_mode")
        for group_by in GroupBy:
            sql = usage_sql(group_by)
            start, end = now - timedelta(days=DAYS), now + timedelta(minutes=1)
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, ORG, start, end)
            print(f"-- GET /usage group_by={group_by.value}")
            for row in plan:
                print("   " + row[0])
    finally:
        await conn.close()


async def usage(
    url: str, service: str, headers: dict[str, str], now: datetime, rounds: int
) -> None:
    """GET /usage per number, agent and day over the DAYS days, beside its SQL run directly."""
    start, end = now - timedelta(days=DAYS), now + timedelta(minutes=1)
    conn = await asyncpg.connect(url)
    params = {"from": start.isoformat(), "to": end.isoformat()}
    async with aiohttp.ClientSession() as session:
        for group_by in GroupBy:
            sql = usage_sql(group_by)
            query = {**params, "group_by": group_by.value}
            direct, ours = [], []
            for _ in range(3):
                await conn.fetch(sql, ORG, start, end)
                await timed_get(session, service, query, headers)
            for _ in range(rounds):
                began = time.perf_counter()
                await conn.fetch(sql, ORG, start, end)
                direct.append((time.perf_counter() - began) * 1000)
                ours.append((await timed_get(session, service, query, headers))[0])
            groups = len(
                json.loads(_last_body(await timed_get(session, service, query, headers)))["groups"]
            )
            print(f"  group_by={group_by.value:6} ({groups} groups)  GET /usage {figures(ours)}")
            print(f"  {'':25} its SQL (asyncpg) {figures(direct)}")
    await conn.close()


def _last_body(answer: tuple[float, bytes]) -> bytes:
    return answer[1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--usage-rounds", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        devinfra.embedded_postgres(Path(tmp) / "pg") as url,
        devinfra.embedded_nats(Path(tmp) / "nats") as nats_url,
    ):
        await asyncio.to_thread(migrate, url, MIGRATIONS)
        now = datetime.now(UTC)
        started = time.perf_counter()
        caller, deep_cursor = await seed(url, args.calls, now)
        print(
            f"seeded {args.calls:,} calls of {ORG} and {args.calls // 5:,} of {OTHER_ORG} over "
            f"{DAYS} days in {time.perf_counter() - started:.1f} s"
        )
        service_port, bare_port = devinfra.free_port(), devinfra.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "NATS_URL": nats_url,
            "AUTH_JWT_SECRET": SECRET,
            "INTERNAL_API_TOKEN": "bench-internal-token-0123456789",
            "WEBHOOK_SIGNING_SECRET": "bench-webhook-secret-0123456789",
            "LIVEKIT_URL": f"http://127.0.0.1:{devinfra.free_port()}",  # never called here
            "LIVEKIT_API_KEY": "benchkey",
            "LIVEKIT_API_SECRET": "bench-livekit-secret-0123456789abcdef",
            "CALL_ORCHESTRATOR_PORT": str(service_port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        bin_dir = Path(sys.executable).parent
        service = start_server([str(bin_dir / "call-orchestrator"), "serve"], env, service_port)
        bare_file = Path(tmp) / "bare_app.py"
        bare_file.write_text(BARE_APP)
        bare = start_server(
            [
                sys.executable, "-m", "uvicorn", "--app-dir", tmp, "bare_app:app",
                "--host", "127.0.0.1", "--port", str(bare_port), "--log-level", "warning",
            ],
            {**env, "BENCH_ORG": ORG},
            bare_port,
        )  # fmt: skip
        pages: list[tuple[str, dict[str, str]]] = [
            ("first page", {}),
            ("phone_number: our number (~5,000 calls)", {"phone_number": OUR_NUMBERS[3]}),
            ("phone_number: a caller (2-4 calls)", {"phone_number": caller}),
            ("direction=inbound", {"direction": "inbound"}),
            ("status=failed (~22%)", {"status": "failed"}),
            (f"status=answered (live: {LIVE_CALLS // 3})", {"status": "answered"}),
            ("direction=outbound&status=completed", {"direction": "outbound", "status": "completed"}),
            ("deep page (cursor after 90%)", {"cursor": deep_cursor}),
        ]  # fmt: skip
        try:
            headers = {
                "Authorization": f"Bearer {issue_hs256_token(SECRET, sub='bench', org_id=ORG, role=Role.MEMBER)}"
            }
            service_url = f"http://127.0.0.1:{service_port}/calls"
            bare_url = f"http://127.0.0.1:{bare_port}/calls"
            print(
                f"GET /calls?limit=50, one request at a time, {args.rounds} each, alternating with "
                "the floor (bare FastAPI + asyncpg, same SQL, same bytes); target p99 <= 20 ms"
            )
            async with aiohttp.ClientSession() as session:
                for label, params in pages:
                    params = {**params, "limit": "50"}
                    ours, floor, same = await side_by_side(
                        session, service_url, bare_url, headers, params, args.rounds
                    )
                    print(f"  {label}")
                    print(f"    call-orchestrator {figures(ours)}")
                    print(f"    floor             {figures(floor)}   same bytes: {same}")
            rates: dict[str, list[float]] = {"ours": [], "floor": []}
            await throughput(service_url, headers, args.clients, 1)  # warm-up
            await throughput(bare_url, {}, args.clients, 1)
            for _ in range(2):
                rates["ours"].append(
                    await throughput(service_url, headers, args.clients, args.seconds)
                )
                rates["floor"].append(await throughput(bare_url, {}, args.clients, args.seconds))
            ours_rate, floor_rate = statistics.mean(rates["ours"]), statistics.mean(rates["floor"])
            print(
                f"first page at {args.clients} clients: call-orchestrator {ours_rate:.0f} req/s, "
                f"floor {floor_rate:.0f} req/s, ratio {ours_rate / floor_rate:.2f}"
            )
            print(f"GET /usage over {DAYS} days ({args.calls:,} calls), {args.usage_rounds} each")
            await usage(
                url, f"http://127.0.0.1:{service_port}/usage", headers, now, args.usage_rounds
            )
            if args.explain:
                conn = await asyncpg.connect(url)
                deep = await conn.fetchrow(
                    "SELECT started_at, id FROM calls WHERE org_id = $1 "
                    "ORDER BY started_at DESC, id DESC OFFSET $2 LIMIT 1",
                    ORG,
                    int(args.calls * 0.9),
                )
                await conn.close()
                await explain(url, pages, (deep["started_at"], deep["id"]), now)
        finally:
            for process in (service, bare):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
