"""Rules of calls, with no I/O: room names, status order, carrier outcomes, errors.

Errors:
    CallError                 base of the outbound route's failures (its own JSON body)
    └── every outcome carries `status_code`, `error`, `message` and, when known, `sip_status_code`
Other failures use `talkifai_common.errors` (problem+json).
"""

from __future__ import annotations

from dataclasses import dataclass

from talkifai_common.e164 import digits_of
from talkifai_common.events import CallStatus, RecordingMode
from talkifai_common.ids import random_id
from talkifai_common.voice import Architecture

TEXT_AGENT_MESSAGE = "Agent is a text-only agent and cannot make voice calls"
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


class CallError(Exception):
    """An outbound call request that did not lead to a call, as the route answers it."""

    def __init__(
        self,
        status_code: int,
        error: str,
        message: str,
        *,
        sip_status_code: int | None = None,
        failure_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.message = message
        self.sip_status_code = sip_status_code
        # What the call history records (None when no call was recorded).
        self.failure_reason = failure_reason or error

    def body(self) -> dict[str, object]:
        """The route's error body."""
        out: dict[str, object] = {"success": False, "error": self.error, "message": self.message}
        if self.sip_status_code is not None:
            out["sip_status_code"] = self.sip_status_code
        return out


INVALID_NUMBER_CODES = frozenset({400, 404, 484, 485, 488, 604})
NO_ANSWER_CODES = {408: "no_answer", 480: "no_answer", 487: "no_answer"}
BUSY_CODES = {486: "busy", 600: "busy"}
DECLINED_CODES = {603: "declined"}
_NOT_ANSWERED_TEXT = {
    "no_answer": "Call was not answered",
    "busy": "Call was not answered: the callee is busy",
    "declined": "Call was not answered: the callee declined",
}


def not_answered(reason: str, sip_status_code: int | None) -> CallError:
    """408: no answer, busy or declined."""
    return CallError(408, reason, _NOT_ANSWERED_TEXT[reason], sip_status_code=sip_status_code)


def outcome_for_sip_status(code: int) -> CallError:
    """The answer to a final carrier refusal, by SIP status (the README's table)."""
    if code in INVALID_NUMBER_CODES:
        return CallError(
            400,
            "invalid_number",
            "Invalid number: the carrier refused the destination",
            sip_status_code=code,
        )
    if code == 402:
        return CallError(
            402,
            "insufficient_balance",
            "Insufficient balance: the carrier account has insufficient funds",
            sip_status_code=code,
        )
    reason = {**NO_ANSWER_CODES, **BUSY_CODES, **DECLINED_CODES}.get(code)
    if reason:
        return not_answered(reason, code)
    return CallError(
        502,
        "carrier_error",
        f"The carrier refused the call (SIP {code})",
        sip_status_code=code,
    )


def number_inactive(phone_number: str) -> CallError:
    """404, the seed's code for a from_number that cannot place calls: it is inactive."""
    return CallError(
        404,
        "phone_number_inactive",
        f"Phone number {phone_number} is inactive: it is not fully configured to place calls "
        "(it needs a termination URI and SIP credentials); complete it and try again",
    )


def livekit_unavailable() -> CallError:
    """503: LiveKit did not answer."""
    return CallError(
        503, "livekit_unavailable", "The call service (LiveKit) is unavailable; try again shortly"
    )


def agent_cannot_run(missing: frozenset[str], *, any_runtime: bool) -> CallError:
    """No live agent-runtime can run the agent, so nobody is rung: 503 when none is running, else
    500 (the seed's server error: a configuration problem) naming the missing keys."""
    if not any_runtime:
        return CallError(
            503,
            "agent_runtime_unavailable",
            "No agent runtime is running to take the call; try again shortly",
        )
    return CallError(
        500,
        "agent_provider_key_missing",
        "Server error: the agent cannot run: no agent runtime has its providers' API keys "
        f"(set {', '.join(sorted(missing))} where agent-runtime runs)",
    )


def agent_failed(detail: str | None) -> CallError:
    """500 (the seed's server error): the agent failed during the call."""
    return CallError(
        500,
        "agent_failed",
        f"Server error: the agent failed: {detail or 'no detail reported'}",
    )


def internal_error() -> CallError:
    """500: anything unexpected."""
    return CallError(500, "internal", "Server error: internal error initiating the call")


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
