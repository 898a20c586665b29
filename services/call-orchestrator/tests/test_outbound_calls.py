"""Outbound calls end to end: read model from events, the emulator's carrier outcomes, history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from talkifai_common.auth import Role
from talkifai_common.events import EventName
from tests.support.call_orchestrator import Harness, agent_data, eventually, number_data

TO = "+12025550123"


async def test_answered_call_dispatches_the_agent_and_dials_from_the_numbers_trunk(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100")

    response = await harness.call(TO, seeded.phone_number, metadata={"lead": "42"})

    assert response.status_code == 200, response.text
    body = response.json()
    room = f"outbound_{seeded.agent.id}_12025550123_12025550100"
    assert body == {
        "success": True,
        "message": "Call initiated successfully",
        "room_name": room,
        "agent": {"id": seeded.agent.id, "name": "Sales Agent"},
        "from_number": "+12025550100",
        "to_number": TO,
        "call_id": body["call_id"],
        "status": "answered",
    }
    state = await harness.lk.control.state()
    dispatches = [d for d in state["agent_dispatches"] if d["agent_name"] == "talkifai-agent"]
    assert [d["room"] for d in dispatches] == [room]
    metadata = json.loads(dispatches[0]["metadata"])
    assert metadata == {
        "agent_id": seeded.agent.id,
        "call_id": body["call_id"],
        "direction": "outbound",
        "phone_number_id": seeded.number_id,
        "from_number": "+12025550100",
        "to_number": TO,
        "metadata": {"lead": "42"},
    }
    [sip_call] = state["calls"]
    assert sip_call["sip_trunk_id"] == seeded.outbound_trunk_id
    assert sip_call["to_number"] == TO
    call = (await harness.get_call(body["call_id"])).json()
    assert call["status"] == "answered"
    assert call["direction"] == "outbound"
    assert call["sip_call_id"] == sip_call["sip_call_id"]
    assert call["answered_at"] is not None


async def test_a_hangup_completes_the_call_with_its_duration_and_events(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    sip_call_id = (await harness.get_call(call_id)).json()["sip_call_id"]

    await harness.lk.control.hangup(sip_call_id)

    call = await harness.wait_call(call_id, lambda c: c["status"] == "completed")
    assert call["duration_s"] is not None and call["duration_s"] >= 0
    assert call["total_duration_s"] >= call["duration_s"]
    events = await harness.events_for(call_id, 3)
    assert [e["type"] for e in events] == [
        "talkifai.telephony.call.initiated.v1",
        "talkifai.telephony.call.answered.v1",
        "talkifai.telephony.call.completed.v1",
    ]
    assert events[-1]["data"]["duration_s"] == call["duration_s"]
    assert {e["orgid"] for e in events} == {"org_a"}


CARRIER_OUTCOMES = [
    (404, 400, "invalid_number"),
    (484, 400, "invalid_number"),
    (488, 400, "invalid_number"),
    (604, 400, "invalid_number"),
    (402, 402, "insufficient_balance"),
    (486, 408, "busy"),
    (600, 408, "busy"),
    (480, 408, "no_answer"),
    (603, 408, "declined"),
    (403, 502, "carrier_error"),
    (503, 502, "carrier_error"),
]


@pytest.mark.parametrize(("sip_status", "http_status", "error"), CARRIER_OUTCOMES)
async def test_carrier_refusals_map_to_the_documented_status(
    harness: Harness, sip_status: int, http_status: int, error: str
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, sip_status_code=sip_status)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == http_status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"] == error
    assert body["sip_status_code"] == sip_status
    history = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
    assert history[0]["status"] == "failed"
    assert history[0]["failure_reason"] == error
    assert history[0]["sip_status_code"] == sip_status


async def test_ringing_timeout_is_408_no_answer(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, no_answer=True)

    response = await harness.call(TO, seeded.phone_number, ringing_timeout_s=1)

    assert response.status_code == 408
    assert response.json() == {
        "success": False,
        "error": "no_answer",
        "message": "Call was not answered",
    }
    call_id = (await harness.http.get("/calls", headers=harness.headers())).json()["items"][0]
    assert call_id["failure_reason"] == "no_answer"


async def test_ringing_is_recorded_before_the_answer(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=400)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 200
    call = (await harness.get_call(response.json()["call_id"])).json()
    assert call["ringing_at"] is not None
    assert call["ringing_at"] <= call["answered_at"]
    events = await harness.events_for(call["id"], 3)
    assert [e["data"]["status"] for e in events] == ["initiated", "ringing", "answered"]


async def test_livekit_unavailable_is_503(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_faults(unavailable=True)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 503
    assert response.json()["error"] == "livekit_unavailable"
    history = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
    assert history[0]["failure_reason"] == "livekit_unavailable"


async def test_a_database_failure_is_500_in_the_routes_body_and_places_no_call(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    conn = await harness.db()
    await conn.execute("ALTER TABLE calls RENAME TO calls_away")  # every write of a call fails

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "error": "internal",
        "message": "Server error: internal error initiating the call",
    }
    assert (await harness.lk.control.state())["calls"] == []
    assert await conn.fetchval("SELECT live FROM org_live_calls WHERE org_id = 'org_a'") in (
        None,
        0,
    )


async def test_unreachable_carrier_is_502(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, unreachable=True)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 502
    assert response.json()["error"] == "carrier_unreachable"


async def test_unknown_number_another_orgs_number_and_no_outbound_agent_are_404(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100", org_id="org_b")
    agent = agent_data("agent_inbound_only")
    await harness.publish(EventName.AGENT_CREATED, "org_a", agent.id, agent)
    inbound_only = number_data("pn_inbound_only", "+12025550111", inbound=agent)
    await harness.publish(EventName.PHONE_NUMBER_CREATED, "org_a", "pn_inbound_only", inbound_only)
    await harness.wait_number_version("pn_inbound_only", 1)

    for from_number in ("+12025550199", seeded.phone_number, "+12025550111"):
        response = await harness.call(TO, from_number, org_id="org_a")
        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "error": "phone_number_not_found",
            "message": "Phone number not found",
        }


async def test_text_agent_cannot_make_voice_calls(harness: Harness) -> None:
    seeded = await harness.seed(architecture="text")

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 400
    assert response.json()["message"] == "Agent is a text-only agent and cannot make voice calls"


async def test_number_whose_outbound_trunk_is_not_synced_is_409(harness: Harness) -> None:
    seeded = await harness.seed(synced=False)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 409
    assert response.json()["error"] == "trunk_not_synced"
    assert "not synced" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        (
            {"to_number": "12025550123", "from_number": "+12025550100"},
            "invalid_number",
            "start with +",
        ),
        ({"to_number": "+1202", "from_number": "+12025550100"}, "invalid_number", "at least 10"),
        ({"to_number": TO, "from_number": "+12025550100x"}, "invalid_number", "from_number"),
        (
            {"to_number": TO, "from_number": "+12025550100", "colour": 1},
            "invalid_request",
            "Unknown field",
        ),
        ({"to_number": TO}, "invalid_request", "from_number"),
        (
            {"to_number": TO, "from_number": "+12025550100", "ringing_timeout_s": 121},
            "invalid_request",
            "ringing_timeout_s",
        ),
    ],
)
async def test_bad_requests_are_400_with_a_clear_message(
    harness: Harness, body: dict[str, Any], error: str, text: str
) -> None:
    await harness.seed()

    response = await harness.http.post(
        "/telephony/outbound-call", json=body, headers=harness.headers()
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert text in response.json()["message"]


async def test_malformed_json_and_missing_token_use_the_routes_error_body(harness: Harness) -> None:
    bad = await harness.http.post(
        "/telephony/outbound-call",
        content=b"{not json",
        headers={**harness.headers(), "content-type": "application/json"},
    )
    anonymous = await harness.http.post(
        "/telephony/outbound-call", json={"to_number": TO, "from_number": "+12025550100"}
    )

    assert bad.status_code == 400
    assert bad.json()["success"] is False
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthenticated"


async def test_a_second_call_between_the_same_numbers_while_one_rings_is_409(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=2000)
    first = await harness.call(TO, seeded.phone_number, wait_until_answered=False)

    second = await harness.call(TO, seeded.phone_number)

    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["error"] == "call_in_progress"
    # Refused at the lookup: the live call's room got no second agent.
    assert len(_agent_dispatches(await harness.lk.control.state())) == 1


@pytest.mark.parametrize("overrides", [{"max_concurrent_calls_per_org": 1}])
async def test_the_organizations_concurrent_call_limit_is_429(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=2000)
    first = await harness.call(TO, seeded.phone_number, wait_until_answered=False)

    second = await harness.call("+12025550124", seeded.phone_number)

    assert first.status_code == 202
    assert second.status_code == 429
    assert second.json()["error"] == "too_many_calls"
    assert len(_agent_dispatches(await harness.lk.control.state())) == 1  # refused at the lookup


async def _race(harness: Harness, from_number: str, callees: list[str]) -> list[httpx.Response]:
    """Place two calls that both pass the lookup's checks before either is recorded: the test
    holds a lock every call's recording needs until both have dispatched their agent."""
    conn = await harness.db()
    lock = conn.transaction()
    await lock.start()
    await conn.execute("LOCK TABLE org_live_calls IN EXCLUSIVE MODE")  # reads still pass
    calls = [asyncio.create_task(harness.call(to, from_number)) for to in callees]
    try:
        await eventually(
            lambda: harness.lk.control.state(),
            lambda state: len(_agent_dispatches(state)) == len(callees),
        )
    finally:
        await lock.rollback()
    return list(await asyncio.gather(*calls))


def _agent_dispatches(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in state["agent_dispatches"] if d["agent_name"] == "talkifai-agent"]


async def _assert_only_the_winner_keeps_its_dispatch(harness: Harness, winner_call_id: str) -> None:
    def withdrawn(dispatch: dict[str, Any]) -> bool:
        deleted_at: str = dispatch["state"]["deleted_at"]
        return deleted_at != "0"

    state = await eventually(
        lambda: harness.lk.control.state(),
        lambda state: sum(withdrawn(d) for d in _agent_dispatches(state)) == 1,
    )
    for dispatch in _agent_dispatches(state):
        won = json.loads(dispatch["metadata"])["call_id"] == winner_call_id
        assert withdrawn(dispatch) is not won, dispatch


async def test_a_call_that_loses_the_race_for_its_room_withdraws_its_agent(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    responses = await _race(harness, seeded.phone_number, [TO, TO])

    assert sorted(r.status_code for r in responses) == [200, 409]
    [loser] = [r for r in responses if r.status_code == 409]
    assert loser.json()["error"] == "call_in_progress"
    [winner] = [r for r in responses if r.status_code == 200]
    await _assert_only_the_winner_keeps_its_dispatch(harness, winner.json()["call_id"])
    assert len((await harness.lk.control.state())["calls"]) == 1


@pytest.mark.parametrize("overrides", [{"max_concurrent_calls_per_org": 1}])
async def test_a_call_that_loses_the_race_for_the_last_slot_withdraws_its_agent(
    harness: Harness,
) -> None:
    seeded = await harness.seed()

    responses = await _race(harness, seeded.phone_number, [TO, "+12025550124"])

    assert sorted(r.status_code for r in responses) == [200, 429]
    [winner] = [r for r in responses if r.status_code == 200]
    await _assert_only_the_winner_keeps_its_dispatch(harness, winner.json()["call_id"])
    assert len((await harness.lk.control.state())["calls"]) == 1


async def test_a_retry_with_the_same_idempotency_key_replays_the_first_answer(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    key = {"Idempotency-Key": "retry-1"}

    first = await harness.call(TO, seeded.phone_number, headers=key)
    second = await harness.call(TO, seeded.phone_number, headers=key)
    other_body = await harness.call("+12025550124", seeded.phone_number, headers=key)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert len((await harness.lk.control.state())["calls"]) == 1
    assert other_body.status_code == 422
    assert other_body.json()["error"] == "idempotency_key_reused"


async def test_without_waiting_the_call_is_202_and_its_answer_follows_in_history(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=200)

    response = await harness.call(TO, seeded.phone_number, wait_until_answered=False)

    assert response.status_code == 202
    assert response.json()["status"] == "initiated"
    call = await harness.wait_call(response.json()["call_id"], lambda c: c["status"] == "answered")
    assert call["ringing_at"] is not None


async def test_without_waiting_a_busy_callee_is_a_failed_call(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, sip_status_code=486)

    response = await harness.call(TO, seeded.phone_number, wait_until_answered=False)

    call = await harness.wait_call(response.json()["call_id"], lambda c: c["status"] == "failed")
    assert (call["failure_reason"], call["sip_status_code"]) == ("busy", 486)


async def test_members_read_only_their_organizations_calls(harness: Harness) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    own = await harness.http.get(f"/calls/{call_id}", headers=harness.headers(role=Role.MEMBER))
    other = await harness.get_call(call_id, org_id="org_b")
    listed = await harness.http.get("/calls", headers=harness.headers("org_b"))

    assert own.status_code == 200
    assert other.status_code == 404
    assert listed.json()["items"] == []


@pytest.mark.parametrize("wait", [True, False])
async def test_a_slow_livekit_is_503_within_the_deadline_and_the_call_fails(
    harness: Harness, wait: bool
) -> None:
    seeded = await harness.seed()
    room = f"outbound_{seeded.agent.id}_12025550123_12025550100"
    # Far beyond LIVEKIT_TIMEOUT_S (1.5 s); livekit-api itself would wait for every answer.
    await harness.lk.control.set_faults(latency_ms=4000)

    response = await harness.http.post(
        "/telephony/outbound-call",
        json={"to_number": TO, "from_number": seeded.phone_number, "wait_until_answered": wait},
        headers=harness.headers(),
        timeout=3.5,
    )

    assert response.status_code == 503, response.text
    assert response.json() == {
        "success": False,
        "error": "livekit_unavailable",
        "message": "The call service (LiveKit) is unavailable; try again shortly",
    }
    [call] = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
    assert (call["status"], call["failure_reason"]) == ("failed", "livekit_unavailable")

    # The late dispatch lands in LiveKit after all; the room closing after it shows that the
    # failed call's room was cleaned up (and nothing is left to leak into the next test).
    def cleaned_up(state: dict[str, Any]) -> bool:
        dispatched = any(d["room"] == room for d in state["agent_dispatches"])
        return dispatched and all(r["name"] != room for r in state["rooms"])

    state = await eventually(harness.lk.control.state, cleaned_up, within_s=15)
    await harness.lk.control.set_faults()
    assert state["calls"] == []


@pytest.mark.parametrize(
    ("number_settings", "to_user", "from_user"),
    [
        ({"carrier": "vonage"}, "12025550123", "12025550111"),  # Vonage: E.164 without `+`
        (
            {"number_format": {"leading_plus": True, "tech_prefix": "77#"}},
            "77#" + TO,
            "77#+12025550111",
        ),
    ],
)
async def test_the_invite_writes_both_numbers_as_the_carrier_wants(
    harness: Harness, number_settings: dict[str, Any], to_user: str, from_user: str
) -> None:
    # Not a Twilio host: LiveKit itself puts the `+` back on the From of calls to Twilio.
    seeded = await harness.seed(
        "+12025550111", trunk_address="sip.carrier.example", **number_settings
    )
    response = await harness.call(TO, seeded.phone_number)
    assert response.status_code == 200, response.text
    # The call and its history keep E.164; only the INVITE LiveKit sends is written differently.
    assert (response.json()["to_number"], response.json()["from_number"]) == (TO, "+12025550111")
    [sip_call] = (await harness.lk.control.state())["calls"]
    assert (sip_call["to_number"], sip_call["from_number"]) == (to_user, from_user)
