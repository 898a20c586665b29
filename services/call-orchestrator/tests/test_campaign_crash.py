"""kill -9 of a scheduler replica mid-campaign: two real `call-orchestrator serve` processes share
one database and the emulator; one dies while it holds attempts, the other finishes the campaign.
No row is lost and no attempt is dialed twice (the emulator's record of dials against the
attempts table)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("overrides", [HARNESS])
async def test_kill_9_of_a_replica_mid_campaign_loses_no_row_and_dials_nothing_twice(
    harness: Harness, settings: Settings, tmp_path: Path
) -> None:
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
    campaign_id = created.json()["id"]
    command = [sys.executable, "-m", "call_orchestrator.main", "serve"]
    replicas = []
    for name in ("replica-a", "replica-b"):
        port = devinfra.free_port()
        replica = Service(
            name, command, _replica_env(settings, port), port, tmp_path, ready_path="/readyz"
        )
        await replica.start()
        replicas.append(replica)
    doomed = replicas[0]
    conn = await asyncpg.connect(harness.database_url)
    try:
        assert (await action(harness, campaign_id, "start")).status_code == 200
        doomed_owner = f"%:{doomed._process.pid}:%" if doomed._process else ""

        async def doomed_holds_attempts() -> bool:
            held = await conn.fetchval(
                "SELECT count(*) FROM campaign_attempts"
                " WHERE lease_owner LIKE $1 AND outcome IS NULL",
                doomed_owner,
            )
            dialed = await conn.fetchval("SELECT count(*) FROM campaign_attempts")
            return bool(held >= 1 and dialed >= 8)

        await wait_until(doomed_holds_attempts, within_s=30, what="replica-a mid-campaign")
        held_at_kill = await conn.fetchval(
            "SELECT count(*) FROM campaign_attempts WHERE lease_owner LIKE $1 AND outcome IS NULL",
            doomed_owner,
        )
        await doomed.kill()

        done = await wait_status(harness, campaign_id, "completed", within_s=90)

        attempts = await conn.fetch(
            "SELECT a.row_id, a.number, a.call_id, a.lease_owner, a.outcome, a.call_recorded,"
            " r.to_number FROM campaign_attempts a JOIN campaign_rows r ON r.id = a.row_id"
            " WHERE a.campaign_id = $1",
            campaign_id,
        )
    finally:
        await conn.close()
        for replica in replicas:
            await replica.stop()

    assert held_at_kill >= 1  # the kill hit a replica holding attempts
    counts = done["counts"]
    assert counts["total"] == ROWS
    assert counts["pending"] == counts["in_progress"] == counts["waiting_retry"] == 0
    assert counts["completed"] + counts["failed"] == ROWS
    state = await harness.lk.control.state()
    dials = Counter(c["to_number"] for c in state["calls"] if c["direction"] == "outbound")
    recorded: Counter[str] = Counter(a["to_number"] for a in attempts if a["call_recorded"])
    # Every dial has its own attempt with a recorded call: nothing was dialed twice.
    over = {n: (dials[n], recorded[n]) for n in dials if dials[n] > recorded[n]}
    assert over == {}
    assert all(a["outcome"] is not None for a in attempts)
    assert {a["lease_owner"].split(":")[1] for a in attempts} >= {
        str(p._process.pid) for p in replicas if p._process
    }
    by_row: dict[str, list[Any]] = {}
    for a in attempts:
        by_row.setdefault(a["row_id"], []).append(a)
    assert len(by_row) == ROWS
