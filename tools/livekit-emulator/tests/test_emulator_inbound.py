"""Carrier INVITEs through the control API, matched against trunks and rules as LiveKit does."""

from __future__ import annotations

import asyncio
import re

import pytest
from livekit import api
from livekit.protocol import agent_dispatch, sip

from livekit_emulator.testing import ControlError, RunningEmulator
from tests.support.emulator import WAIT_S, inbound_trunk, individual_rule

CALLER = "+15550142"
OUR_NUMBER = "+15550100"


async def test_call_matching_nothing_is_refused_with_404(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await inbound_trunk(lkapi, "+15550111")
    with pytest.raises(ControlError) as caught:
        await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert caught.value.status_code == 404
    assert caught.value.body["sip_status_code"] == 404


async def test_trunk_without_a_rule_is_refused_with_404(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await inbound_trunk(lkapi, OUR_NUMBER)
    with pytest.raises(ControlError) as caught:
        await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert caught.value.status_code == 404


async def test_individual_rule_puts_the_caller_in_a_fresh_room_with_sip_attributes(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    rule = await individual_rule(lkapi, [trunk.sip_trunk_id], prefix="call")
    call = await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert re.fullmatch(r"call_\+15550142_[2-9A-HJ-NP-Za-km-z]{12}", call.room_name)
    assert (call.sip_trunk_id, call.sip_dispatch_rule_id) == (
        trunk.sip_trunk_id,
        rule.sip_dispatch_rule_id,
    )
    assert call.participant_identity == f"sip_{CALLER}"
    [participant] = (await lk.control.state())["participants"]
    assert participant["kind"] == "SIP"
    assert participant["name"] == f"Phone {CALLER}"
    attributes = participant["attributes"]
    assert attributes["sip.callID"] == call.sip_call_id
    assert attributes["sip.trunkID"] == trunk.sip_trunk_id
    assert attributes["sip.ruleID"] == rule.sip_dispatch_rule_id
    assert attributes["sip.phoneNumber"] == CALLER
    assert attributes["sip.trunkPhoneNumber"] == OUR_NUMBER
    assert attributes["sip.callStatus"] == "active"


async def test_direct_rule_uses_its_room_name(lk: RunningEmulator, lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    direct = sip.SIPDispatchRuleInfo(
        trunk_ids=[trunk.sip_trunk_id],
        rule=sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="lobby")),
    )
    await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=direct))
    assert (await lk.control.inbound_call(CALLER, OUR_NUMBER)).room_name == "lobby"


async def test_trunk_naming_the_number_beats_a_wildcard_trunk(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await inbound_trunk(lkapi, auth_username="u", auth_password="p")
    specific = await inbound_trunk(lkapi, "+1 555 0100")
    await individual_rule(lkapi, [])
    call = await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert call.sip_trunk_id == specific.sip_trunk_id


async def test_trunk_specific_rule_beats_a_wildcard_rule(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    await individual_rule(lkapi, [], prefix="wild")
    specific = await individual_rule(lkapi, [trunk.sip_trunk_id], prefix="mine")
    call = await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert call.sip_dispatch_rule_id == specific.sip_dispatch_rule_id
    assert call.room_name.startswith("mine_")


async def test_allowed_numbers_filter_callers(lk: RunningEmulator, lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER, allowed_numbers=["+15550999"])
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    with pytest.raises(ControlError):
        await lk.control.inbound_call(CALLER, OUR_NUMBER)
    assert (
        await lk.control.inbound_call("+15550999", OUR_NUMBER)
    ).sip_trunk_id == trunk.sip_trunk_id


async def test_rule_of_a_deleted_trunk_never_matches(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    await lkapi.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id))
    with pytest.raises(ControlError):
        await lk.control.inbound_call(CALLER, OUR_NUMBER)


async def test_room_config_agents_are_dispatched(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id], agent="talkifai-agent")
    call = await lk.control.inbound_call(CALLER, OUR_NUMBER)
    [dispatch] = (await lk.control.state())["agent_dispatches"]
    assert dispatch["agent_name"] == "talkifai-agent"
    assert dispatch["metadata"] == '{"k": "v"}'
    assert dispatch["room"] == call.room_name
    assert call.agent_dispatch_ids == [dispatch["id"]]
    listed = await lkapi.agent_dispatch.list_dispatch(call.room_name)
    assert [d.agent_name for d in listed] == ["talkifai-agent"]
    assert isinstance(listed[0], agent_dispatch.AgentDispatch)


async def test_hangup_makes_the_caller_leave_and_the_room_finish(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, OUR_NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    call = await lk.control.inbound_call(CALLER, OUR_NUMBER)
    await lk.control.hangup(call.sip_call_id)
    assert (await lk.control.state())["participants"] == []
    # The room finishes once empty: at the departure timeout (0 s here), a loop turn later.
    async with asyncio.timeout(WAIT_S):
        while True:
            state = await lk.control.state()
            if not state["rooms"]:
                break
            await asyncio.sleep(0.01)
    assert state["calls"][0]["status"] == "hangup"


async def test_hangup_of_an_unknown_call_is_404(lk: RunningEmulator) -> None:
    with pytest.raises(ControlError) as caught:
        await lk.control.hangup("SCL_missing")
    assert caught.value.status_code == 404
