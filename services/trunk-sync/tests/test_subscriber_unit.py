"""trunk-sync's subscriber in FastStream's in-memory `TestNatsBroker`, with fakes behind the ports.

The real-server tier (`test_delivery.py`) covers acks, naks and dead letters on JetStream; this tier
checks in milliseconds that the handler gets a typed event and talks to its ports as it should.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from faststream.nats import NatsBroker, TestNatsBroker

from talkifai_common.consumers import RetryPolicy
from talkifai_common.events import (
    CloudEvent,
    EventName,
    MediaEncryption,
    NumberStatus,
    PhoneNumberData,
    PhoneNumberSyncData,
    RecordingMode,
    SipTransport,
    SyncState,
    SyncStatus,
    new_event,
)
from talkifai_common.internal_api import InternalPhoneNumber
from trunk_sync.adapters.numbers_api import ForSync
from trunk_sync.consumers import register_consumers
from trunk_sync.domain import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    NumbersApiUnavailable,
    ObservedInbound,
    ObservedOutbound,
    ObservedRule,
    OutboundTrunkSpec,
)
from trunk_sync.handlers import Context

pytestmark = pytest.mark.unit

DURABLE = "trunk-sync-unit"
# TestNatsBroker hands the subscriber a message without JetStream metadata; a JetStream ack
# subject as its reply gives it one (first delivery of stream message 7).
FIRST_DELIVERY = "$JS.ACK.TELEPHONY.trunk-sync-unit.1.7.7.1700000000000000000.0"


class Numbers:
    """numbers-api as a fake: every number is deleted, or numbers-api is down."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.asked: list[str] = []

    async def number_for_sync(self, number_id: str) -> ForSync:
        self.asked.append(number_id)
        if self.down:
            raise NumbersApiUnavailable("numbers-api unreachable")
        return None, None

    async def all_numbers(self, page_size: int = 200) -> AsyncIterator[list[InternalPhoneNumber]]:
        yield []

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class EmptyLiveKit:
    """LiveKit holding nothing; a write would be a defect in these tests."""

    def __init__(self) -> None:
        self.looked_up: list[str] = []

    async def list_inbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedInbound]:
        self.looked_up.extend(numbers)
        return []

    async def list_outbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedOutbound]:
        return []

    async def list_dispatch_rules(
        self, *, trunk_ids: Sequence[str] = (), rule_ids: Sequence[str] = ()
    ) -> list[ObservedRule]:
        return []

    async def create_inbound_trunk(self, spec: InboundTrunkSpec, password: str) -> str:
        raise AssertionError("no trunk to create")

    async def update_inbound_trunk(
        self, trunk_id: str, spec: InboundTrunkSpec, password: str
    ) -> None:
        raise AssertionError("no trunk to update")

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec, password: str) -> str:
        raise AssertionError("no trunk to create")

    async def update_outbound_trunk(
        self, trunk_id: str, spec: OutboundTrunkSpec, password: str
    ) -> None:
        raise AssertionError("no trunk to update")

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> str:
        raise AssertionError("no rule to create")

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> None:
        raise AssertionError("no rule to update")

    async def delete_trunk(self, trunk_id: str) -> None:
        raise AssertionError("no trunk to delete")

    async def delete_dispatch_rule(self, rule_id: str) -> None:
        raise AssertionError("no rule to delete")

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


@dataclass
class Results:
    """The bus as a fake: what was published and dead-lettered."""

    published: list[CloudEvent[PhoneNumberSyncData]] = field(default_factory=list)
    dead: list[tuple[str, bytes, str]] = field(default_factory=list)

    async def publish(self, event: CloudEvent[PhoneNumberSyncData]) -> None:
        self.published.append(event)

    async def dead_letter(
        self, subject: str, payload: bytes, *, reason: str, error: str, deliveries: int
    ) -> None:
        self.dead.append((subject, payload, reason))


def number_event(number_id: str, phone_number: str) -> CloudEvent[PhoneNumberData]:
    now = datetime.now(UTC)
    data = PhoneNumberData(
        id=number_id,
        phone_number=phone_number,
        termination_uri="example.pstn.twilio.com",
        sip_username="user",
        has_sip_password=True,
        inbound_agent=None,
        outbound_agent=None,
        webhook_url=None,
        recording_mode=RecordingMode.DISABLED,
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        status=NumberStatus.ACTIVE,
        sync=SyncStatus(state=SyncState.PENDING),
        version=2,
        created_at=now,
        updated_at=now,
    )
    return new_event(
        EventName.PHONE_NUMBER_UPDATED,
        source="numbers-api",
        subject=number_id,
        orgid="org_unit",
        data=data,
    )


def subscribed(ctx: Context) -> NatsBroker:
    broker = NatsBroker()
    register_consumers(broker, ctx, RetryPolicy(), durable=DURABLE, batch=4, ack_wait_s=30.0)
    return broker


@pytest.fixture
def results() -> Results:
    return Results()


async def test_the_handler_syncs_the_number_the_typed_event_names(results: Results) -> None:
    numbers, livekit = Numbers(), EmptyLiveKit()
    broker = subscribed(Context(livekit=livekit, numbers=numbers, results=results))
    event = number_event("pn_unit_gone", "+12025550181")

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            event.model_dump_json().encode(),
            EventName.PHONE_NUMBER_UPDATED.subject,
            reply_to=FIRST_DELIVERY,
        )

    assert numbers.asked == ["pn_unit_gone"]
    assert "+12025550181" in livekit.looked_up
    # Deleted in numbers-api and nothing held in LiveKit: nothing to report, nothing dead.
    assert results.published == []
    assert results.dead == []


async def test_a_malformed_number_event_is_dead_lettered_without_asking_numbers_api(
    results: Results,
) -> None:
    numbers = Numbers()
    broker = subscribed(Context(livekit=EmptyLiveKit(), numbers=numbers, results=results))
    body = b'{"id": "e1", "subject": "pn_unit_malformed", "data": {"version": "x"}}'

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            body, EventName.PHONE_NUMBER_UPDATED.subject, reply_to=FIRST_DELIVERY
        )

    assert results.dead == [(EventName.PHONE_NUMBER_UPDATED.subject, body, "malformed")]
    assert numbers.asked == []


async def test_an_unreachable_numbers_api_is_retried_not_dead_lettered(results: Results) -> None:
    numbers = Numbers(down=True)
    broker = subscribed(Context(livekit=EmptyLiveKit(), numbers=numbers, results=results))
    event = number_event("pn_unit_retry", "+12025550182")

    async with TestNatsBroker(broker) as test_broker:
        await test_broker.publish(
            event.model_dump_json().encode(),
            EventName.PHONE_NUMBER_UPDATED.subject,
            reply_to=FIRST_DELIVERY,
        )

    assert numbers.asked == ["pn_unit_retry"]
    assert results.dead == []
    assert results.published == []
