"""Campaigns dialing against the emulator: rows answered or retried by the policy, the do-not-call
list at dial time, pacing and concurrency as measured, the organization's share, events with
campaign ids, results."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from livekit.protocol.room import DeleteRoomRequest

from talkifai_common.events import CallAgentFailedData
from tests.support.call_orchestrator import INTERNAL_TOKEN, Harness
from tests.support.campaigns import (
    action,
    admin,
    campaign_body,
    create,
    rows,
    wait_status,
)

FAST = {"campaign_tick_s": 0.05}
HANG_UP_AFTER_300_MS: list[dict[str, Any]] = [{"wait_ms": 300}, {"hangup": True}]


async def _start(harness: Harness, body: dict[str, Any]) -> str:
    created = await create(harness, body)
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    started = await action(harness, campaign_id, "start")
    assert started.status_code == 200, started.text
    return campaign_id


@pytest.mark.parametrize("overrides", [FAST])
async def test_answered_rows_complete_the_campaign_with_campaign_ids_on_every_call_event(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    numbers = ["+12025550131", "+12025550132", "+12025550133"]
    for number in numbers:
        await harness.lk.control.set_outcome(number, script=HANG_UP_AFTER_300_MS)
    body = campaign_body(
        seeded,
        [{"to_number": n, "metadata": {"lead": f"L{i}"}} for i, n in enumerate(numbers, 1)],
    )

    campaign_id = await _start(harness, body)
    done = await wait_status(harness, campaign_id, "completed")

    assert done["counts"]["completed"] == 3
    assert done["completed_at"] is not None
    stored = await rows(harness, campaign_id)
    assert [r["status"] for r in stored] == ["completed"] * 3
    assert [[a["outcome"] for a in r["attempts"]] for r in stored] == [["answered"]] * 3
    state = await harness.lk.control.state()
    dispatched = {
        json.loads(d["metadata"])["to_number"]: json.loads(d["metadata"])
        for d in state["agent_dispatches"]
        if d["metadata"]
    }
    first = stored[0]
    assert dispatched["+12025550131"]["metadata"] == {"lead": "L1"}
    assert dispatched["+12025550131"]["campaign"] == {
        "id": campaign_id,
        "row_id": first["id"],
        "attempt": 1,
    }
    events = await harness.settled_events()
    call_events = [e for e in events if e["type"].startswith("talkifai.telephony.call.")]
    assert {e["data"]["status"] for e in call_events} >= {"initiated", "answered", "completed"}
    for event in call_events:
        ref = event["data"]["campaign"]
        assert ref["id"] == campaign_id
        row = next(r for r in stored if r["id"] == ref["row_id"])
        assert row["attempts"][ref["attempt"] - 1]["call_id"] == event["subject"]
    campaign_types = [e["type"] for e in events if e["type"].startswith("talkifai.telephony.camp")]
    assert campaign_types[-1] == "talkifai.telephony.campaign.completed.v1"
    results = await harness.http.get(
        f"/campaigns/{campaign_id}/results.csv", headers=harness.headers()
    )
    lines = results.text.splitlines()
    assert lines[0].endswith("completed_at,lead")
    assert [line.split(",")[2:5] for line in lines[1:]] == [["completed", "1", "answered"]] * 3


async def _fail_agent_on_answer(harness: Harness, number: str) -> None:
    """What agent-runtime does when the agent fails on a call to `number`: report, hang up."""
    reported: set[str] = set()
    while True:
        calls = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
        for call in calls:
            if call["to_number"] == number and call["status"] == "answered":
                if call["id"] in reported:
                    continue
                reported.add(call["id"])
                report = CallAgentFailedData(
                    call_id=call["id"],
                    room_name=call["room_name"],
                    job_id="AJ_test",
                    agent_id=call["agent"]["id"],
                    direction="outbound",
                    phone_number=call["phone_number"],
                    reason="internal_error",
                    error="the model crashed",
                    retryable=True,
                    at=datetime.now(UTC),
                )
                await harness.http.post(
                    "/internal/agent-failures",
                    content=report.model_dump_json(),
                    headers={
                        "Authorization": f"Bearer {INTERNAL_TOKEN}",
                        "Content-Type": "application/json",
                    },
                )
                await harness.livekit.room.delete_room(DeleteRoomRequest(room=call["room_name"]))
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _agent_failing_on(harness: Harness, number: str) -> AsyncIterator[None]:
    task = asyncio.create_task(_fail_agent_on_answer(harness, number))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("overrides", [FAST])
async def test_retries_follow_the_policy_by_outcome(harness: Harness) -> None:
    seeded = await harness.seed()
    busy, no_answer, server_error, forbidden, agent_fails, answers = (
        f"+120255501{n}" for n in range(41, 47)
    )
    await harness.lk.control.set_outcome(busy, sip_status_code=486)
    await harness.lk.control.set_outcome(no_answer, no_answer=True)
    await harness.lk.control.set_outcome(server_error, sip_status_code=503)
    await harness.lk.control.set_outcome(forbidden, sip_status_code=403)
    await harness.lk.control.set_outcome(answers, script=HANG_UP_AFTER_300_MS)
    numbers = [busy, no_answer, server_error, forbidden, agent_fails, answers]
    body = campaign_body(
        seeded,
        [{"to_number": n} for n in numbers],
        ringing_timeout_s=1,
        retry={
            "max_attempts": 2,
            "delay_s": 0,
            "on": {"busy": True, "no_answer": True, "failed": ["500-599"], "agent_failed": True},
        },
    )

    async with _agent_failing_on(harness, agent_fails):
        campaign_id = await _start(harness, body)
        done = await wait_status(harness, campaign_id, "completed", within_s=30)

    stored = {r["to_number"]: r for r in await rows(harness, campaign_id)}
    outcomes = {n: [a["outcome"] for a in stored[n]["attempts"]] for n in numbers}
    assert outcomes == {
        busy: ["busy", "busy"],
        no_answer: ["no_answer", "no_answer"],
        server_error: ["failed", "failed"],
        forbidden: ["failed"],
        agent_fails: ["agent_failed", "agent_failed"],
        answers: ["answered"],
    }
    assert [a["sip_status_code"] for a in stored[server_error]["attempts"]] == [503, 503]
    assert {n: stored[n]["status"] for n in numbers} == {
        **dict.fromkeys(numbers, "failed"),
        answers: "completed",
    }
    assert done["counts"] == {
        "total": 6,
        "pending": 0,
        "in_progress": 0,
        "waiting_retry": 0,
        "completed": 1,
        "failed": 5,
        "do_not_call": 0,
        "cancelled": 0,
    }
    # Each attempt is its own call, with the attempt's number.
    call_ids = [a["call_id"] for a in stored[busy]["attempts"]]
    calls = [(await harness.get_call(c)).json() for c in call_ids]
    assert [c["campaign"]["attempt"] for c in calls] == [1, 2]


@pytest.mark.parametrize("overrides", [FAST])
async def test_a_number_put_on_the_do_not_call_list_after_upload_is_skipped_at_dial_time(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome("+12025550151", script=HANG_UP_AFTER_300_MS)
    body = campaign_body(seeded, [{"to_number": "+12025550151"}, {"to_number": "+12025550152"}])
    created = await create(harness, body)
    campaign_id = created.json()["id"]
    await harness.http.post(
        "/do-not-call", json={"numbers": ["+12025550152"]}, headers=admin(harness)
    )

    await action(harness, campaign_id, "start")
    done = await wait_status(harness, campaign_id, "completed")

    assert (done["counts"]["completed"], done["counts"]["do_not_call"]) == (1, 1)
    stored = {r["to_number"]: r for r in await rows(harness, campaign_id)}
    assert stored["+12025550152"]["status"] == "do_not_call"
    assert stored["+12025550152"]["attempts"] == []
    dialed = [c["to_number"] for c in (await harness.lk.control.state())["calls"]]
    assert dialed == ["+12025550151"]


def _max_overlap(intervals: list[tuple[int, int]]) -> int:
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    live = peak = 0
    for _, step in points:  # an end sorts before a start at the same instant
        live += step
        peak = max(peak, live)
    return peak


@pytest.mark.parametrize("overrides", [FAST])
async def test_pacing_holds_calls_per_second_and_concurrency_as_measured(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    numbers = [f"+120255502{n:02d}" for n in range(12)]
    for number in numbers:
        await harness.lk.control.set_outcome(number, script=HANG_UP_AFTER_300_MS)
    body = campaign_body(
        seeded,
        [{"to_number": n} for n in numbers],
        pacing={"calls_per_second": 8, "max_concurrent": 2},
    )

    campaign_id = await _start(harness, body)
    await wait_status(harness, campaign_id, "completed", within_s=30)

    calls = [c for c in (await harness.lk.control.state())["calls"] if c["direction"] == "outbound"]
    assert len(calls) == 12
    assert _max_overlap([(c["created_at_ms"], c["ended_at_ms"]) for c in calls]) <= 2
    conn = await asyncpg.connect(harness.database_url)
    try:
        started = await conn.fetch(
            "SELECT started_at FROM campaign_attempts WHERE campaign_id = $1 ORDER BY started_at",
            campaign_id,
        )
    finally:
        await conn.close()
    gaps = [
        (b["started_at"] - a["started_at"]).total_seconds() for a, b in itertools.pairwise(started)
    ]
    assert min(gaps) >= 1 / 8 - 0.001
    created = sorted(c["created_at_ms"] for c in calls)
    # Dials reach LiveKit at most 8 per second: no 8 dials after the first within a second.
    assert all(created[i + 8] - created[i] >= 1000 - 50 for i in range(len(created) - 8))
