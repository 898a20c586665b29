"""The emulator's in-memory state: what a LiveKit server and its SIP service would hold."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from livekit.protocol.agent_dispatch import AgentDispatch
from livekit.protocol.egress import EgressInfo
from livekit.protocol.models import ParticipantInfo, Room
from livekit.protocol.sip import SIPDispatchRuleInfo, SIPInboundTrunkInfo, SIPOutboundTrunkInfo

from livekit_emulator import index
from livekit_emulator.index import Indexed

CallStatus = Literal["dialing", "ringing", "active", "hangup", "failed"]


def to_dict(message: Message) -> dict[str, Any]:
    """Protobuf JSON with proto field names and defaults, as Twirp answers JSON clients."""
    return MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


@dataclass
class RoomRecord:
    """A live room with its participants (by identity) and agent dispatches (by id)."""

    info: Room
    participants: dict[str, ParticipantInfo] = field(default_factory=dict)
    dispatches: dict[str, AgentDispatch] = field(default_factory=dict)
    close_timer: asyncio.TimerHandle | None = None
    # Set when the room was created with its own departure_timeout; otherwise the emulator's.
    explicit_departure_timeout: int | None = None


@dataclass
class Outcome:
    """How the far end answers an outbound call to one number."""

    sip_status_code: int = 200
    ring_ms: int = 0
    no_answer: bool = False
    reason: str | None = None
    unreachable: bool = False
    # What the callee does once the call is answered (see people.py), and who answers.
    script: list[dict[str, Any]] = field(default_factory=list)
    answered_by: Literal["human", "machine"] = "human"


@dataclass
class Outcomes:
    """Programmed outcomes by number as written; a number not programmed as written matches the
    first one programmed with the same normalised number (no scan over every outcome per call)."""

    _by_number: dict[str, Outcome] = field(default_factory=dict)
    _first_spelling: dict[str, str] = field(default_factory=dict)

    def program(self, number: str, outcome: Outcome) -> None:
        """How calls to `number` end from now on."""
        self._by_number[number] = outcome
        self._first_spelling.setdefault(index.normalize_number(number), number)

    def for_number(self, number: str) -> Outcome | None:
        """The outcome programmed for `number`, exactly or after normalising."""
        found = self._by_number.get(number)
        if found is None:
            spelling = self._first_spelling.get(index.normalize_number(number))
            found = self._by_number.get(spelling) if spelling is not None else None
        return found


@dataclass
class CallRecord:
    """One SIP call, inbound or outbound, kept after it ends."""

    sip_call_id: str
    direction: Literal["inbound", "outbound"]
    room_name: str
    participant_identity: str
    participant_id: str
    sip_trunk_id: str
    from_number: str
    to_number: str
    created_at_ms: int
    sip_dispatch_rule_id: str = ""
    status: CallStatus = "dialing"
    sip_status_code: int | None = None
    sip_status: str | None = None
    error: str | None = None
    answered_at_ms: int | None = None
    ended_at_ms: int | None = None
    request: dict[str, Any] | None = None
    # Where a successful transfer (REFER) sent the call, as the request wrote it.
    transferred_to: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    duration_timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    # The person on the phone end (people.py): their script, who answers, and once the call is
    # answered with someone to talk to, the emulated person (kept after the call for its record).
    script: list[dict[str, Any]] = field(default_factory=list)
    answered_by: Literal["human", "machine"] = "human"
    person: Any = field(default=None, repr=False)
    # A call placed or received over the SIP edge: its dialog (`hang_up()` sends the BYE) and
    # what went over the wire (`invites` sent with their responses, `transport`, `rtp`).
    line: Any = field(default=None, repr=False)
    sip: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "sip_call_id": self.sip_call_id,
            "direction": self.direction,
            "room_name": self.room_name,
            "participant_identity": self.participant_identity,
            "participant_id": self.participant_id,
            "sip_trunk_id": self.sip_trunk_id,
            "sip_dispatch_rule_id": self.sip_dispatch_rule_id,
            "from_number": self.from_number,
            "to_number": self.to_number,
            "status": self.status,
            "sip_status_code": self.sip_status_code,
            "sip_status": self.sip_status,
            "error": self.error,
            "created_at_ms": self.created_at_ms,
            "answered_at_ms": self.answered_at_ms,
            "ended_at_ms": self.ended_at_ms,
            "request": self.request,
            "transferred_to": self.transferred_to,
            "sip": self.sip,
            "person": self.person.view() if self.person is not None else None,
        }


@dataclass
class WorkerRecord:
    """An agent worker connected over `/agent` and registered (see `workers.py`)."""

    id: str
    agent_name: str
    type: str
    version: str
    namespace: str
    deployment: str
    connected_at_ms: int
    status: str = "WS_AVAILABLE"
    load: float = 0.0
    job_count: int = 0
    last_ping_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "agent_name": self.agent_name,
            "type": self.type,
            "version": self.version,
            "namespace": self.namespace,
            "deployment": self.deployment,
            "status": self.status,
            "load": self.load,
            "job_count": self.job_count,
            "connected_at_ms": self.connected_at_ms,
            "last_ping_ms": self.last_ping_ms,
        }


@dataclass
class JobRecord:
    """A job offered to workers for one agent dispatch; its `status` is LiveKit's JobStatus."""

    id: str
    dispatch_id: str
    room: str
    room_sid: str
    agent_name: str
    metadata: str
    created_at_ms: int
    status: str = "JS_PENDING"
    error: str = ""
    worker_id: str | None = None
    participant_identity: str = ""
    # Every worker that declined the job (available=false), in order.
    declined_by: list[str] = field(default_factory=list)
    offered_at_ms: int | None = None
    accepted_at_ms: int | None = None
    assigned_at_ms: int | None = None
    running_at_ms: int | None = None
    ended_at_ms: int | None = None
    terminated_at_ms: int | None = None
    # When the job's participant (the agent) joined the room over /rtc, or why it could not.
    joined_at_ms: int | None = None
    join_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "dispatch_id": self.dispatch_id,
            "room": self.room,
            "room_sid": self.room_sid,
            "agent_name": self.agent_name,
            "metadata": self.metadata,
            "worker_id": self.worker_id,
            "state": self.status,
            "error": self.error,
            "participant_identity": self.participant_identity,
            "declined_by": list(self.declined_by),
            "created_at_ms": self.created_at_ms,
            "offered_at_ms": self.offered_at_ms,
            "accepted_at_ms": self.accepted_at_ms,
            "assigned_at_ms": self.assigned_at_ms,
            "running_at_ms": self.running_at_ms,
            "ended_at_ms": self.ended_at_ms,
            "terminated_at_ms": self.terminated_at_ms,
            "joined_at_ms": self.joined_at_ms,
            "join_error": self.join_error,
        }


@dataclass
class Faults:
    """Injected failures for resilience tests."""

    unavailable: bool = False
    latency_ms: int = 0
    # Twirp calls answered with the injected failure, so a fault test can tell the fault was hit.
    refused: int = 0
    # Twirp calls received and being held back by `latency_ms` right now.
    held: int = 0
    # `/rtc` answers every join with 503 (a LiveKit node that cannot take participants).
    refuse_joins: bool = False
    # Joins refused because of `refuse_joins`.
    joins_refused: int = 0


@dataclass
class EmulatorState:
    """Everything one emulator holds; reset between tests through the control API."""

    inbound_trunks: Indexed[SIPInboundTrunkInfo] = field(default_factory=index.inbound_trunks)
    outbound_trunks: Indexed[SIPOutboundTrunkInfo] = field(default_factory=index.outbound_trunks)
    dispatch_rules: Indexed[SIPDispatchRuleInfo] = field(default_factory=index.dispatch_rules)
    rooms: dict[str, RoomRecord] = field(default_factory=dict)
    # Every agent dispatch ever created, kept after its room closes (state.deleted_at is then set),
    # so a test can see what a short call dispatched.
    agent_dispatches: dict[str, AgentDispatch] = field(default_factory=dict)
    egresses: dict[str, EgressInfo] = field(default_factory=dict)
    calls: dict[str, CallRecord] = field(default_factory=dict)
    # Connected agent workers (they survive a reset: they are connections, not resources) and
    # every job offered to them, kept after it ends.
    workers: dict[str, WorkerRecord] = field(default_factory=dict)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    outcomes: Outcomes = field(default_factory=Outcomes)
    faults: Faults = field(default_factory=Faults)

    def snapshot(self) -> dict[str, Any]:
        """The JSON answered by `GET /emulator/state`."""
        participants: list[dict[str, Any]] = []
        for room in self.rooms.values():
            for p in room.participants.values():
                participants.append({**to_dict(p), "room_name": room.info.name})
        return {
            "inbound_trunks": [to_dict(t) for _, t in sorted(self.inbound_trunks.items())],
            "outbound_trunks": [to_dict(t) for _, t in sorted(self.outbound_trunks.items())],
            "dispatch_rules": [to_dict(r) for _, r in sorted(self.dispatch_rules.items())],
            "rooms": [to_dict(r.info) for r in self.rooms.values()],
            "participants": participants,
            "agent_dispatches": [to_dict(d) for d in self.agent_dispatches.values()],
            "egresses": [to_dict(e) for e in self.egresses.values()],
            "workers": [w.to_dict() for w in self.workers.values()],
            "jobs": [j.to_dict() for j in self.jobs.values()],
            "calls": [c.to_dict() for c in self.calls.values()],
            "faults": asdict(self.faults),
        }
