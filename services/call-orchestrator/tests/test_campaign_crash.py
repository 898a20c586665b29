"""kill -9 of scheduler replicas mid-campaign: real `call-orchestrator serve` processes share one
database and the emulator. One dies while it holds attempts and the other finishes; or both die,
one after the other, and a restarted one resumes. No row is lost and no attempt is dialed twice
(the emulator's record of dials against the attempts table)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from call_orchestrator.config import Settings
from talkifai_common import devinfra
from tests.support.call_orchestrator import JWT_SECRET, Harness
from tests.support.campaigns import action, campaign_body, create, wait_status
from tests.support.chaos import Service, wait_until

pytestmark = pytest.mark.slow

ROWS = 40
HARNESS = {
    "campaign_scheduler": False,  # the two processes below are the only schedulers
    "live_call_check_after_s": 2.0,
    "live_call_check_interval_s": 0.5,
}


def _replica_env(settings: Settings, port: int) -> dict[str, str]:
    """A replica's environment: the harness's database, bus and emulator."""
    key, secret = settings.livekit_credentials()
    return {
        "PATH": str(Path(sys.executable).parent),
        "DATABASE_URL": settings.database_url,
        "NATS_URL": settings.nats_url,
        "AUTH_JWT_SECRET": JWT_SECRET,
        "INTERNAL_API_TOKEN": settings.internal_token(),
        "WEBHOOK_SIGNING_SECRET": settings.signing_secret(),
        "LIVEKIT_URL": settings.livekit_url,
        "LIVEKIT_API_KEY": key,
        "LIVEKIT_API_SECRET": secret,
        "CALL_ORCHESTRATOR_PORT": str(port),
        "ANSWER_POLL_INTERVAL_S": "0.05",
        "CAMPAIGN_TICK_S": "0.05",
        "CAMPAIGN_LEASE_S": "2",
        "LIVE_CALL_CHECK_AFTER_S": "2",
        "LIVE_CALL_CHECK_INTERVAL_S": "0.5",
        "LOG_FORMAT": "console",
    }


async def _replica(name: str, settings: Settings, log_dir: Path) -> Service:
    """A `call-orchestrator serve` process against the harness's database, bus and emulator."""
    port = devinfra.free_port()
    command = [sys.executable, "-m", "call_orchestrator.main", "serve"]
    replica = Service(name, command, _replica_env(settings, port), port, log_dir, "/readyz")
    await replica.start()
    return replica


def _owner(replica: Service) -> str:
    """A LIKE pattern of the lease owner names the replica's scheduler writes (host:pid:id)."""
    assert replica._process is not None
    return f"%:{replica._process.pid}:%"


async def _kill_while_holding(conn: asyncpg.Connection, replica: Service, dialed: int) -> int:
    """Wait until `replica` holds attempts without outcome and `dialed` attempts exist, then
    kill -9 it; how many it held."""

    async def held() -> int:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM campaign_attempts"
                " WHERE lease_owner LIKE $1 AND outcome IS NULL",
                _owner(replica),
            )
        )

    async def holding() -> bool:
        total = await conn.fetchval("SELECT count(*) FROM campaign_attempts")
        return bool(await held() >= 1 and total >= dialed)

    await wait_until(holding, within_s=60, what=f"{replica.name} holding attempts")
    count = await held()
    await replica.kill()
    return count


async def _campaign(harness: Harness) -> str:
    seeded = await harness.seed()
    numbers = [f"+120255504{n:02d}" for n in range(ROWS)]
    for number in numbers:
        await harness.lk.control.set_outcome(
            number, ring_ms=300, script=[{"wait_ms": 200}, {"hangup": True}]
        )
    body = campaign_body(
        seeded,
        [{"to_number": n} for n in numbers],
        pacing={"calls_per_second": 10, "max_concurrent": 4},
        retry={"max_attempts": 2, "delay_s": 0, "on": {"failed": ["500-599"]}},
    )
    created = await create(harness, body)
    campaign_id: str = created.json()["id"]
    return campaign_id


async def _no_row_lost_nothing_dialed_twice(
    harness: Harness, conn: asyncpg.Connection, campaign_id: str
) -> list[asyncpg.Record]:
    """The campaign completes with every row final; every dial the emulator received has its own
    attempt whose call was recorded. The attempts."""
    done = await wait_status(harness, campaign_id, "completed", within_s=90)
    counts = done["counts"]
    assert counts["total"] == ROWS
    assert counts["pending"] == counts["in_progress"] == counts["waiting_retry"] == 0
    assert counts["completed"] + counts["failed"] == ROWS
    attempts = await conn.fetch(
        "SELECT a.row_id, a.lease_owner, a.outcome, a.call_recorded, r.to_number"
        " FROM campaign_attempts a JOIN campaign_rows r ON r.id = a.row_id"
        " WHERE a.campaign_id = $1",
        campaign_id,
    )
    assert all(a["outcome"] is not None for a in attempts)
    assert len({a["row_id"] for a in attempts}) == ROWS
    state = await harness.lk.control.state()
    dials = Counter(c["to_number"] for c in state["calls"] if c["direction"] == "outbound")
    recorded: Counter[str] = Counter(a["to_number"] for a in attempts if a["call_recorded"])
    assert {n: (dials[n], recorded[n]) for n in dials if dials[n] > recorded[n]} == {}
    return list(attempts)


@pytest.mark.parametrize("overrides", [HARNESS])
async def test_kill_9_of_a_replica_mid_campaign_loses_no_row_and_dials_nothing_twice(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    campaign_id = await _campaign(harness)
    replicas = [await _replica(name, settings, tmp_path) for name in ("replica-a", "replica-b")]
    conn = await asyncpg.connect(harness.database_url)
    try:
        assert (await action(harness, campaign_id, "start")).status_code == 200
        held_at_kill = await _kill_while_holding(conn, replicas[0], dialed=8)

        attempts = await _no_row_lost_nothing_dialed_twice(harness, conn, campaign_id)
    finally:
        await conn.close()
        for replica in replicas:
            await replica.stop()

    assert held_at_kill >= 1  # the kill hit a replica holding attempts
    owners = {a["lease_owner"].split(":")[1] for a in attempts}
    assert {p._process.pid for p in replicas if p._process} <= {int(o) for o in owners}


@pytest.mark.parametrize("overrides", [HARNESS])
async def test_killing_both_replicas_one_after_the_other_then_restarting_resumes_the_campaign(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
    campaign_id = await _campaign(harness)
    first, second = [await _replica(n, settings, tmp_path) for n in ("replica-a", "replica-b")]
    restarted: Service | None = None
    conn = await asyncpg.connect(harness.database_url)
    try:
        assert (await action(harness, campaign_id, "start")).status_code == 200
        held_first = await _kill_while_holding(conn, first, dialed=6)
        held_second = await _kill_while_holding(conn, second, dialed=14)
        restarted = await _replica("replica-c", settings, tmp_path)

        attempts = await _no_row_lost_nothing_dialed_twice(harness, conn, campaign_id)
    finally:
        await conn.close()
        for replica in (first, second, restarted):
            if replica is not None:
                await replica.stop()

    assert held_first >= 1 and held_second >= 1
    assert restarted._process is not None
    assert any(f":{restarted._process.pid}:" in a["lease_owner"] for a in attempts)
