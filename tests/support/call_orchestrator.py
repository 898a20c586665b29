"""call-orchestrator test helpers: publish read-model events, set up LiveKit trunks, call the API."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import httpx
from livekit import api as lkapi
from nats.aio.client import Client as NATS
from pydantic import BaseModel

from call_orchestrator.adapters.postgres import NewCall
from livekit_emulator.testing import RunningEmulator
from talkifai_common.agent_capabilities import RuntimeBoard
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.events import (
    AgentData,
    AgentRef,
    CallDirection,
    EventName,
    LiveKitResources,
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
from talkifai_common.voice import Architecture
from tests.support.numbers_api import BusRecorder

JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop"
INTERNAL_TOKEN = "test-internal-token-0123456789abcdef"
SIGNING_SECRET = "test-webhook-signing-secret-0123456789"
T = TypeVar("T")


def agent_data(
    agent_id: str, name: str = "Sales Agent", architecture: str = "pipeline", version: int = 1
) -> AgentData:
    """An agent as numbers-api publishes it."""
    now = datetime.now(UTC)
    return AgentData(
        id=agent_id,
        name=name,
        architecture=Architecture(architecture),
        instructions="Be helpful.",
        greeting="Hello!",
        language="en-US",
        stt=None,
        llm=None,
        tts=None,
        realtime=None,
        version=version,
        created_at=now,
        updated_at=now,
    )


def number_data(
    number_id: str,
    phone_number: str,
    *,
    outbound: AgentData | None = None,
    inbound: AgentData | None = None,
    version: int = 1,
    webhook_url: str | None = None,
    recording_mode: str = "disabled",
    **settings: Any,
) -> PhoneNumberData:
    """A phone number as numbers-api publishes it (`settings`: its carrier settings)."""
    now = datetime.now(UTC)

    def ref(agent: AgentData | None) -> AgentRef | None:
        return (
            AgentRef(id=agent.id, name=agent.name, architecture=agent.architecture)
            if agent
            else None
        )

    return PhoneNumberData(
        id=number_id,
        phone_number=phone_number,
        termination_uri="example.pstn.twilio.com",
        sip_username="user",
        has_sip_password=True,
        inbound_agent=ref(inbound),
        outbound_agent=ref(outbound),
        webhook_url=webhook_url,
        recording_mode=RecordingMode(recording_mode),
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        **{"carrier": "twilio", **settings},
        status=NumberStatus.ACTIVE,
        sync=SyncStatus(state=SyncState.PENDING),
        version=version,
        created_at=now,
        updated_at=now,
    )


def new_call(
    call_id: str,
    room: str,
    *,
    direction: CallDirection = CallDirection.OUTBOUND,
    webhook_url: str | None = None,
) -> NewCall:
    """A call to record straight in the store (tests of the store and of lost webhooks)."""
    return NewCall(
        id=call_id,
        org_id="org_a",
        direction=direction,
        phone_number_id="pn_1",
        phone_number="+12025550100",
        from_number="+12025550100",
        to_number="+12025550123",
        agent_id="agent_1",
        agent_name="Sales",
        room_name=room,
        webhook_url=webhook_url,
        recording_mode=RecordingMode.DISABLED,
        participant_identity="sip_+12025550123",
    )


@dataclass
class Seeded:
    """A number set up end to end for calls."""

    number_id: str
    phone_number: str
    org_id: str
    agent: AgentData
    outbound_trunk_id: str | None = None


@dataclass
class Harness:
    """A running call-orchestrator and what surrounds it."""

    http: httpx.AsyncClient
    nc: NATS
    lk: RunningEmulator
    livekit: lkapi.LiveKitAPI
    bus: BusRecorder
    database_url: str
    _db: asyncpg.Connection | None = field(default=None)
    runtime_advertiser: asyncio.Task[None] | None = field(default=None)
    runtimes: RuntimeBoard | None = field(default=None)
    context: Any = field(default=None)
    """The app's handler context (`call_orchestrator.handlers.context.Context`), for calling a
    periodic pass directly."""

    async def runtimes_live(self) -> int:
        """How many agent-runtimes the service sees as live."""
        assert self.runtimes is not None
        return len(self.runtimes.live("talkifai-agent"))

    async def stop_agent_runtime(self) -> None:
        """Stop advertising the stand-in agent-runtime (its key is deleted on the way out)."""
        if self.runtime_advertiser is not None:
            self.runtime_advertiser.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.runtime_advertiser
            self.runtime_advertiser = None

    async def wait_ready(self) -> None:
        """Until the service is connected to its database and NATS."""
        for _ in range(500):
            response = await self.http.get("/readyz")
            if response.status_code == 200:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"call-orchestrator never became ready: {response.text}")

    def headers(self, org_id: str = "org_a", role: Role = Role.MEMBER) -> dict[str, str]:
        """A user's bearer header."""
        token = issue_hs256_token(JWT_SECRET, sub="user-1", org_id=org_id, role=role)
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        to_number: str,
        from_number: str,
        *,
        org_id: str = "org_a",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        """`POST /telephony/outbound-call` as a member of `org_id`."""
        return await self.http.post(
            "/telephony/outbound-call",
            json={"to_number": to_number, "from_number": from_number, **extra},
            headers={**self.headers(org_id), **(headers or {})},
        )

    async def get_call(self, call_id: str, org_id: str = "org_a") -> httpx.Response:
        """`GET /calls/{id}`."""
        return await self.http.get(f"/calls/{call_id}", headers=self.headers(org_id))

    async def wait_call(
        self, call_id: str, predicate: Callable[[dict[str, Any]], bool], within_s: float = 5.0
    ) -> dict[str, Any]:
        """Poll a call until `predicate` holds."""
        return await eventually(lambda: self._call_json(call_id), predicate, within_s)

    async def _call_json(self, call_id: str) -> dict[str, Any]:
        response = await self.get_call(call_id)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def publish(self, name: EventName, org_id: str, subject: str, data: BaseModel) -> None:
        """Publish an event as numbers-api or trunk-sync would (deduplicated by id)."""
        event = new_event(name, source="tests", subject=subject, orgid=org_id, data=data)
        await self.nc.jetstream().publish(
            name.subject,
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id, "content-type": "application/json"},
        )

    async def db(self) -> asyncpg.Connection:
        """A connection to the service's database (for waiting on read models)."""
        if self._db is None or self._db.is_closed():
            self._db = await asyncpg.connect(self.database_url)
        return self._db

    async def wait_number_version(self, number_id: str, version: int | None) -> None:
        """Until the read model holds `version` of the number (None: until it is gone)."""
        conn = await self.db()

        async def current() -> Any:
            return await conn.fetchval("SELECT version FROM phone_numbers WHERE id = $1", number_id)

        await eventually(current, lambda v: v == version)

    async def outbound_trunk(
        self, phone_number: str, address: str = "example.pstn.twilio.com"
    ) -> str:
        """Create the number's outbound trunk in LiveKit, as trunk-sync does."""
        trunk = await self.livekit.sip.create_outbound_trunk(
            lkapi.CreateSIPOutboundTrunkRequest(
                trunk=lkapi.SIPOutboundTrunkInfo(
                    name=f"talkifai {phone_number}",
                    address=address,
                    numbers=[phone_number],
                    auth_username="user",
                    auth_password="password",
                )
            )
        )
        return str(trunk.sip_trunk_id)

    async def seed(
        self,
        phone_number: str = "+12025550100",
        *,
        org_id: str = "org_a",
        architecture: str = "pipeline",
        synced: bool = True,
        webhook_url: str | None = None,
        recording_mode: str = "disabled",
        inbound: bool = False,
        trunk_address: str = "example.pstn.twilio.com",
        **settings: Any,
    ) -> Seeded:
        """A number with an outbound agent in the read model and, if synced, a LiveKit trunk
        (`settings`: the number's carrier settings)."""
        agent = agent_data(f"agent_{uuid.uuid4().hex[:12]}", architecture=architecture)
        number_id = f"pn_{uuid.uuid4().hex[:12]}"
        await self.publish(EventName.AGENT_CREATED, org_id, agent.id, agent)
        number = number_data(
            number_id,
            phone_number,
            outbound=agent,
            inbound=agent if inbound else None,
            webhook_url=webhook_url,
            recording_mode=recording_mode,
            **settings,
        )
        await self.publish(EventName.PHONE_NUMBER_CREATED, org_id, number_id, number)
        seeded = Seeded(number_id=number_id, phone_number=phone_number, org_id=org_id, agent=agent)
        if synced:
            seeded.outbound_trunk_id = await self.outbound_trunk(phone_number, trunk_address)
            await self.publish_synced(seeded, version=1)
        conn = await self.db()

        async def ready() -> Any:
            return await conn.fetchrow(
                "SELECT n.version, s.outbound_trunk_id FROM phone_numbers n "
                "LEFT JOIN phone_number_sync s ON s.phone_number_id = n.id WHERE n.id = $1",
                number_id,
            )

        await eventually(
            ready,
            lambda r: (
                r is not None and (not synced or r["outbound_trunk_id"] == seeded.outbound_trunk_id)
            ),
        )
        return seeded

    async def publish_synced(self, seeded: Seeded, version: int) -> None:
        """trunk-sync's report that the number's LiveKit resources are in place."""
        await self.publish(
            EventName.PHONE_NUMBER_SYNCED,
            seeded.org_id,
            seeded.number_id,
            PhoneNumberSyncData(
                phone_number_id=seeded.number_id,
                phone_number=seeded.phone_number,
                version=version,
                state=SyncState.SYNCED,
                resources=LiveKitResources(outbound_trunk_id=seeded.outbound_trunk_id),
                at=datetime.now(UTC),
            ),
        )

    async def settled_events(self, subject_prefix: str = "telephony.") -> list[dict[str, Any]]:
        """Every event the service has committed so far: its outbox is drained (relayed to the
        stream) and a sentinel published after them has come back."""
        db = await self.db()

        async def outbox_rows() -> int:
            return int(await db.fetchval("SELECT count(*) FROM outbox"))

        await eventually(outbox_rows, lambda rows: rows == 0)
        return await self.bus.settled_through(self.nc, subject_prefix)

    async def events_for(self, call_id: str, count: int) -> list[dict[str, Any]]:
        """Wait for `count` call events about `call_id` on the bus."""

        async def found() -> list[dict[str, Any]]:
            return [e for e in self.bus.events("telephony.call.") if e["subject"] == call_id]

        return await eventually(found, lambda events: len(events) >= count)


async def eventually(
    probe: Callable[[], Awaitable[T]], predicate: Callable[[T], bool], within_s: float = 5.0
) -> T:
    """Poll `probe` until `predicate` holds; fail with the last value otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    value = await probe()
    while not predicate(value):
        if loop.time() > deadline:
            raise AssertionError(f"condition never held; last value: {value!r}")
        await asyncio.sleep(0.02)
        value = await probe()
    return value
