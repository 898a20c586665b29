"""SIP trunks: LiveKit's validation messages, conflicts, updates, lists and deletes."""

from __future__ import annotations

import pytest
from livekit import api
from livekit.protocol import sip
from livekit.protocol.models import ListUpdate, Pagination

from tests.support.emulator import inbound_trunk, individual_rule, outbound_trunk


async def test_inbound_trunk_needs_auth_addresses_or_numbers(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, name="open")
    assert (caught.value.code, caught.value.status) == ("invalid_argument", 400)
    assert caught.value.message == (
        "for security, one of the fields must be set: AuthUsername+AuthPassword, AllowedAddresses or Numbers"
    )


async def test_inbound_trunk_with_only_credentials_is_accepted(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, auth_username="u", auth_password="p")
    assert trunk.sip_trunk_id.startswith("ST_")


async def test_inbound_trunks_sharing_a_normalised_number_conflict(lkapi: api.LiveKitAPI) -> None:
    first = await inbound_trunk(lkapi, "+1 (555) 010-0")
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, "15550100")
    assert caught.value.code == "invalid_argument"
    assert caught.value.message == (
        f'Conflicting inbound SIP Trunks: "<new>" and "{first.sip_trunk_id}", '
        'using the same number(s) ["15550100"] without AllowedNumbers set'
    )


async def test_inbound_trunks_sharing_a_number_are_told_apart_by_allowed_numbers(
    lkapi: api.LiveKitAPI,
) -> None:
    await inbound_trunk(lkapi, "+15550100")
    second = await inbound_trunk(lkapi, "+15550100", allowed_numbers=["+15550199"])
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, "+15550100", allowed_numbers=["+1 555 0199"])
    assert caught.value.message == (
        f'Conflicting inbound SIP Trunks: "<new>" and "{second.sip_trunk_id}", using the same '
        'number(s) ["+15550100"] and AllowedNumber "+1 555 0199"'
    )


async def test_two_trunks_without_numbers_conflict(lkapi: api.LiveKitAPI) -> None:
    await inbound_trunk(lkapi, auth_username="a", auth_password="b")
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, auth_username="c", auth_password="d")
    assert "using the same number(s) <any> without AllowedNumbers set" in caught.value.message


async def test_update_that_makes_trunks_share_a_number_is_refused(lkapi: api.LiveKitAPI) -> None:
    await inbound_trunk(lkapi, "+15550100")
    other = await inbound_trunk(lkapi, "+15550101")
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.update_inbound_trunk_fields(other.sip_trunk_id, numbers=["+15550100"])
    assert caught.value.code == "invalid_argument"
    assert caught.value.message.startswith("Conflicting inbound SIP Trunks:")


async def test_trunk_id_must_not_be_set_on_create(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await inbound_trunk(lkapi, "+15550100", sip_trunk_id="ST_mine")
    assert caught.value.message == "trunk id must not be set"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"numbers": [], "address": "sip.example.com"}, "no trunk numbers specified"),
        ({"numbers": ["+15550100"], "address": ""}, "no outbound address specified"),
        (
            {"numbers": ["+15550100"], "address": "sip:sip.example.com"},
            "trunk address should be a hostname or IP, not SIP URI",
        ),
        (
            {"numbers": ["+15550100"], "address": "user@sip.example.com"},
            "trunk address should be a hostname or IP, not SIP URI",
        ),
        (
            {"numbers": ["+15550100"], "address": "sip.example.com;transport=tls"},
            "trunk address should not contain transport parameter",
        ),
    ],
)
async def test_outbound_trunk_validation(
    lkapi: api.LiveKitAPI, fields: dict[str, object], message: str
) -> None:
    request = sip.CreateSIPOutboundTrunkRequest(trunk=sip.SIPOutboundTrunkInfo(name="o", **fields))  # type: ignore[arg-type]
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.create_outbound_trunk(request)
    assert (caught.value.code, caught.value.message) == ("invalid_argument", message)


async def test_outbound_trunk_keeps_transport_and_media_encryption(lkapi: api.LiveKitAPI) -> None:
    trunk = await outbound_trunk(
        lkapi,
        transport=sip.SIPTransport.SIP_TRANSPORT_TLS,
        media_encryption=sip.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
        auth_username="u",
        auth_password="p",
    )
    listed = await lkapi.sip.list_outbound_trunk(sip.ListSIPOutboundTrunkRequest())
    assert listed.items == [trunk]
    assert listed.items[0].transport == sip.SIPTransport.SIP_TRANSPORT_TLS


async def test_replace_update_keeps_the_id_and_replaces_everything(lkapi: api.LiveKitAPI) -> None:
    trunk = await outbound_trunk(lkapi, metadata="old")
    replaced = await lkapi.sip.update_outbound_trunk(
        trunk.sip_trunk_id,
        sip.SIPOutboundTrunkInfo(address="sip2.example.com", numbers=["+15550111"]),
    )
    assert replaced.sip_trunk_id == trunk.sip_trunk_id
    assert (replaced.address, list(replaced.numbers), replaced.metadata) == (
        "sip2.example.com",
        ["+15550111"],
        "",
    )


async def test_field_update_changes_only_the_given_fields(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100", "+15550101", name="n", metadata="m")
    updated = await lkapi.sip.update_inbound_trunk_fields(
        trunk.sip_trunk_id,
        numbers=ListUpdate(add=["+15550102"], remove=["+15550100"]),
        metadata="m2",
    )
    assert list(updated.numbers) == ["+15550101", "+15550102"]
    assert (updated.name, updated.metadata) == ("n", "m2")


async def test_list_update_cannot_clear_and_change_at_once(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100")
    request = sip.UpdateSIPInboundTrunkRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        update=sip.SIPInboundTrunkUpdate(numbers=ListUpdate(clear=True, add=["+15550101"])),
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip._client.request(
            "SIP",
            "UpdateSIPInboundTrunk",
            request,
            lkapi.sip._admin_headers(),
            sip.SIPInboundTrunkInfo,
        )
    assert caught.value.message == "cannot clear and change the list at the same time"


async def test_field_update_that_empties_an_outbound_trunk_fails_as_livekit_does(
    lkapi: api.LiveKitAPI,
) -> None:
    trunk = await outbound_trunk(lkapi)
    request = sip.UpdateSIPOutboundTrunkRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        update=sip.SIPOutboundTrunkUpdate(numbers=ListUpdate(clear=True)),
    )
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip._client.request(
            "SIP",
            "UpdateSIPOutboundTrunk",
            request,
            lkapi.sip._admin_headers(),
            sip.SIPOutboundTrunkInfo,
        )
    # The check runs after the update is applied, where LiveKit returns a plain error.
    assert (caught.value.code, caught.value.message) == ("unknown", "no trunk numbers specified")


async def test_updating_an_unknown_trunk_is_not_found(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.update_inbound_trunk_fields("ST_missing", name="x")
    assert (caught.value.code, caught.value.status) == ("not_found", 404)
    assert caught.value.message == "requested sip trunk does not exist"


async def test_lists_filter_by_id_and_number_and_sort_by_id(lkapi: api.LiveKitAPI) -> None:
    trunks = [await inbound_trunk(lkapi, f"+1555010{i}") for i in range(4)]
    wildcard = await inbound_trunk(lkapi, auth_username="u", auth_password="p")
    by_ids = await lkapi.sip.list_inbound_trunk(
        sip.ListSIPInboundTrunkRequest(trunk_ids=[trunks[2].sip_trunk_id, trunks[0].sip_trunk_id])
    )
    by_number = await lkapi.sip.list_inbound_trunk(
        sip.ListSIPInboundTrunkRequest(numbers=["+1 555 0101"])
    )
    everything = await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    assert [t.sip_trunk_id for t in by_ids.items] == sorted(
        [trunks[0].sip_trunk_id, trunks[2].sip_trunk_id]
    )
    # A trunk without numbers matches any number.
    assert {t.sip_trunk_id for t in by_number.items} == {
        trunks[1].sip_trunk_id,
        wildcard.sip_trunk_id,
    }
    ids = [t.sip_trunk_id for t in everything.items]
    assert ids == sorted(ids) and len(ids) == 5


async def test_pagination_returns_everything_after_the_given_id(lkapi: api.LiveKitAPI) -> None:
    trunks = [await outbound_trunk(lkapi, f"+1555010{i}") for i in range(5)]
    ids = sorted(t.sip_trunk_id for t in trunks)
    page = await lkapi.sip.list_outbound_trunk(
        sip.ListSIPOutboundTrunkRequest(page=Pagination(after_id=ids[1], limit=2))
    )
    # LiveKit's server pages through its store `limit` at a time and returns every page.
    assert [t.sip_trunk_id for t in page.items] == ids[2:]


async def test_deleting_an_unknown_trunk_succeeds(lkapi: api.LiveKitAPI) -> None:
    deleted = await lkapi.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id="ST_missing"))
    assert deleted.sip_trunk_id == "ST_missing"


async def test_deleting_a_trunk_leaves_its_dispatch_rules_in_place(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100")
    rule = await individual_rule(lkapi, [trunk.sip_trunk_id])
    await lkapi.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=trunk.sip_trunk_id))
    rules = await lkapi.sip.list_dispatch_rule(sip.ListSIPDispatchRuleRequest())
    assert [r.sip_dispatch_rule_id for r in rules.items] == [rule.sip_dispatch_rule_id]
    assert list(rules.items[0].trunk_ids) == [trunk.sip_trunk_id]
    assert (await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items == []


async def test_delete_needs_a_trunk_id(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.delete_trunk(sip.DeleteSIPTrunkRequest())
    assert caught.value.message == "trunk ID is required"


async def test_lookups_follow_a_trunk_whose_numbers_were_updated_or_that_was_deleted(
    lkapi: api.LiveKitAPI,
) -> None:
    moved = await inbound_trunk(lkapi, "+15550300")
    catch_all = await inbound_trunk(lkapi, auth_username="u", auth_password="p")
    await lkapi.sip.update_inbound_trunk_fields(
        moved.sip_trunk_id, numbers=ListUpdate(remove=["+15550300"], add=["+1 555 0301"])
    )

    by_old = await lkapi.sip.list_inbound_trunk(
        sip.ListSIPInboundTrunkRequest(numbers=["+15550300"])
    )
    by_new = await lkapi.sip.list_inbound_trunk(
        sip.ListSIPInboundTrunkRequest(numbers=["15550301"])
    )
    assert [t.sip_trunk_id for t in by_old.items] == [catch_all.sip_trunk_id]
    assert {t.sip_trunk_id for t in by_new.items} == {moved.sip_trunk_id, catch_all.sip_trunk_id}
    # The old number is free again; the new one is taken.
    taker = await inbound_trunk(lkapi, "+15550300")
    with pytest.raises(api.TwirpError, match="Conflicting inbound SIP Trunks"):
        await inbound_trunk(lkapi, "+15550301")

    await lkapi.sip.delete_trunk(sip.DeleteSIPTrunkRequest(sip_trunk_id=moved.sip_trunk_id))
    again = await inbound_trunk(lkapi, "+15550301")
    by_new = await lkapi.sip.list_inbound_trunk(
        sip.ListSIPInboundTrunkRequest(numbers=["+15550301"])
    )
    assert {t.sip_trunk_id for t in by_new.items} == {again.sip_trunk_id, catch_all.sip_trunk_id}
    assert taker.sip_trunk_id != again.sip_trunk_id


async def test_dispatch_rule_lookups_follow_their_trunks(lkapi: api.LiveKitAPI) -> None:
    a = await inbound_trunk(lkapi, "+15550400")
    b = await inbound_trunk(lkapi, "+15550401")
    rule = await individual_rule(lkapi, [a.sip_trunk_id])
    await lkapi.sip.update_dispatch_rule_fields(
        rule.sip_dispatch_rule_id, trunk_ids=[b.sip_trunk_id]
    )

    for_a = await lkapi.sip.list_dispatch_rule(
        sip.ListSIPDispatchRuleRequest(trunk_ids=[a.sip_trunk_id])
    )
    for_b = await lkapi.sip.list_dispatch_rule(
        sip.ListSIPDispatchRuleRequest(trunk_ids=[b.sip_trunk_id])
    )
    assert for_a.items == []
    assert [r.sip_dispatch_rule_id for r in for_b.items] == [rule.sip_dispatch_rule_id]
    # Trunk a is free for a rule of its own; trunk b's key is taken.
    await individual_rule(lkapi, [a.sip_trunk_id])
    with pytest.raises(api.TwirpError, match="already exists"):
        await individual_rule(lkapi, [b.sip_trunk_id])
