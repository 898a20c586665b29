"""Calls never report success when their agent cannot run or fails: the check before dialling
against what agent-runtime advertises, and agent-runtime's failure report during a call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from livekit.protocol.room import DeleteRoomRequest

from talkifai_common.agent_capabilities import RuntimeCapabilities, advertise
from talkifai_common.events import CallAgentFailedData
from tests.support.call_orchestrator import INTERNAL_TOKEN, Harness, eventually

TO = "+12025550123"
AGENT_ERROR = "No API key for provider cartesia: set CARTESIA_API_KEY"


async def _nothing_dialled(harness: Harness) -> None:
    state = await harness.lk.control.state()
    assert state["calls"] == []
    assert state["participants"] == []
    assert state["agent_dispatches"] == []
    history = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
    assert history == []


async def test_no_agent_runtime_running_refuses_the_call_before_anyone_is_rung(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.stop_agent_runtime()
    await eventually(harness.runtimes_live, lambda live: live == 0)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 503, response.text
    assert response.json() == {
        "success": False,
        "error": "agent_runtime_unavailable",
        "message": "No agent runtime is running to take the call; try again shortly",
    }
    await _nothing_dialled(harness)


async def test_an_agent_whose_provider_keys_no_runtime_has_is_refused_naming_them(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.stop_agent_runtime()
    only_openai = RuntimeCapabilities(
        instance_id="art_openai_only",
        agent_name="talkifai-agent",
        key_variables=("OPENAI_API_KEY",),
        at=datetime.now(UTC),
    )
    harness.runtime_advertiser = asyncio.create_task(
        advertise(harness.nc.jetstream(), lambda: only_openai)
    )

    # The service must see the new runtime and no longer the stand-in: one live runtime is not
    # enough (the stand-in's deletion may not have reached the service's board yet).
    async def live_ids() -> list[str]:
        assert harness.runtimes is not None
        return [r.instance_id for r in harness.runtimes.live("talkifai-agent")]

    await eventually(live_ids, lambda ids: ids == ["art_openai_only"])

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 500, response.text
    assert response.json() == {
        "success": False,
        "error": "agent_provider_key_missing",
        "message": "Server error: the agent cannot run: no agent runtime has its providers' API "
        "keys (set CARTESIA_API_KEY, DEEPGRAM_API_KEY where agent-runtime runs)",
    }
    await _nothing_dialled(harness)


async def test_an_agent_failing_while_the_callee_rings_fails_the_call_with_its_error(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=30_000)
    placing = asyncio.create_task(harness.call(TO, seeded.phone_number))
    [call] = (
        await eventually(
            lambda: harness.http.get("/calls", headers=harness.headers()),
            lambda r: len(r.json()["items"]) == 1,
        )
    ).json()["items"]
    await eventually(harness.lk.control.state, lambda s: len(s["participants"]) == 1)

    # What agent-runtime does when its job fails: report, then hang up.
    report = CallAgentFailedData(
        call_id=call["id"],
        room_name=call["room_name"],
        job_id="AJ_test",
        agent_id=seeded.agent.id,
        direction="outbound",
        phone_number=seeded.phone_number,
        reason="provider_key_missing",
        error=AGENT_ERROR,
        retryable=False,
        at=datetime.now(UTC),
    )
    reported = await harness.http.post(
        "/internal/agent-failures",
        content=report.model_dump_json(),
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}", "Content-Type": "application/json"},
    )
    await harness.livekit.room.delete_room(DeleteRoomRequest(room=call["room_name"]))
    response = await placing

    assert reported.status_code == 200, reported.text
    assert response.status_code == 500, response.text
    assert response.json() == {
        "success": False,
        "error": "agent_failed",
        "message": f"Server error: the agent failed: {AGENT_ERROR}",
    }
    stored = (await harness.get_call(call["id"])).json()
    assert (stored["status"], stored["failure_reason"], stored["failure_detail"]) == (
        "failed",
        "agent_failed",
        AGENT_ERROR,
    )
    events = await harness.events_for(call["id"], 2)
    failed: list[dict[str, Any]] = [e for e in events if e["type"].endswith("call.failed.v1")]
    assert [e["data"]["failure_reason"] for e in failed] == ["agent_failed"]
    assert failed[0]["data"]["failure_detail"] == AGENT_ERROR


async def test_an_agent_failure_report_needs_the_internal_token_and_a_known_call(
    harness: Harness,
) -> None:
    report = CallAgentFailedData(
        call_id=None,
        room_name="outbound_nobody_1_2",
        job_id="AJ_test",
        agent_id=None,
        direction=None,
        phone_number=None,
        reason="internal_error",
        error="boom",
        retryable=False,
        at=datetime.now(UTC),
    )
    body = report.model_dump_json()
    json_type = {"Content-Type": "application/json"}

    as_member = await harness.http.post(
        "/internal/agent-failures", content=body, headers={**harness.headers(), **json_type}
    )
    unknown = await harness.http.post(
        "/internal/agent-failures",
        content=body,
        headers={"Authorization": f"Bearer {INTERNAL_TOKEN}", **json_type},
    )

    assert as_member.status_code == 401
    assert unknown.status_code == 404
