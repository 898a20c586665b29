"""Inbound calls and call ends from LiveKit's signed webhooks; forged or malformed ones refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from livekit import api as lkapi

from livekit_emulator.webhooks import sign
from tests.support.call_orchestrator import INTERNAL_TOKEN, Harness, Seeded, eventually

CALLER = "+14155550142"


async def inbound_route(harness: Harness, seeded: Seeded) -> None:
    """The inbound trunk and dispatch rule trunk-sync creates for a number."""
    trunk = await harness.livekit.sip.create_inbound_trunk(
        lkapi.CreateSIPInboundTrunkRequest(
            trunk=lkapi.SIPInboundTrunkInfo(name="inbound", numbers=[seeded.phone_number])
        )
    )
    await harness.livekit.sip.create_dispatch_rule(
        lkapi.CreateSIPDispatchRuleRequest(
            rule=lkapi.SIPDispatchRule(
                dispatch_rule_individual=lkapi.SIPDispatchRuleIndividual(room_prefix="inbound")
            ),
            trunk_ids=[trunk.sip_trunk_id],
            room_config=lkapi.RoomConfiguration(
                agents=[
                    lkapi.RoomAgentDispatch(
                        agent_name="talkifai-agent",
                        metadata=json.dumps({"agent_id": seeded.agent.id}),
                    )
                ]
            ),
        )
    )


async def test_an_inbound_call_is_recorded_from_the_webhook_and_completed_on_hangup(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100", inbound=True)
    await inbound_route(harness, seeded)

    call = await harness.lk.control.inbound_call(CALLER, seeded.phone_number)

    async def history() -> list[dict[str, object]]:
        page = await harness.http.get("/calls?direction=inbound", headers=harness.headers())
        return list(page.json()["items"])

    [recorded] = await eventually(history, lambda items: len(items) == 1)
    assert recorded["from_number"] == CALLER
    assert recorded["to_number"] == seeded.phone_number
    assert recorded["room_name"] == call.room_name
    assert recorded["agent"] == {"id": seeded.agent.id, "name": "Sales Agent"}
    assert recorded["sip_call_id"] == call.sip_call_id
    assert recorded["status"] == "answered"

    await harness.lk.control.hangup(call.sip_call_id)

    done = await harness.wait_call(str(recorded["id"]), lambda c: c["status"] == "completed")
    assert done["duration_s"] is not None
    events = await harness.events_for(str(recorded["id"]), 3)
    assert [e["data"]["status"] for e in events] == ["initiated", "answered", "completed"]


async def test_consent_on_an_inbound_call_is_reported_by_room_and_starts_the_recording(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100", inbound=True, recording_mode="consent")
    await inbound_route(harness, seeded)
    call = await harness.lk.control.inbound_call(CALLER, seeded.phone_number)
    path = f"/internal/rooms/{call.room_name}/recording-consent"
    internal = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}

    async def reported() -> Any:
        return await harness.http.post(path, json={"consent": True}, headers=internal)

    consent = await eventually(reported, lambda r: r.status_code == 200)
    unknown = await harness.http.post(
        "/internal/rooms/no-such-room/recording-consent", json={"consent": True}, headers=internal
    )

    [egress] = (await harness.lk.control.state())["egresses"]
    assert egress["room_name"] == call.room_name
    recorded = await harness.get_call(consent.json()["call_id"])
    assert recorded.json()["direction"] == "inbound"
    assert recorded.json()["recording_egress_id"] == egress["egress_id"]
    assert unknown.status_code == 404


async def test_a_forged_webhook_is_401(harness: Harness) -> None:
    body = json.dumps({"event": "room_finished", "room": {"name": "x"}, "id": "EV_1"}).encode()

    forged = await harness.http.post(
        "/livekit/webhook",
        content=body,
        headers={
            "Authorization": sign(
                body, harness.lk.api_key, "not-the-secret-0123456789-abcdefghijkl"
            ),
            "Content-Type": "application/webhook+json",
        },
    )
    unsigned = await harness.http.post("/livekit/webhook", content=body)
    tampered = await harness.http.post(
        "/livekit/webhook",
        content=body + b" ",
        headers={"Authorization": sign(body, harness.lk.api_key, harness.lk.api_secret)},
    )

    assert forged.status_code == unsigned.status_code == tampered.status_code == 401


async def test_malformed_and_repeated_webhooks_leave_history_intact(harness: Harness) -> None:
    seeded = await harness.seed()
    response = await harness.call("+12025550123", seeded.phone_number)
    call_id = response.json()["call_id"]
    room = response.json()["room_name"]
    garbage = b'{"event": 12, "room": "not an object"'

    def signed(body: bytes) -> dict[str, str]:
        return {
            "Authorization": sign(body, harness.lk.api_key, harness.lk.api_secret),
            "Content-Type": "application/webhook+json",
        }

    malformed = await harness.http.post(
        "/livekit/webhook", content=garbage, headers=signed(garbage)
    )
    unknown = json.dumps(
        {
            "event": "participant_left",
            "id": "EV_2",
            "room": {"name": "nope"},
            "participant": {"identity": "sip_x", "kind": "SIP"},
        }
    ).encode()
    stranger = await harness.http.post("/livekit/webhook", content=unknown, headers=signed(unknown))
    finished = json.dumps({"event": "room_finished", "room": {"name": room}}).encode()
    flood = await asyncio.gather(
        *(
            harness.http.post("/livekit/webhook", content=finished, headers=signed(finished))
            for _ in range(30)
        )
    )

    assert malformed.status_code == 400
    assert stranger.status_code == 200
    assert {r.status_code for r in flood} == {200}
    call = await harness.wait_call(call_id, lambda c: c["status"] == "completed")
    assert call["answered_at"] is not None
    events = await harness.events_for(call_id, 3)
    statuses = [
        e["data"]["status"]
        for e in await harness.settled_events("telephony.call.")
        if e["subject"] == call_id
    ]
    assert statuses == ["initiated", "answered", "completed"]
    assert len(events) == 3
