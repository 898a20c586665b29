"""numbers-api -> NATS -> trunk-sync -> LiveKit emulator, end to end."""

from __future__ import annotations

import json
from typing import Any

import nats
import pytest
from livekit import api as lkapi
from livekit.protocol.sip import (
    CreateSIPInboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
)
from nats.js.api import ConsumerInfo

from livekit_emulator.testing import RunningEmulator
from talkifai_common.events import STREAM_NAME
from tests.support.numbers_api import Api, BusRecorder
from tests.support.trunk_sync import (
    NUMBER,
    PASSWORD,
    StartSync,
    TrunkSync,
    converged,
    create_number,
    eventually,
    sip_state,
    sync_of,
    synced_at_version,
)
from trunk_sync.adapters.bus import DLQ_STREAM
from trunk_sync.handlers import full_reconcile


def _delivered(info: ConsumerInfo) -> int:
    """How many messages the consumer has been handed (0 before the first)."""
    return (info.delivered.consumer_seq or 0) if info.delivered else 0


def meta(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's metadata, parsed."""
    return dict(json.loads(resource["metadata"]))


async def assign(api: Api, phone_number: str, inbound: str | None, outbound: str | None) -> None:
    """The seed's PUT of agent assignments."""
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={
            "phone_number": phone_number,
            "inbound_agent_id": inbound,
            "outbound_agent_id": outbound,
        },
    )
    assert response.status_code == 200, response.text


async def test_a_number_gets_its_trunks_and_an_assigned_agent_its_dispatch_rule(
    api: Api, sync: TrunkSync, lk: RunningEmulator, bus: BusRecorder
) -> None:
    number = await create_number(api)
    state = await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])
    inbound, outbound = state["inbound"][0], state["outbound"][0]
    assert inbound["numbers"] == [NUMBER]
    assert outbound["numbers"] == [NUMBER]
    assert outbound["address"] == "acme.pstn.twilio.com"
    assert (outbound["auth_username"], outbound["auth_password"]) == ("acme", PASSWORD)
    assert outbound["transport"] == "SIP_TRANSPORT_TLS"
    assert outbound["media_encryption"] == "SIP_MEDIA_ENCRYPT_REQUIRE"
    names = {
        "managed_by": "talkifai",
        "phone_number_id": number["id"],
        "phone_number": NUMBER,
        "org_id": "org_a",
    }
    assert meta(inbound) == names
    # The outbound trunk's credentials are those of this version.
    # (and a keyed digest of the password, to see a hand edit of it).
    digest = meta(outbound).pop("password_digest")
    assert meta(outbound) == {**names, "version": number["version"], "password_digest": digest}
    assert len(digest) == 32 and PASSWORD not in digest

    agent = await api.agent("Support")
    await assign(api, NUMBER, agent["id"], None)
    state = await converged(lk, 1, 1, 1)
    rule = state["rules"][0]
    assert rule["trunk_ids"] == [inbound["sip_trunk_id"]]
    assert rule["rule"]["dispatch_rule_individual"]["room_prefix"] == "inbound"
    [dispatch] = rule["room_config"]["agents"]
    assert dispatch["agent_name"] == "talkifai-agent"
    assert json.loads(dispatch["metadata"]) == {
        "agent_id": agent["id"],
        "phone_number_id": number["id"],
        "phone_number": NUMBER,
        "org_id": "org_a",
        "direction": "inbound",
    }
    assert meta(rule)["phone_number_id"] == number["id"]
    shown = await synced_at_version(api, number["id"])
    assert shown["version"] == number["version"] + 1
    # Updated in place: the trunks keep their ids.
    assert state["inbound"][0]["sip_trunk_id"] == inbound["sip_trunk_id"]
    assert state["outbound"][0]["sip_trunk_id"] == outbound["sip_trunk_id"]
    synced = await bus.wait_for(2, "telephony.phone_number.synced")
    assert synced[-1]["data"]["resources"] == {
        "inbound_trunk_id": inbound["sip_trunk_id"],
        "outbound_trunk_id": outbound["sip_trunk_id"],
        "dispatch_rule_id": rule["sip_dispatch_rule_id"],
    }
    # An inbound call now reaches the agent through the rule.
    call = await lk.control.inbound_call("+14155550100", NUMBER)
    assert call.sip_dispatch_rule_id == rule["sip_dispatch_rule_id"]


async def test_changes_update_in_place_and_unassigning_deletes_the_rule(
    api: Api, sync: TrunkSync, lk: RunningEmulator
) -> None:
    agent = await api.agent("Support")
    number = await create_number(api)
    await assign(api, NUMBER, agent["id"], agent["id"])
    before = await converged(lk, 1, 1, 1)
    await synced_at_version(api, number["id"])

    response = await api.request(
        "PATCH",
        f"/phone-numbers/{number['id']}",
        json={
            "phone_number": "+12025550999",
            "termination_uri": "sip:other.example.com:5060",
            "sip_transport": "udp",
            "media_encryption": "disable",
        },
    )
    assert response.status_code == 200, response.text

    async def changed() -> dict[str, Any] | None:
        state = await sip_state(lk.control)
        out = state["outbound"]
        return state if out and out[0]["address"] == "other.example.com:5060" else None

    after = await eventually(changed)
    await synced_at_version(api, number["id"])
    assert [t["sip_trunk_id"] for t in after["inbound"]] == [
        t["sip_trunk_id"] for t in before["inbound"]
    ]
    assert [t["sip_trunk_id"] for t in after["outbound"]] == [
        t["sip_trunk_id"] for t in before["outbound"]
    ]
    assert [r["sip_dispatch_rule_id"] for r in after["rules"]] == [
        r["sip_dispatch_rule_id"] for r in before["rules"]
    ]
    assert after["inbound"][0]["numbers"] == ["+12025550999"]
    assert after["outbound"][0]["numbers"] == ["+12025550999"]
    assert after["outbound"][0]["transport"] == "SIP_TRANSPORT_UDP"
    assert after["outbound"][0]["media_encryption"] == "SIP_MEDIA_ENCRYPT_DISABLE"
    assert after["outbound"][0]["auth_password"] == PASSWORD

    await assign(api, "+12025550999", None, agent["id"])
    state = await converged(lk, 1, 1, 0)
    assert state["inbound"][0]["sip_trunk_id"] == before["inbound"][0]["sip_trunk_id"]
    await synced_at_version(api, number["id"])

    # No termination URI: nowhere to send outbound calls, so no outbound trunk.
    response = await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"termination_uri": None}
    )
    assert response.status_code == 200, response.text
    await converged(lk, 1, 0, 0)
    await synced_at_version(api, number["id"])


async def test_deleting_a_number_deletes_its_rule_and_trunks(
    api: Api, sync: TrunkSync, lk: RunningEmulator
) -> None:
    agent = await api.agent("Support")
    number = await create_number(api)
    other = await create_number(api, "+12025550124")
    await assign(api, NUMBER, agent["id"], None)
    await converged(lk, 2, 2, 1)
    response = await api.request("DELETE", f"/phone-numbers/{number['id']}")
    assert response.status_code == 204, response.text
    state = await converged(lk, 1, 1, 0)
    assert {meta(t)["phone_number_id"] for t in state["inbound"] + state["outbound"]} == {
        other["id"]
    }


async def test_duplicate_replayed_and_out_of_order_events_converge_to_the_latest_state(
    api: Api, sync: TrunkSync, lk: RunningEmulator, bus: BusRecorder, clean_stream: str
) -> None:
    agent = await api.agent("Support")
    number = await create_number(api)
    await assign(api, NUMBER, agent["id"], None)
    await assign(api, NUMBER, None, agent["id"])
    await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"termination_uri": "late.example.com"}
    )
    latest = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()

    def changes_seen() -> list[dict[str, Any]]:
        return bus.events("telephony.phone_number.created") + bus.events(
            "telephony.phone_number.updated"
        )

    async def four_changes() -> list[dict[str, Any]] | None:
        return changes_seen() if len(changes_seen()) == 4 else None

    changes = await eventually(four_changes)
    await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])

    # Replays (new message ids, so JetStream keeps them), duplicates, newest first.
    nc = await nats.connect(clean_stream)
    js = nc.jetstream()
    for i, event in enumerate(reversed(changes * 2)):
        await js.publish(
            f"telephony.phone_number.{event['type'].split('.')[-2]}",
            json.dumps(event).encode(),
            stream=STREAM_NAME,
            headers={"Nats-Msg-Id": f"replay-{i}-{event['id']}"},
        )
    await nc.close()

    async def replayed() -> bool:
        return len(changes_seen()) == 4 + 8

    await eventually(replayed)

    async def settled() -> bool:
        info: ConsumerInfo = await sync.app.state.broker.connection.jetstream().consumer_info(
            STREAM_NAME, sync.settings.consumer_durable
        )
        return info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(settled)
    state = await converged(lk, 1, 1, 0)
    assert state["outbound"][0]["address"] == "late.example.com"
    assert meta(state["outbound"][0])["version"] == latest["version"]
    assert (await sync_of(api, number["id"]))["state"] == "synced"


async def test_livekit_refusing_the_number_marks_it_failed_with_livekits_message(
    api: Api, sync: TrunkSync, lk: RunningEmulator, livekit: lkapi.LiveKitAPI
) -> None:
    foreign = await livekit.sip.create_inbound_trunk(
        CreateSIPInboundTrunkRequest(
            trunk=SIPInboundTrunkInfo(name="someone else's", numbers=[NUMBER])
        )
    )
    number = await create_number(api)

    async def failed() -> dict[str, Any] | None:
        state = await sync_of(api, number["id"])
        return state if state["state"] == "failed" else None

    state = await eventually(failed)
    assert "Conflicting inbound SIP Trunks" in state["error"]
    assert foreign.sip_trunk_id in state["error"]
    after = await sip_state(lk.control)
    assert [t["sip_trunk_id"] for t in after["inbound"]] == [foreign.sip_trunk_id]
    assert after["inbound"][0]["name"] == "someone else's"


async def test_livekit_unavailable_for_a_while_is_retried_until_it_converges(
    api: Api, start_sync: StartSync, lk: RunningEmulator
) -> None:
    sync = await start_sync(max_deliveries=50, retry_base_s=0.05, retry_max_s=0.1)
    await lk.control.set_faults(unavailable=True)
    number = await create_number(api)

    async def retried_a_few_times() -> bool:
        info: ConsumerInfo = await sync.app.state.broker.connection.jetstream().consumer_info(
            STREAM_NAME, sync.settings.consumer_durable
        )
        return (info.num_redelivered or 0) >= 1 and _delivered(info) >= 4

    await eventually(retried_a_few_times)
    assert (await sync_of(api, number["id"]))["state"] == "pending"
    await lk.control.set_faults(unavailable=False)
    await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])


async def test_a_slow_livekit_fails_each_call_at_its_deadline_and_the_sync_is_retried(
    api: Api, start_sync: StartSync, lk: RunningEmulator
) -> None:
    sync = await start_sync(
        livekit_timeout_s=0.3, max_deliveries=50, retry_base_s=0.05, retry_max_s=0.1
    )
    # livekit-api itself would wait out every answer: one try would take the whole latency.
    await lk.control.set_faults(latency_ms=5000)
    number = await create_number(api)

    async def retried_a_few_times() -> bool:
        info: ConsumerInfo = await sync.app.state.broker.connection.jetstream().consumer_info(
            STREAM_NAME, sync.settings.consumer_durable
        )
        return (info.num_redelivered or 0) >= 1 and _delivered(info) >= 4

    await eventually(retried_a_few_times)
    assert (await sync_of(api, number["id"]))["state"] == "pending"
    await lk.control.set_faults()
    await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])


async def test_a_message_that_keeps_failing_is_dead_lettered_and_the_number_marked_failed(
    api: Api, sync: TrunkSync, lk: RunningEmulator, clean_stream: str
) -> None:
    await lk.control.set_faults(unavailable=True)
    number = await create_number(api)

    async def failed() -> dict[str, Any] | None:
        state = await sync_of(api, number["id"])
        return state if state["state"] == "failed" else None

    state = await eventually(failed)
    assert state["error"].startswith(f"gave up after {sync.settings.max_deliveries} tries")
    assert "unavailable" in state["error"]
    nc = await nats.connect(clean_stream)
    js = nc.jetstream()
    dead = None
    for seq in range(1, (await js.stream_info(DLQ_STREAM)).state.last_seq + 1):
        message = await js.get_msg(DLQ_STREAM, seq)
        if message.data and json.loads(message.data)["subject"] == number["id"]:
            dead = message
    await nc.close()
    assert dead is not None
    assert dead.headers is not None
    assert dead.headers["Dead-Letter-Subject"] == "telephony.phone_number.created"
    assert dead.headers["Dead-Letter-Consumer"] == sync.settings.consumer_durable
    assert dead.headers["Dead-Letter-Reason"] == "exhausted"
    assert dead.headers["Dead-Letter-Deliveries"] == str(sync.settings.max_deliveries)
    assert "unavailable" in dead.headers["Dead-Letter-Error"]
    assert dead.data is not None and PASSWORD.encode() not in dead.data


async def test_full_reconcile_repairs_drift_removes_orphans_and_leaves_unmanaged_alone(
    api: Api, sync: TrunkSync, lk: RunningEmulator, livekit: lkapi.LiveKitAPI
) -> None:
    agent = await api.agent("Support")
    number = await create_number(api)
    second = await create_number(api, "+12025550124")
    await assign(api, NUMBER, agent["id"], None)
    before = await converged(lk, 2, 2, 1)
    await synced_at_version(api, number["id"])
    ctx = sync.app.state.context
    quiet = await full_reconcile(ctx)
    assert (quiet.numbers, quiet.in_sync, quiet.repaired) == (2, 2, 0)

    # By hand: an outbound trunk pointed elsewhere, a rule deleted, an inbound trunk of the
    # second number deleted; an orphan that names a number that never existed; an unmanaged trunk.
    mine = {meta(t)["phone_number_id"]: t for t in before["outbound"]}
    edited = mine[number["id"]]
    await livekit.sip.update_outbound_trunk(
        edited["sip_trunk_id"],
        SIPOutboundTrunkInfo(
            name=edited["name"],
            address="evil.example.com",
            numbers=[NUMBER],
            metadata=edited["metadata"],
        ),
    )
    await livekit.sip.delete_dispatch_rule(
        DeleteSIPDispatchRuleRequest(
            sip_dispatch_rule_id=before["rules"][0]["sip_dispatch_rule_id"]
        )
    )
    second_inbound = next(
        t for t in before["inbound"] if meta(t)["phone_number_id"] == second["id"]
    )
    await livekit.sip.delete_trunk(
        lkapi.DeleteSIPTrunkRequest(sip_trunk_id=second_inbound["sip_trunk_id"])
    )
    orphan_meta = json.dumps(
        {
            "managed_by": "talkifai",
            "phone_number_id": "pn_gone",
            "phone_number": "+12025550777",
            "org_id": "org_a",
            "version": 3,
        }
    )
    orphan = await livekit.sip.create_inbound_trunk(
        CreateSIPInboundTrunkRequest(
            trunk=SIPInboundTrunkInfo(name="orphan", numbers=["+12025550777"], metadata=orphan_meta)
        )
    )
    unmanaged = await livekit.sip.create_inbound_trunk(
        CreateSIPInboundTrunkRequest(
            trunk=SIPInboundTrunkInfo(name="theirs", numbers=["+12025550888"], metadata='{"x":1}')
        )
    )

    report = await full_reconcile(ctx)
    assert (report.numbers, report.repaired, report.orphans_removed) == (2, 2, 1)
    state = await sip_state(lk.control)
    ids = {t["sip_trunk_id"] for t in state["inbound"]}
    assert orphan.sip_trunk_id not in ids
    assert unmanaged.sip_trunk_id in ids
    assert len(state["inbound"]) == 3 and len(state["outbound"]) == 2 and len(state["rules"]) == 1
    repaired = next(t for t in state["outbound"] if t["sip_trunk_id"] == edited["sip_trunk_id"])
    assert repaired["address"] == "acme.pstn.twilio.com"
    assert repaired["auth_password"] == PASSWORD
    assert (await full_reconcile(ctx)).in_sync == 2


async def test_full_reconcile_restores_an_outbound_password_changed_by_hand(
    api: Api, sync: TrunkSync, lk: RunningEmulator, livekit: lkapi.LiveKitAPI
) -> None:
    number = await create_number(api)
    before = await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])
    ctx = sync.app.state.context
    [trunk] = before["outbound"]
    assert PASSWORD not in trunk["metadata"]  # only a keyed digest of it

    # Everything as we wrote it, metadata included, but the password.
    listed = await livekit.sip.list_outbound_trunk(
        lkapi.ListSIPOutboundTrunkRequest(trunk_ids=[trunk["sip_trunk_id"]])
    )
    [info] = listed.items
    info.auth_password = "changed-by-hand"
    await livekit.sip.update_outbound_trunk(trunk["sip_trunk_id"], info)

    report = await full_reconcile(ctx)
    assert (report.numbers, report.repaired) == (1, 1)
    [repaired] = (await sip_state(lk.control))["outbound"]
    assert repaired["sip_trunk_id"] == trunk["sip_trunk_id"]  # updated in place
    assert repaired["auth_password"] == PASSWORD
    assert (await full_reconcile(ctx)).in_sync == 1


async def test_no_sip_password_reaches_an_event_or_a_log_line(
    api: Api,
    sync: TrunkSync,
    lk: RunningEmulator,
    bus: BusRecorder,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    number = await create_number(api)
    await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])
    await lk.control.set_faults(unavailable=True)
    await api.request("PATCH", f"/phone-numbers/{number['id']}", json={"sip_username": "x"})

    async def failed() -> bool:
        return bool((await sync_of(api, number["id"]))["state"] == "failed")

    await eventually(failed)
    await lk.control.set_faults(unavailable=False)
    await full_reconcile(sync.app.state.context)
    await synced_at_version(api, number["id"])
    events = await bus.wait_for(3, "telephony.phone_number.")
    assert all(PASSWORD.encode() not in m.data for m in bus.messages)
    captured = capsys.readouterr()
    logs = captured.out + captured.err + caplog.text
    assert "sync.synced" in logs and "sync.retry" in logs  # the logs were captured
    assert PASSWORD not in logs
    assert events


async def test_a_replayed_creation_unknown_to_the_replica_adopts_the_existing_trunks(
    api: Api, sync: TrunkSync, lk: RunningEmulator, bus: BusRecorder, clean_stream: str
) -> None:
    number = await create_number(api)
    before = await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])
    [created] = await bus.wait_for(1, "telephony.phone_number.created")
    # As a replica that never saw the number would: no remembered resources.
    sync.app.state.context.index.replace({})
    nc = await nats.connect(clean_stream)
    await nc.jetstream().publish(
        "telephony.phone_number.created",
        json.dumps(created).encode(),
        stream=STREAM_NAME,
        headers={"Nats-Msg-Id": f"replay-{created['id']}"},
    )
    await nc.close()

    async def settled() -> bool:
        info: ConsumerInfo = await sync.app.state.broker.connection.jetstream().consumer_info(
            STREAM_NAME, sync.settings.consumer_durable
        )
        return _delivered(info) >= 2 and info.num_ack_pending == 0

    await eventually(settled)
    after = await converged(lk, 1, 1, 0)
    assert after["inbound"][0]["sip_trunk_id"] == before["inbound"][0]["sip_trunk_id"]
    assert after["outbound"][0]["sip_trunk_id"] == before["outbound"][0]["sip_trunk_id"]
    assert (await sync_of(api, number["id"]))["state"] == "synced"


async def test_carrier_settings_reach_both_trunks_and_a_hand_edited_inbound_password_is_restored(
    api: Api, sync: TrunkSync, lk: RunningEmulator, livekit: lkapi.LiveKitAPI, bus: BusRecorder
) -> None:
    number = await create_number(
        api,
        carrier="telnyx",
        inbound_allowed_addresses=["192.76.120.10", "64.16.250.0/24"],
        inbound_auth_username="carrier-in",
        inbound_auth_password="in-s3cret-1",
        media_encryption="allow",
    )
    state = await converged(lk, 1, 1, 0)
    await synced_at_version(api, number["id"])
    [inbound], [outbound] = state["inbound"], state["outbound"]
    assert inbound["allowed_addresses"] == ["192.76.120.10", "64.16.250.0/24"]
    assert (inbound["auth_username"], inbound["auth_password"]) == ("carrier-in", "in-s3cret-1")
    assert inbound["media_encryption"] == "SIP_MEDIA_ENCRYPT_ALLOW"
    assert "in-s3cret-1" not in inbound["metadata"]  # a keyed digest and the version only
    assert meta(inbound)["version"] == number["version"]
    # Telnyx names the connection's username in a header for credential authentication.
    assert outbound["headers"] == {"X-Telnyx-Username": "acme"}

    # A new inbound password alone reaches LiveKit (the trunk names the version it holds).
    path = f"/phone-numbers/{number['id']}"
    response = await api.request("PATCH", path, json={"inbound_auth_password": "in-s3cret-2"})
    assert response.status_code == 200, response.text
    await synced_at_version(api, number["id"])
    [inbound] = (await sip_state(lk.control))["inbound"]
    assert inbound["auth_password"] == "in-s3cret-2"

    # A password changed by hand in LiveKit is drift: the full reconcile writes ours back.
    listed = await livekit.sip.list_inbound_trunk(
        lkapi.ListSIPInboundTrunkRequest(trunk_ids=[inbound["sip_trunk_id"]])
    )
    [info] = listed.items
    info.auth_password = "changed-by-hand"
    await livekit.sip.update_inbound_trunk(inbound["sip_trunk_id"], info)
    report = await full_reconcile(sync.app.state.context)
    assert (report.numbers, report.repaired) == (1, 1)
    [repaired] = (await sip_state(lk.control))["inbound"]
    assert repaired["auth_password"] == "in-s3cret-2"
    assert all(b"in-s3cret" not in m.data for m in bus.messages)
