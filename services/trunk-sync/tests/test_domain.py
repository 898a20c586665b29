"""trunk-sync's reconciler rules, without a server: desired state, plans, drift and orphans."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from talkifai_common import carriers
from talkifai_common.events import (
    AgentRef,
    LiveKitResources,
    MediaEncryption,
    NumberFormat,
    NumberStatus,
    RecordingMode,
    SipTransport,
    SyncState,
    SyncStatus,
)
from talkifai_common.internal_api import InternalPhoneNumber
from talkifai_common.jobs import InboundJob, OutboundJob, read_job_metadata
from talkifai_common.voice import Architecture
from trunk_sync.domain import (
    AGENT_NAME,
    ROOM_PREFIX,
    Desired,
    DispatchRuleSpec,
    Holdings,
    InboundTrunkSpec,
    LiveKitRefused,
    LiveKitUnavailable,
    NumberBusy,
    NumbersApiUnavailable,
    Observed,
    OutboundTrunkSpec,
    ResourceMetadata,
    StaleRead,
    TerminationRefused,
    TerminationUnresolved,
    TrunkSyncError,
    desired_state,
    dispatched_job,
    in_sync,
    plan_kind,
    resources_of,
    with_trunk,
)

pytestmark = pytest.mark.unit

E164 = "+12025550123"


@pytest.fixture(autouse=True)
def no_reconcile_lease() -> None:
    """The domain needs no NATS: this overrides the end-to-end tier's autouse lease cleanup."""


def _number(
    *,
    version: int = 1,
    inbound_agent: str | None = "agent_in",
    termination_uri: str | None = "example.pstn.twilio.com",
    sip_username: str | None = "trunk-user",
    has_sip_password: bool = True,
    number_id: str = "pn_1",
    e164: str = E164,
    **settings: Any,
) -> InternalPhoneNumber:
    now = datetime.now(UTC)
    agent = (
        AgentRef(id=inbound_agent, name="Reception", architecture=Architecture.PIPELINE)
        if inbound_agent
        else None
    )
    return InternalPhoneNumber(
        id=number_id,
        phone_number=e164,
        termination_uri=termination_uri,
        sip_username=sip_username,
        has_sip_password=has_sip_password,
        inbound_agent=agent,
        outbound_agent=None,
        webhook_url=None,
        recording_mode=RecordingMode.DISABLED,
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        **{"carrier": "twilio", **settings},
        status=NumberStatus.ACTIVE,
        sync=SyncStatus(state=SyncState.PENDING),
        version=version,
        created_at=now,
        updated_at=now,
        org_id="org_a",
    )


def _held(desired: Desired, *, inbound_id: str = "ST_in", outbound_id: str = "ST_out") -> Holdings:
    """What LiveKit holds after `desired` was written exactly."""
    held = Holdings(inbound=[Observed(inbound_id, desired.inbound)])
    if desired.outbound is not None:
        held.outbound.append(Observed(outbound_id, desired.outbound))
    if desired.rule is not None:
        held.rules.append(Observed("SDR_1", with_trunk(desired.rule, inbound_id)))
    return held


# Errors


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (TrunkSyncError, False),
        (NumbersApiUnavailable, True),
        (LiveKitUnavailable, True),
        (StaleRead, True),
        (NumberBusy, True),
        (LiveKitRefused, False),
        (TerminationRefused, False),
        (TerminationUnresolved, True),
    ],
)
def test_each_error_says_whether_trying_again_may_help(
    error: type[TrunkSyncError], retryable: bool
) -> None:
    raised = error("what happened")
    assert raised.retryable is retryable
    assert raised.detail == str(raised) == "what happened"


# Resource metadata


def test_our_resource_metadata_reads_back_from_its_dump() -> None:
    meta = ResourceMetadata(phone_number_id="pn_1", phone_number=E164, org_id="org_a", version=4)
    assert ResourceMetadata.parse(meta.dump()) == meta


def test_resource_metadata_without_a_version_dumps_without_one() -> None:
    meta = ResourceMetadata(phone_number_id="pn_1", phone_number=E164, org_id="org_a")
    assert "version" not in meta.dump()
    assert "password_digest" not in meta.dump()


@pytest.mark.parametrize(
    "raw",
    [
        "",
        '{"owner": "someone else"}',
        '{"managed_by": "talkifai", "phone_number_id": "pn_1"',  # cut short
        '{"managed_by": "not-talkifai", "phone_number_id": "pn_1", "phone_number": "+1", '
        '"org_id": "o"}',
        '{"managed_by": "talkifai"}',
    ],
)
def test_metadata_somebody_else_wrote_is_not_ours(raw: str) -> None:
    assert ResourceMetadata.parse(raw) is None


def test_a_dispatch_rules_agent_metadata_is_ours_only_when_it_is_an_inbound_job() -> None:
    job = InboundJob(agent_id="agent_in", phone_number_id="pn_1", phone_number=E164, org_id="o")
    outbound = OutboundJob(
        agent_id="agent_in",
        call_id="call_1",
        phone_number_id="pn_1",
        from_number=E164,
        to_number="+15550142",
    )
    assert dispatched_job(job.model_dump_json()) == job
    assert dispatched_job(outbound.model_dump_json()) is None
    assert dispatched_job("") is None
    assert dispatched_job('{"agent_id": "agent_in"}') is None


# Desired state


def test_a_number_wants_an_inbound_trunk_a_dispatch_rule_and_an_outbound_trunk() -> None:
    desired = desired_state(_number(version=3))
    unversioned = ResourceMetadata(phone_number_id="pn_1", phone_number=E164, org_id="org_a")
    assert (desired.number_id, desired.phone_number, desired.org_id, desired.version) == (
        "pn_1",
        E164,
        "org_a",
        3,
    )
    assert desired.inbound == InboundTrunkSpec(
        name=f"talkifai inbound {E164}",
        numbers=(E164,),
        allowed_addresses=carriers.profile("twilio").signalling_addresses,
        auth_username="",
        has_password=False,
        media_encryption=MediaEncryption.REQUIRE,
        meta=unversioned,
    )
    assert desired.rule == DispatchRuleSpec(
        name=f"talkifai inbound {E164}",
        room_prefix=ROOM_PREFIX,
        trunk_ids=(),
        agents=(
            (
                AGENT_NAME,
                InboundJob(
                    agent_id="agent_in", phone_number_id="pn_1", phone_number=E164, org_id="org_a"
                ),
            ),
        ),
        meta=unversioned,
    )
    assert desired.outbound == OutboundTrunkSpec(
        name=f"talkifai outbound {E164}",
        address="example.pstn.twilio.com",
        numbers=(E164,),
        auth_username="trunk-user",
        has_password=True,
        transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        headers=(),
        meta=unversioned.model_copy(update={"version": 3}),
    )


def test_the_inbound_trunk_takes_the_numbers_sources_over_its_carriers() -> None:
    own = desired_state(_number(inbound_allowed_addresses=["3.1.77.0/24"])).inbound
    assert own.allowed_addresses == ("3.1.77.0/24",)
    anyone = desired_state(_number(carrier="custom", inbound_allow_any_source=True)).inbound
    assert anyone.allowed_addresses == ()  # LiveKit: any source
    # Accepting any source drops the profile's ranges too: the number said so explicitly.
    assert desired_state(_number(inbound_allow_any_source=True)).inbound.allowed_addresses == ()


def test_inbound_credentials_make_the_trunk_challenge_and_name_the_version() -> None:
    inbound = desired_state(
        _number(version=4, inbound_auth_username="carrier", has_inbound_auth_password=True)
    ).inbound
    assert (inbound.auth_username, inbound.has_password) == ("carrier", True)
    assert inbound.meta is not None and inbound.meta.version == 4
    # A username without a stored password is no credential at all.
    half = desired_state(_number(inbound_auth_username="carrier")).inbound
    assert (half.auth_username, half.has_password) == ("", False)
    assert half.meta is not None and half.meta.version is None


def test_the_outbound_trunk_writes_numbers_and_headers_as_the_carrier_wants() -> None:
    vonage = desired_state(_number(carrier="vonage")).outbound
    assert vonage is not None and vonage.numbers == (E164.removeprefix("+"),)
    telnyx = desired_state(_number(carrier="telnyx", sip_username="conn-user")).outbound
    assert telnyx is not None and telnyx.headers == (("X-Telnyx-Username", "conn-user"),)
    own = desired_state(
        _number(
            number_format=NumberFormat(leading_plus=False, tech_prefix="99#"),
            sip_headers={"X-B": "2", "X-A": "{sip_username}"},
        )
    ).outbound
    assert own is not None and own.numbers == ("99#" + E164.removeprefix("+"),)
    assert own.headers == (("X-A", "trunk-user"), ("X-B", "2"))


def test_the_dispatch_rules_job_is_what_agent_runtime_reads() -> None:
    rule = desired_state(_number()).rule
    assert rule is not None
    [(_, job)] = rule.agents
    assert job is not None
    assert read_job_metadata(job.model_dump_json()) == job


def test_a_number_without_an_inbound_agent_wants_no_dispatch_rule() -> None:
    desired = desired_state(_number(inbound_agent=None))
    assert desired.rule is None
    assert desired.inbound.numbers == (E164,)


def test_a_number_without_a_termination_uri_wants_no_outbound_trunk() -> None:
    assert desired_state(_number(termination_uri=None)).outbound is None


def test_a_number_without_sip_credentials_wants_an_outbound_trunk_without_auth() -> None:
    outbound = desired_state(_number(sip_username=None, has_sip_password=False)).outbound
    assert outbound is not None
    assert (outbound.auth_username, outbound.has_password) == ("", False)


def test_only_the_outbound_trunk_changes_with_the_numbers_version() -> None:
    v1, v2 = desired_state(_number(version=1)), desired_state(_number(version=2))
    assert (v1.inbound, v1.rule) == (v2.inbound, v2.rule)
    assert v1.outbound != v2.outbound


def test_a_rule_is_bound_to_the_numbers_inbound_trunk() -> None:
    rule = desired_state(_number()).rule
    assert rule is not None
    bound = with_trunk(rule, "ST_in")
    assert bound.trunk_ids == ("ST_in",)
    assert replace(bound, trunk_ids=()) == rule


# Plans


def test_nothing_held_plans_a_create() -> None:
    want = desired_state(_number()).inbound
    plan = plan_kind(want, [])
    assert (plan.keep, plan.rewrite, plan.create, plan.delete) == (None, False, True, ())


def test_an_exact_match_is_kept_untouched() -> None:
    want = desired_state(_number()).inbound
    held = Observed("ST_1", want)
    plan = plan_kind(want, [held])
    assert (plan.keep, plan.rewrite, plan.create, plan.delete) == (held, False, False, ())


def test_a_drifted_resource_is_rewritten_in_place() -> None:
    want = desired_state(_number()).inbound
    drifted = Observed("ST_1", replace(want, name="renamed by hand"))
    plan = plan_kind(want, [drifted])
    assert (plan.keep, plan.rewrite, plan.create, plan.delete) == (drifted, True, False, ())


def test_fields_we_never_set_count_as_drift() -> None:
    want = desired_state(_number()).inbound
    plan = plan_kind(want, [Observed("ST_1", replace(want, foreign=True))])
    assert plan.rewrite


def test_an_exact_duplicate_is_kept_before_an_older_drifted_one() -> None:
    want = desired_state(_number()).inbound
    drifted = Observed("ST_a", replace(want, numbers=("+15550000000",)))
    exact = Observed("ST_b", want)
    plan = plan_kind(want, [drifted, exact])
    assert (plan.keep, plan.rewrite, plan.delete) == (exact, False, ("ST_a",))


def test_among_drifted_duplicates_the_oldest_id_is_kept_and_rewritten() -> None:
    want = desired_state(_number()).inbound
    newer = Observed("ST_b", replace(want, name="b"))
    older = Observed("ST_a", replace(want, name="a"))
    plan = plan_kind(want, [newer, older])
    assert (plan.keep, plan.rewrite, plan.create, plan.delete) == (older, True, False, ("ST_b",))


def test_what_is_no_longer_wanted_is_deleted() -> None:
    rule = desired_state(_number()).rule
    assert rule is not None
    held = [Observed("SDR_2", rule), Observed("SDR_1", rule)]
    plan = plan_kind(None, held)
    assert (plan.keep, plan.rewrite, plan.create, plan.delete) == (
        None,
        False,
        False,
        ("SDR_2", "SDR_1"),
    )


# In sync


def test_a_number_written_exactly_is_in_sync() -> None:
    desired = desired_state(_number())
    assert in_sync(desired, _held(desired))


def test_a_number_with_nothing_in_livekit_is_not_in_sync() -> None:
    assert not in_sync(desired_state(_number()), Holdings())


def test_a_duplicate_inbound_trunk_is_not_in_sync() -> None:
    desired = desired_state(_number())
    held = _held(desired)
    held.inbound.append(Observed("ST_dup", desired.inbound))
    assert not in_sync(desired, held)


def test_an_outbound_trunk_of_an_older_version_is_not_in_sync() -> None:
    desired = desired_state(_number(version=2))
    held = _held(desired)
    held.outbound = _held(desired_state(_number(version=1))).outbound
    assert not in_sync(desired, held)


def test_an_outbound_trunk_left_after_the_termination_uri_went_is_not_in_sync() -> None:
    before = desired_state(_number())
    after = desired_state(_number(termination_uri=None))
    assert not in_sync(after, _held(before))


def test_a_rule_left_after_the_inbound_agent_went_is_not_in_sync() -> None:
    before = desired_state(_number())
    after = desired_state(_number(inbound_agent=None))
    assert not in_sync(after, _held(before))


def test_a_missing_rule_is_not_in_sync() -> None:
    desired = desired_state(_number())
    held = _held(desired)
    held.rules.clear()
    assert not in_sync(desired, held)


def test_a_rule_bound_to_another_trunk_is_not_in_sync() -> None:
    desired = desired_state(_number())
    assert desired.rule is not None
    held = _held(desired)
    held.rules = [Observed("SDR_1", with_trunk(desired.rule, "ST_other"))]
    assert not in_sync(desired, held)


def test_a_rule_dispatching_another_agent_is_not_in_sync() -> None:
    desired = desired_state(_number())
    assert not in_sync(desired, _held(desired_state(_number(inbound_agent="agent_old"))))


# Holdings: grouping, orphans, versions


def _mixed_holdings() -> Holdings:
    """Resources of pn_1, of pn_gone (numbers-api no longer has it) and one nobody manages."""
    mine = _held(desired_state(_number(version=2)))
    gone = _held(
        desired_state(_number(number_id="pn_gone", e164="+12025550999", version=5)),
        inbound_id="ST_gone_in",
        outbound_id="ST_gone_out",
    )
    hand_made = InboundTrunkSpec(
        name="hand made",
        numbers=(),
        allowed_addresses=(),
        auth_username="",
        has_password=False,
        media_encryption=MediaEncryption.DISABLE,
        meta=None,
    )
    foreign = Observed("ST_foreign", hand_made)
    return Holdings(
        inbound=[*mine.inbound, *gone.inbound, foreign],
        outbound=[*mine.outbound, *gone.outbound],
        rules=[*mine.rules, *[Observed("SDR_gone", r.spec) for r in gone.rules]],
    )


def test_resources_are_grouped_by_the_number_their_metadata_names() -> None:
    groups = _mixed_holdings().by_number()
    assert set(groups) == {"pn_1", "pn_gone"}
    assert groups["pn_1"].ids() == {"ST_in", "ST_out", "SDR_1"}
    assert groups["pn_gone"].ids() == {"ST_gone_in", "ST_gone_out", "SDR_gone"}


def test_a_resource_nobody_manages_belongs_to_no_number() -> None:
    holdings = _mixed_holdings()
    assert "ST_foreign" in holdings.ids()
    grouped = set().union(*(g.ids() for g in holdings.by_number().values()))
    assert "ST_foreign" not in grouped


def test_an_orphans_resources_are_all_deleted_when_nothing_is_wanted() -> None:
    orphan = _mixed_holdings().of("pn_gone")
    deleted = [
        *plan_kind(None, orphan.inbound).delete,
        *plan_kind(None, orphan.outbound).delete,
        *plan_kind(None, orphan.rules).delete,
    ]
    assert sorted(deleted) == sorted(orphan.ids())
    assert len(orphan.everything()) == 3


def test_the_newest_version_written_is_the_outbound_trunks() -> None:
    holdings = _mixed_holdings()
    assert holdings.of("pn_1").newest_version() == 2
    assert holdings.of("pn_gone").newest_version() == 5
    assert Holdings().newest_version() == 0
    unversioned = Holdings(inbound=holdings.of("pn_1").inbound)
    assert unversioned.newest_version() == 0


def test_a_sync_result_names_the_resources_it_holds() -> None:
    assert resources_of("ST_in", None, "SDR_1") == LiveKitResources(
        inbound_trunk_id="ST_in", outbound_trunk_id=None, dispatch_rule_id="SDR_1"
    )
