"""The seed's status badge holds for calls: an inactive number (not fully configured) places none."""

from __future__ import annotations

from talkifai_common.events import EventName, NumberStatus
from tests.support.call_orchestrator import Harness, number_data

TO = "+12025550123"


async def test_an_inactive_number_is_refused_before_any_agent_or_callee_is_reached(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100")  # active, with its outbound trunk in LiveKit
    # The SIP credentials removed: numbers-api now says inactive (its trunk is still there).
    inactive = number_data(
        seeded.number_id, seeded.phone_number, outbound=seeded.agent, version=2
    ).model_copy(
        update={"sip_username": None, "has_sip_password": False, "status": NumberStatus.INACTIVE}
    )
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, seeded.org_id, seeded.number_id, inactive)
    await harness.wait_number_version(seeded.number_id, 2)

    response = await harness.call(TO, seeded.phone_number)

    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "phone_number_inactive"
    assert "+12025550100 is inactive" in body["message"]
    assert "SIP credentials" in body["message"]
    state = await harness.lk.control.state()
    assert [d for d in state["agent_dispatches"] if d["agent_name"] == "talkifai-agent"] == []
    assert state["calls"] == []
    history = await harness.http.get("/calls", headers=harness.headers())
    assert history.json()["items"] == []


async def test_a_number_made_active_again_places_calls(harness: Harness) -> None:
    seeded = await harness.seed("+12025550100")
    inactive = number_data(
        seeded.number_id, seeded.phone_number, outbound=seeded.agent, version=2
    ).model_copy(update={"termination_uri": None, "status": NumberStatus.INACTIVE})
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, seeded.org_id, seeded.number_id, inactive)
    await harness.wait_number_version(seeded.number_id, 2)
    assert (await harness.call(TO, seeded.phone_number)).status_code == 404

    active = number_data(seeded.number_id, seeded.phone_number, outbound=seeded.agent, version=3)
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, seeded.org_id, seeded.number_id, active)
    await harness.wait_number_version(seeded.number_id, 3)

    response = await harness.call(TO, seeded.phone_number)
    assert response.status_code == 200, response.text
