"""Rules of calls, with no I/O: room names, status order, what a carrier's refusal means.

The outbound route's errors are in `call_orchestrator.errors`; other failures use
`talkifai_common.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from call_orchestrator.errors import (
    CallError,
    CarrierRefused,
    InsufficientBalance,
    InvalidNumber,
    NotAnswered,
)
from talkifai_common.e164 import digits_of
from talkifai_common.events import CallStatus, NumberFormat, RecordingMode
from talkifai_common.ids import random_id
from talkifai_common.voice import Architecture

ACTIVE_STATUSES = (CallStatus.INITIATED, CallStatus.RINGING, CallStatus.ANSWERED)
FINAL_STATUSES = (CallStatus.COMPLETED, CallStatus.FAILED)
# A status may only move forward; completed and failed are both final.
STATUS_RANK = {
    CallStatus.INITIATED: 0,
    CallStatus.RINGING: 1,
    CallStatus.ANSWERED: 2,
    CallStatus.COMPLETED: 3,
    CallStatus.FAILED: 3,
}
# The end reason of a call a user ended with `POST /calls/{id}/hangup` (its failure reason when
# it was not answered yet).
HUNG_UP_BY_USER = "hung_up_by_user"


def new_call_id() -> str:
    """A fresh call id, `call_` and 16 random characters."""
    return random_id("call")


OUTBOUND_ROOM_PREFIX = "outbound_"


def outbound_room_suffix(to_number: str, from_number: str) -> str:
    """What follows the agent id in an outbound room's name: `_<to digits>_<from digits>`."""
    return f"_{digits_of(to_number)}_{digits_of(from_number)}"


def outbound_room_name(agent_id: str, to_number: str, from_number: str) -> str:
    """The seed's room: `outbound_<agent_id>_<to digits>_<from digits>`."""
    return OUTBOUND_ROOM_PREFIX + agent_id + outbound_room_suffix(to_number, from_number)


def outbound_identity(to_number: str) -> str:
    """The callee's participant identity, as LiveKit names SIP participants."""
    return f"sip_{to_number}"


INVALID_NUMBER_CODES = frozenset({400, 404, 484, 485, 488, 604})
NO_ANSWER_CODES = {408: "no_answer", 480: "no_answer", 487: "no_answer"}
BUSY_CODES = {486: "busy", 600: "busy"}
DECLINED_CODES = {603: "declined"}


def outcome_for_sip_status(code: int) -> CallError:
    """The error a final carrier refusal means, by SIP status (the README's table)."""
    if code in INVALID_NUMBER_CODES:
        return InvalidNumber.by_carrier(code)
    if code == 402:
        return InsufficientBalance(code)
    reason = {**NO_ANSWER_CODES, **BUSY_CODES, **DECLINED_CODES}.get(code)
    if reason:
        return NotAnswered(reason, code)
    return CarrierRefused(code)


@dataclass(frozen=True)
class OutboundTarget:
    """What an outbound call needs from the read model."""

    phone_number_id: str
    org_id: str
    phone_number: str
    agent_id: str
    agent_name: str
    agent_architecture: Architecture | None
    outbound_trunk_id: str | None
    webhook_url: str | None
    recording_mode: RecordingMode
    # As of the lookup: a live call holds the room this call would use, and the organization has
    # no live-call slot left.
    room_in_use: bool = False
    org_at_limit: bool = False
    # The seed's status: inactive = not fully configured (no termination URI or SIP credentials).
    inactive: bool = False
    # The provider-key variables the agent needs where agent-runtime runs (None: not known).
    agent_provider_keys: tuple[str, ...] | None = None
    # How the carrier wants numbers written on the INVITE (the number's, else its profile's).
    dial_format: NumberFormat = field(default_factory=NumberFormat)


@dataclass(frozen=True)
class InboundTarget:
    """What an inbound call needs from the read model: whose number it reached, and its agent."""

    phone_number_id: str
    org_id: str
    phone_number: str
    agent_id: str | None
    agent_name: str | None
    webhook_url: str | None
    recording_mode: RecordingMode
