"""`POST /calls/{id}/hangup`: a user ends a live call; LiveKit's room goes, history says why."""

from __future__ import annotations

import httpx

from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness, eventually

TO = "+12025550123"


async def _hang_up(
    harness: Harness, call_id: str, org_id: str = "org_a", role: Role = Role.OWNER
) -> httpx.Response:
    return await harness.http.post(
        f"/calls/{call_id}/hangup", headers=harness.headers(org_id, role=role)
    )


async def test_an_owner_hangs_up_a_live_call_and_its_room_is_gone(harness: Harness) -> None:
    seeded = await harness.seed()
    answer = await harness.call(TO, seeded.phone_number)
    assert answer.status_code == 200, answer.text
    call_id, room = answer.json()["call_id"], answer.json()["room_name"]
    assert room in {r["name"] for r in (await harness.lk.control.state())["rooms"]}

    response = await _hang_up(harness, call_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == call_id
    assert body["status"] == "completed"
    assert body["end_reason"] == "hung_up_by_user"
    assert body["failure_reason"] is None
    assert body["duration_s"] is not None
    assert room not in {r["name"] for r in (await harness.lk.control.state())["rooms"]}
    sip_call = await harness.lk.control.call(body["sip_call_id"])
    assert sip_call["ended_at_ms"]
    history = (await harness.get_call(call_id)).json()
    assert history["status"] == "completed"
    assert history["end_reason"] == "hung_up_by_user"
    events = await harness.events_for(call_id, 3)
    assert events[-1]["type"] == "talkifai.telephony.call.completed.v1"
    assert events[-1]["data"]["end_reason"] == "hung_up_by_user"


async def test_hanging_up_an_ended_call_is_409_with_its_status(harness: Harness) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    assert (await _hang_up(harness, call_id)).status_code == 200

    again = await _hang_up(harness, call_id, role=Role.ADMIN)

    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["detail"] == (
        f"Call {call_id} has already ended (completed); there is nothing to hang up"
    )


async def test_a_call_that_failed_cannot_be_hung_up(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, sip_status_code=486)
    assert (await harness.call(TO, seeded.phone_number)).status_code == 408
    [call] = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]

    response = await _hang_up(harness, call["id"])

    assert response.status_code == 409
    assert "(failed)" in response.json()["detail"]


async def test_members_cannot_hang_up_and_other_organizations_do_not_see_the_call(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]

    as_member = await _hang_up(harness, call_id, role=Role.MEMBER)
    other_org = await _hang_up(harness, call_id, org_id="org_b")
    unknown = await _hang_up(harness, "call_doesnotexist")

    assert as_member.status_code == 403
    assert other_org.status_code == 404
    assert other_org.json()["detail"] == (await harness.get_call(call_id, "org_b")).json()["detail"]
    assert unknown.status_code == 404
    # The call goes on: nothing was hung up.
    call = await eventually(lambda: harness.get_call(call_id), lambda r: r.status_code == 200)
    assert call.json()["status"] == "answered"
    rooms = {r["name"] for r in (await harness.lk.control.state())["rooms"]}
    assert call.json()["room_name"] in rooms


async def test_hanging_up_a_ringing_call_fails_it_as_hung_up_by_user(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome(TO, ring_ms=10_000)
    placed = await harness.call(TO, seeded.phone_number, wait_until_answered=False)
    assert placed.status_code == 202, placed.text
    call_id = placed.json()["call_id"]
    await harness.wait_call(call_id, lambda c: c["status"] == "ringing")

    response = await _hang_up(harness, call_id)

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["failure_reason"]) == (
        "failed",
        "hung_up_by_user",
    )
    rooms = {r["name"] for r in (await harness.lk.control.state())["rooms"]}
    assert placed.json()["room_name"] not in rooms
    # The dialer, whose dial ends with the room, leaves the call as the hangup recorded it.
    await harness.settled_events()
    call = (await harness.get_call(call_id)).json()
    assert (call["status"], call["failure_reason"]) == ("failed", "hung_up_by_user")


async def test_livekit_unavailable_is_503_and_the_call_goes_on(harness: Harness) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    await harness.lk.control.set_faults(unavailable=True)

    response = await _hang_up(harness, call_id)

    assert response.status_code == 503
    assert "try again" in response.json()["detail"]
    assert (await harness.get_call(call_id)).json()["status"] == "answered"
    await harness.lk.control.set_faults()
    assert (await _hang_up(harness, call_id)).json()["status"] == "completed"
