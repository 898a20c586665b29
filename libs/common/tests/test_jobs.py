"""Job metadata: what trunk-sync and call-orchestrator write is what agent-runtime reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from talkifai_common.events import CallCampaignRef, CallDirection
from talkifai_common.jobs import InboundJob, OutboundJob, read_job_metadata

pytestmark = pytest.mark.unit

# The exact JSON the writers produced before the union (trunk-sync's AgentDispatchMetadata and
# call-orchestrator's CallJobMetadata): dispatch rules already stored in LiveKit carry the first.
STORED_INBOUND = (
    '{"agent_id":"agent_1","phone_number_id":"pn_1","phone_number":"+12025550123",'
    '"org_id":"org_a","direction":"inbound"}'
)
STORED_OUTBOUND = (
    '{"agent_id":"agent_1","call_id":"call_1","direction":"outbound","phone_number_id":"pn_1",'
    '"from_number":"+12025550123","to_number":"+15550142",'
    '"metadata":{"customer":"Ada","attempt":2}}'
)


def _inbound() -> InboundJob:
    """As trunk-sync writes it into a number's dispatch rule."""
    return InboundJob(
        agent_id="agent_1", phone_number_id="pn_1", phone_number="+12025550123", org_id="org_a"
    )


def _outbound() -> OutboundJob:
    """As call-orchestrator writes it into an outbound call's dispatch."""
    return OutboundJob(
        agent_id="agent_1",
        call_id="call_1",
        phone_number_id="pn_1",
        from_number="+12025550123",
        to_number="+15550142",
        metadata={"customer": "Ada", "attempt": 2},
    )


def test_trunk_syncs_inbound_job_reads_back_as_the_same_inbound_job() -> None:
    written = _inbound()
    read = read_job_metadata(written.model_dump_json())
    assert isinstance(read, InboundJob)
    assert read == written
    assert read.direction is CallDirection.INBOUND
    assert (read.our_number, read.remote_number, read.call_id) == ("+12025550123", None, None)


def test_call_orchestrators_outbound_job_reads_back_as_the_same_outbound_job() -> None:
    written = _outbound()
    read = read_job_metadata(written.model_dump_json())
    assert isinstance(read, OutboundJob)
    assert read == written
    assert read.direction is CallDirection.OUTBOUND
    assert (read.our_number, read.remote_number, read.org_id) == ("+12025550123", "+15550142", None)


def test_the_writers_keep_the_wire_format_they_wrote_before() -> None:
    assert _inbound().model_dump_json() == STORED_INBOUND
    assert _outbound().model_dump_json() == STORED_OUTBOUND


@pytest.mark.parametrize("stored", [STORED_INBOUND, STORED_OUTBOUND])
def test_metadata_stored_before_the_union_still_reads(stored: str) -> None:
    assert read_job_metadata(stored).model_dump_json() == stored


def test_an_outbound_job_without_caller_metadata_reads_with_an_empty_one() -> None:
    raw = (
        '{"agent_id":"agent_1","call_id":"call_1","direction":"outbound",'
        '"phone_number_id":null,"from_number":"+12025550123","to_number":"+15550142"}'
    )
    read = read_job_metadata(raw)
    assert isinstance(read, OutboundJob)
    assert read.metadata == {}
    assert read.phone_number_id is None


def test_a_field_added_by_a_newer_writer_is_ignored() -> None:
    raw = STORED_INBOUND.replace('"direction"', '"added_later":1,"direction"')
    assert read_job_metadata(raw) == _inbound()


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"agent_id":"agent_1","phone_number_id":"pn_1"}', "direction"),
        (STORED_INBOUND.replace('"inbound"', '"sideways"'), "direction"),
        (STORED_INBOUND.replace('"phone_number"', '"e164"'), "phone_number"),
        (STORED_INBOUND.replace('"agent_1"', '""'), "agent_id"),
        (STORED_OUTBOUND.replace('"call_id":"call_1",', ""), "call_id"),
        (STORED_OUTBOUND.replace('"to_number"', '"toNumber"'), "to_number"),
    ],
)
def test_a_shape_nobody_writes_is_refused_naming_the_field(raw: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_job_metadata(raw)
    assert field in str(caught.value)


def test_a_campaign_call_job_carries_its_campaign_and_reads_back() -> None:
    job = _outbound().model_copy(
        update={"campaign": CallCampaignRef(id="cmp_1", row_id="cmr_1", attempt=2)}
    )
    written = job.model_dump_json()
    assert '"campaign":{"id":"cmp_1","row_id":"cmr_1","attempt":2}' in written
    assert read_job_metadata(written) == job
