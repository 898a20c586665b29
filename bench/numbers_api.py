# ruff: noqa: E402 - the import path is fixed before the imports
"""Benchmark numbers-api: search latency and list throughput with 100,000 numbers in one organization.

Prints p50/p99 of `GET /phone-numbers?search=<substring>` (target p99 <= 20 ms) and list requests
per second at 50 concurrent clients, as a ratio to a bare FastAPI + asyncpg endpoint running the same
SQL in the same run (target >= 0.6). Everything runs here: embedded PostgreSQL and nats-server, both
servers as separate uvicorn processes, an aiohttp client.

    uv run python bench/numbers_api.py [--numbers 100000] [--seconds 10]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name matches the service package; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

from numbers_api.adapters.postgres import _NUMBER_VIEW
from numbers_api.main import MIGRATIONS
from talkifai_common import devinfra
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.crypto import generate_key
from talkifai_common.db import migrate

ORG = "org_bench"
SECRET = "bench-jwt-secret-0123456789-abcdefghijkl"
AGENT_NAMES = [
    f"{team} Agent {i}"
    for team in ("Sales", "Support", "Billing", "Concierge", "Front Desk")
    for i in range(10)
]
SEARCHES = [
    "+1202",
    "5550",
    "sales",
    "support agent 7",
    "desk",
    "4155550",
    "billing agent 3",
    "99999",
    "zzz",
]

BARE_APP = """
import json, os
import asyncpg
from fastapi import FastAPI, Response

SQL = os.environ["BENCH_SQL"]
app = FastAPI()

@app.on_event("startup")
async def start() -> None:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=5, max_size=20)

@app.get("/phone-numbers")
async def numbers(limit: int = 50) -> Response:
    async with app.state.pool.acquire() as conn:
        rows = await conn.fetch(SQL, os.environ["BENCH_ORG"], None, None, limit + 1)
    body = json.dumps({"items": [dict(r) for r in rows[:limit]]}, default=str)
    return Response(body, media_type="application/json")
"""


async def seed(url: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    agents = [(f"agent_bench{i:04d}", name) for i, name in enumerate(AGENT_NAMES)]
    await conn.copy_records_to_table(
        "agents",
        records=[(aid, ORG, name, "pipeline", "{}") for aid, name in agents],
        columns=["id", "org_id", "name", "architecture", "config"],
    )
    rng = random.Random(7)
    area_codes = ["202", "415", "312", "646", "702", "808", "917", "213"]
    records = []
    for i in range(count):
        number = f"+1{area_codes[i % len(area_codes)]}{i // len(area_codes):07d}"
        inbound = rng.choice(agents) if rng.random() < 0.8 else None
        outbound = rng.choice(agents) if rng.random() < 0.5 else None
        search = " ".join(
            [number, inbound[1] if inbound else "", outbound[1] if outbound else ""]
        ).lower()
        records.append(
            (
                f"pn_bench{i:08d}",
                ORG,
                number,
                "trunk.example.com",
                inbound and inbound[0],
                outbound and outbound[0],
                search,
            )
        )
    await conn.copy_records_to_table(
        "phone_numbers",
        records=records,
        columns=[
            "id",
            "org_id",
            "phone_number",
            "termination_uri",
            "inbound_agent_id",
            "outbound_agent_id",
            "search_text",
        ],
    )
    await conn.execute("ANALYZE")
    await conn.close()


def start_server(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    devinfra.wait_for_port("127.0.0.1", port, timeout_s=30)
    return process


async def latency(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], rounds: int
) -> list[float]:
    samples = []
    for i in range(rounds):
        term = SEARCHES[i % len(SEARCHES)]
        start = time.perf_counter()
        async with session.get(url, params={"search": term}, headers=headers) as response:
            await response.read()
            assert response.status == 200, response.status
        samples.append((time.perf_counter() - start) * 1000)
    return samples


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


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as tmp,
        devinfra.embedded_postgres(Path(tmp) / "pg") as admin_url,
        devinfra.embedded_nats(Path(tmp) / "nats") as nats_url,
    ):
        url = admin_url
        await asyncio.to_thread(migrate, url, MIGRATIONS)
        started = time.perf_counter()
        await seed(url, args.numbers)
        print(f"seeded {args.numbers:,} numbers in {time.perf_counter() - started:.1f} s")

        api_port, bare_port = devinfra.free_port(), devinfra.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "NATS_URL": nats_url,
            "AUTH_JWT_SECRET": SECRET,
            "FERNET_KEYS": generate_key(),
            "INTERNAL_API_TOKEN": "bench-internal-token-0123456789",
            "NUMBERS_API_PORT": str(api_port),
            "HOST": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        api = start_server([sys.executable, "-m", "numbers_api.main"], env, api_port)
        bare_env = {
            **env,
            "BENCH_SQL": _NUMBER_VIEW
            + " WHERE p.org_id = $1 AND ($2::text IS NULL OR p.search_text LIKE $2) AND ($3::text IS NULL OR p.phone_number > $3) ORDER BY p.phone_number LIMIT $4",
            "BENCH_ORG": ORG,
        }
        bare_file = Path(tmp) / "bare_app.py"
        bare_file.write_text(BARE_APP)
        bare = start_server(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                tmp,
                "bare_app:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            bare_env,
            bare_port,
        )
        try:
            headers = {
                "Authorization": f"Bearer {issue_hs256_token(SECRET, sub='bench', org_id=ORG, role=Role.MEMBER)}"
            }
            base = f"http://127.0.0.1:{api_port}/phone-numbers"
            async with aiohttp.ClientSession() as session:
                await latency(session, base, headers, 50)  # warm-up
                samples = await latency(session, base, headers, 900)
            print(
                f"search latency over {len(samples)} requests ({len(SEARCHES)} substrings): "
                f"p50 {statistics.median(samples):.2f} ms, p99 {pct(samples, 0.99):.2f} ms (target p99 <= 20 ms)"
            )
            await throughput(base, headers, args.clients, 2)  # warm-up
            ours = await throughput(base, headers, args.clients, args.seconds)
            await throughput(f"http://127.0.0.1:{bare_port}/phone-numbers", {}, args.clients, 2)
            theirs = await throughput(
                f"http://127.0.0.1:{bare_port}/phone-numbers", {}, args.clients, args.seconds
            )
            print(
                f"list throughput at {args.clients} clients: numbers-api {ours:.0f} req/s, "
                f"bare FastAPI+asyncpg {theirs:.0f} req/s, ratio {ours / theirs:.2f} (target >= 0.6)"
            )
        finally:
            for process in (api, bare):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
