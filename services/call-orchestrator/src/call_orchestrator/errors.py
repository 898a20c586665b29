"""Why an outbound call request did not lead to a call, as meaning, never as an HTTP status.

Each error carries its `error` code (also the call history's `failure_reason`), a message for
people, the carrier's SIP status when it gave one, and `retryable` (a retry with the same
Idempotency-Key tries again rather than being answered the same). The HTTP edge
(`outbound_responses.OUTBOUND_STATUS`) alone maps them to status codes.

CallError
├── InvalidNumber             a number the request or the carrier refused
├── TextAgent                 the number's agent is text-only
├── NumberNotFound            not a number of the organization with an outbound agent
├── NumberInactive            not fully configured to place calls
├── TrunkNotSynced            its outbound trunk is not in LiveKit yet
├── CallInProgress            a call between the same two numbers is live (retryable)
├── TooManyCalls              the organization is at its concurrent call limit (retryable)
├── IdempotencyKeyInProgress  a request with the same key is still running
├── IdempotencyKeyReused      the key was used with another body
├── InsufficientBalance       the carrier account has no funds (SIP 402)
├── NotAnswered               no answer, busy or declined (`reason`)
├── CarrierRefused            any other final refusal, or a carrier failure (5xx)
│   └── CarrierUnreachable    LiveKit could not reach the carrier
├── LiveKitUnavailable        LiveKit did not answer in time (retryable)
├── AgentRuntimeUnavailable   no agent-runtime is running (retryable)
├── AgentProviderKeyMissing   no agent-runtime has the agent's provider keys (retryable)
├── AgentFailed               the agent failed during the call (retryable)
├── DispatchFailed            LiveKit refused the agent's dispatch (retryable)
└── InternalError             anything unexpected (retryable)
"""

from __future__ import annotations

from collections.abc import Iterable

from talkifai_common.agent_capabilities import ENGINES, KEY_ALTERNATIVES


class CallError(Exception):
    """Base: an outbound call request that did not lead to a call."""

    error = "internal"
    retryable = False

    def __init__(self, message: str, *, sip_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sip_status = sip_status

    @property
    def failure_reason(self) -> str:
        """What the call history records."""
        return self.error


class InvalidNumber(CallError):
    """A number the request or the carrier (SIP 400, 404, 484, 485, 488, 604) refused."""

    error = "invalid_number"

    @classmethod
    def in_field(cls, field_name: str, detail: object) -> InvalidNumber:
        """The request's number in `field_name` is not a valid E.164 number."""
        return cls(f"Invalid number: {field_name}: {detail}")

    @classmethod
    def by_carrier(cls, sip_status: int) -> InvalidNumber:
        """The carrier refused the destination."""
        return cls("Invalid number: the carrier refused the destination", sip_status=sip_status)


class TextAgent(CallError):
    """The number's agent is text-only and cannot make voice calls."""

    error = "text_agent"

    def __init__(self) -> None:
        super().__init__("Agent is a text-only agent and cannot make voice calls")


class NumberNotFound(CallError):
    """from_number is not a number of the organization with an outbound agent."""

    error = "phone_number_not_found"

    def __init__(self) -> None:
        super().__init__("Phone number not found")


class NumberInactive(CallError):
    """from_number is inactive: no termination URI or SIP credentials."""

    error = "phone_number_inactive"

    def __init__(self, phone_number: str) -> None:
        super().__init__(
            f"Phone number {phone_number} is inactive: it is not fully configured to place "
            "calls (it needs a termination URI and SIP credentials); complete it and try again"
        )


class TrunkNotSynced(CallError):
    """The number's outbound trunk is not in LiveKit yet."""

    error = "trunk_not_synced"

    @classmethod
    def for_number(cls, phone_number: str) -> TrunkNotSynced:
        """The read model has no trunk for `phone_number` yet."""
        return cls(
            f"The outbound SIP trunk of {phone_number} is not synced with LiveKit yet; "
            "check the number's sync status and try again shortly"
        )

    @classmethod
    def in_livekit(cls) -> TrunkNotSynced:
        """LiveKit does not know the trunk the read model names."""
        return cls("The number's outbound trunk is not in LiveKit yet; try again shortly")


class CallInProgress(CallError):
    """A call between the same two numbers is live."""

    error = "call_in_progress"
    retryable = True

    def __init__(self, from_number: str, to_number: str) -> None:
        super().__init__(f"A call from {from_number} to {to_number} is already in progress")


class TooManyCalls(CallError):
    """The organization is at its concurrent call limit."""

    error = "too_many_calls"
    retryable = True

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Your organization already has {limit} calls in progress; try again when one ends"
        )


class IdempotencyKeyInProgress(CallError):
    """A request with this Idempotency-Key is still running."""

    error = "idempotency_key_in_progress"

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is running")


class IdempotencyKeyReused(CallError):
    """This Idempotency-Key was used with a different request body."""

    error = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with a different request")


class InsufficientBalance(CallError):
    """The carrier account has insufficient funds (SIP 402)."""

    error = "insufficient_balance"

    def __init__(self, sip_status: int) -> None:
        super().__init__(
            "Insufficient balance: the carrier account has insufficient funds",
            sip_status=sip_status,
        )


_NOT_ANSWERED_TEXT = {
    "no_answer": "Call was not answered",
    "busy": "Call was not answered: the callee is busy",
    "declined": "Call was not answered: the callee declined",
}


class NotAnswered(CallError):
    """The callee did not answer: `reason` is no_answer, busy or declined."""

    def __init__(self, reason: str, sip_status: int | None = None) -> None:
        super().__init__(_NOT_ANSWERED_TEXT[reason], sip_status=sip_status)
        self.reason = reason
        self.error = reason


class CarrierRefused(CallError):
    """The carrier refused the call otherwise, failed, or could not be reached."""

    error = "carrier_error"

    def __init__(self, sip_status: int | None, *, detail: str | None = None) -> None:
        super().__init__(
            f"The carrier refused the call ({detail or f'SIP {sip_status}'})",
            sip_status=sip_status,
        )


class CarrierUnreachable(CarrierRefused):
    """LiveKit could not reach the carrier."""

    error = "carrier_unreachable"

    def __init__(self) -> None:
        CallError.__init__(self, "The carrier could not be reached")


class LiveKitUnavailable(CallError):
    """LiveKit did not answer in time."""

    error = "livekit_unavailable"
    retryable = True

    def __init__(self) -> None:
        super().__init__("The call service (LiveKit) is unavailable; try again shortly")


class AgentRuntimeUnavailable(CallError):
    """No agent-runtime is running to take the call."""

    error = "agent_runtime_unavailable"
    retryable = True

    def __init__(self) -> None:
        super().__init__("No agent runtime is running to take the call; try again shortly")


class AgentProviderKeyMissing(CallError):
    """Agent-runtimes run, but none has every provider key the agent needs (a configuration
    problem: the seed's server error)."""

    error = "agent_provider_key_missing"
    retryable = True

    def __init__(self, missing: Iterable[str]) -> None:
        # A variable that another can stand in for is named with it: "OPENAI_API_KEY (or
        # OPENAI_BASE_URL)" tells a self-hosting team what to set too.
        names = [
            f"{name} (or {KEY_ALTERNATIVES[name]})" if name in KEY_ALTERNATIVES else name
            for name in sorted(set(missing) - ENGINES)
        ]
        engines = sorted(set(missing) & ENGINES)
        needs = ([f"set {', '.join(names)}"] if names else []) + (
            [f"install {', '.join(engines)}"] if engines else []
        )
        super().__init__(
            "Server error: the agent cannot run: no agent runtime has its providers' API keys "
            f"({' and '.join(needs)} where agent-runtime runs)"
        )


class AgentFailed(CallError):
    """The agent failed during the call."""

    error = "agent_failed"
    retryable = True

    def __init__(self, detail: str | None) -> None:
        super().__init__(f"Server error: the agent failed: {detail or 'no detail reported'}")


class DispatchFailed(CallError):
    """LiveKit refused the agent's dispatch."""

    error = "dispatch_failed"
    retryable = True

    def __init__(self) -> None:
        super().__init__("Server error: the agent could not be dispatched")


class InternalError(CallError):
    """Anything unexpected."""

    retryable = True

    def __init__(self) -> None:
        super().__init__("Server error: internal error initiating the call")
