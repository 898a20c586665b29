"""SIP dispatch rules: validation, key conflicts, updates, lists and deletes."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol import sip
from livekit.protocol.models import ListUpdate

from tests.support.emulator import inbound_trunk, individual_rule


async def test_rule_is_required(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_dispatch_rule(
            sip.CreateSIPDispatchRuleRequest(dispatch_rule=sip.SIPDispatchRuleInfo(name="r"))
        )
    assert (caught.value.code, caught.value.message) == ("invalid_argument", "missing rule")


async def test_rules_with_the_same_trunk_numbers_and_pin_conflict(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100")
    first = await individual_rule(lkapi, [trunk.sip_trunk_id], name="first")
    with pytest.raises(api.TwirpError) as caught:
        await individual_rule(lkapi, [trunk.sip_trunk_id], prefix="other")
    assert caught.value.code == "invalid_argument"
    assert caught.value.message == (
        "Dispatch rule for the same trunk, inbound number, number, and PIN combination already "
        f'exists in dispatch rule "{first.sip_dispatch_rule_id}" "first"'
    )


async def test_rules_for_different_trunks_or_pins_do_not_conflict(lkapi: api.LiveKitAPI) -> None:
    a = await inbound_trunk(lkapi, "+15550100")
    b = await inbound_trunk(lkapi, "+15550101")
    await individual_rule(lkapi, [a.sip_trunk_id])
    await individual_rule(lkapi, [b.sip_trunk_id])
    await individual_rule(lkapi, [])  # a wildcard rule only collides with other wildcards
    pinned = sip.SIPDispatchRuleInfo(
        trunk_ids=[a.sip_trunk_id],
        rule=sip.SIPDispatchRule(
            dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="x", pin="1234")
        ),
    )
    await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=pinned))
    assert len((await lkapi.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items) == 4


async def test_update_into_a_conflict_is_refused(lkapi: api.LiveKitAPI) -> None:
    a = await inbound_trunk(lkapi, "+15550100")
    b = await inbound_trunk(lkapi, "+15550101")
    await individual_rule(lkapi, [a.sip_trunk_id])
    rule_b = await individual_rule(lkapi, [b.sip_trunk_id])
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.update_dispatch_rule_fields(
            rule_b.sip_dispatch_rule_id, trunk_ids=[a.sip_trunk_id]
        )
    assert caught.value.message.startswith("Dispatch rule for the same trunk")


async def test_field_update_changes_trunks_metadata_and_attributes(lkapi: api.LiveKitAPI) -> None:
    a = await inbound_trunk(lkapi, "+15550100")
    b = await inbound_trunk(lkapi, "+15550101")
    rule = await individual_rule(lkapi, [a.sip_trunk_id])
    updated = await lkapi.sip.update_dispatch_rule_fields(
        rule.sip_dispatch_rule_id,
        trunk_ids=ListUpdate(add=[b.sip_trunk_id]),
        metadata="m",
        attributes={"team": "sales"},
    )
    assert list(updated.trunk_ids) == [a.sip_trunk_id, b.sip_trunk_id]
    assert (updated.metadata, dict(updated.attributes)) == ("m", {"team": "sales"})
    assert updated.rule == rule.rule


async def test_replace_keeps_the_rule_id(lkapi: api.LiveKitAPI) -> None:
    rule = await individual_rule(lkapi, [])
    new = sip.SIPDispatchRuleInfo(
        rule=sip.SIPDispatchRule(dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name="lobby"))
    )
    replaced = await lkapi.sip.update_dispatch_rule(rule.sip_dispatch_rule_id, new)
    assert replaced.sip_dispatch_rule_id == rule.sip_dispatch_rule_id
    assert replaced.rule.dispatch_rule_direct.room_name == "lobby"


async def test_unknown_rule_is_not_found_on_update_and_delete(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as on_update:
        await lkapi.sip.update_dispatch_rule_fields("SDR_missing", name="x")
    with pytest.raises(api.TwirpError) as on_delete:
        await lkapi.sip.delete_dispatch_rule(
            sip.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id="SDR_missing")
        )
    for caught in (on_update, on_delete):
        assert (caught.value.code, caught.value.message) == (
            "not_found",
            "requested sip dispatch rule does not exist",
        )


async def test_delete_returns_the_rule(lkapi: api.LiveKitAPI) -> None:
    rule = await individual_rule(lkapi, [])
    deleted = await lkapi.sip.delete_dispatch_rule(
        sip.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
    )
    assert deleted == rule
    assert (await lkapi.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())).items == []


async def test_list_by_trunk_includes_wildcard_rules(lkapi: api.LiveKitAPI) -> None:
    a = await inbound_trunk(lkapi, "+15550100")
    b = await inbound_trunk(lkapi, "+15550101")
    for_a = await individual_rule(lkapi, [a.sip_trunk_id])
    await individual_rule(lkapi, [b.sip_trunk_id])
    wildcard = await individual_rule(lkapi, [])
    listed = await lkapi.sip.list_dispatch_rule(
        sip.ListSIPDispatchRuleRequest(trunk_ids=[a.sip_trunk_id])
    )
    assert {r.sip_dispatch_rule_id for r in listed.items} == {
        for_a.sip_dispatch_rule_id,
        wildcard.sip_dispatch_rule_id,
    }
    by_id = await lkapi.sip.list_dispatch_rule(
        sip.ListSIPDispatchRuleRequest(dispatch_rule_ids=[for_a.sip_dispatch_rule_id])
    )
    assert [r.sip_dispatch_rule_id for r in by_id.items] == [for_a.sip_dispatch_rule_id]
