"""The outbound call's answers at the HTTP edge: each error's status, its body, and the OpenAPI
description of every status with its examples."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from call_orchestrator.errors import (
    AgentFailed,
    AgentProviderKeyMissing,
    AgentRuntimeUnavailable,
    CallError,
    CallInProgress,
    CarrierRefused,
    DispatchFailed,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InsufficientBalance,
    InternalError,
    InvalidNumber,
    LiveKitUnavailable,
    NotAnswered,
    NumberInactive,
    NumberNotFound,
    TextAgent,
    TooManyCalls,
    TrunkNotSynced,
)
from call_orchestrator.schemas import OutboundCallErrorBody, OutboundCallResponse

# The seed's status for each error (a subclass not listed answers as its nearest listed base).
OUTBOUND_STATUS: dict[type[CallError], int] = {
    InvalidNumber: 400,
    TextAgent: 400,
    InsufficientBalance: 402,
    NumberNotFound: 404,
    NumberInactive: 404,
    NotAnswered: 408,
    TrunkNotSynced: 409,
    CallInProgress: 409,
    IdempotencyKeyInProgress: 409,
    IdempotencyKeyReused: 422,
    TooManyCalls: 429,
    AgentProviderKeyMissing: 500,
    AgentFailed: 500,
    DispatchFailed: 500,
    InternalError: 500,
    CallError: 500,
    CarrierRefused: 502,
    LiveKitUnavailable: 503,
    AgentRuntimeUnavailable: 503,
}


def status_of(error: CallError) -> int:
    """The HTTP status the outbound route answers `error` with."""
    return next(OUTBOUND_STATUS[c] for c in type(error).__mro__ if c in OUTBOUND_STATUS)


def error_body(error: str, message: str, sip_status: int | None = None) -> dict[str, Any]:
    """The outbound route's error body (`sip_status_code` only when the carrier gave one)."""
    body: dict[str, Any] = {"success": False, "error": error, "message": message}
    if sip_status is not None:
        body["sip_status_code"] = sip_status
    return body


def body_of(error: CallError) -> dict[str, Any]:
    """The route's body for `error`."""
    return error_body(error.error, error.message, error.sip_status)


def error_response(error: CallError) -> JSONResponse:
    """The outbound route's answer to `error`."""
    return JSONResponse(body_of(error), status_code=status_of(error))


def _error_example(status: int, error: str, message: str, sip: int | None = None) -> Any:
    return {"summary": f"{status} {error}", "value": error_body(error, message, sip)}


def _error_response(description: str, *examples: Any) -> dict[str, Any]:
    return {
        "model": OutboundCallErrorBody,
        "description": description,
        "content": {
            "application/json": {"examples": {e["summary"]: e for e in examples}},
        },
    }


OUTBOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Answered (wait_until_answered true, the default)."},
    202: {
        "model": OutboundCallResponse,
        "description": "wait_until_answered false: the call is being placed; the outcome follows "
        "in `telephony.call.*` events, the number's webhook and `GET /calls/{call_id}`.",
    },
    400: _error_response(
        "Invalid number (format, or carrier SIP 400, 404, 484, 485, 488, 604); text-only agent; "
        "invalid body.",
        _error_example(
            400,
            "invalid_number",
            "Invalid number: to_number: Phone number must be in E.164 format and start with +",
        ),
        _error_example(
            400, "invalid_number", "Invalid number: the carrier refused the destination", 404
        ),
        _error_example(400, "text_agent", "Agent is a text-only agent and cannot make voice calls"),
        _error_example(
            400,
            "invalid_request",
            "body.ringing_timeout_s: Input should be less than or equal to 120",
        ),
    ),
    401: _error_response(
        "Missing or invalid bearer token.",
        _error_example(401, "unauthenticated", "Missing bearer token"),
    ),
    402: _error_response(
        "Insufficient balance (carrier SIP 402).",
        _error_example(
            402,
            "insufficient_balance",
            "Insufficient balance: the carrier account has insufficient funds",
            402,
        ),
    ),
    404: _error_response(
        "from_number is not a number of your organization with an outbound agent, or it is "
        "inactive (not fully configured: no termination URI or SIP credentials).",
        _error_example(404, "phone_number_not_found", "Phone number not found"),
        _error_example(
            404,
            "phone_number_inactive",
            "Phone number +1234567890 is inactive: it is not fully configured to place calls "
            "(it needs a termination URI and SIP credentials); complete it and try again",
        ),
    ),
    408: _error_response(
        "Not answered: no_answer (SIP 408, 480, 487, ringing timeout), busy (486, 600), "
        "declined (603).",
        _error_example(408, "busy", "Call was not answered: the callee is busy", 486),
        _error_example(408, "no_answer", "Call was not answered"),
        _error_example(408, "declined", "Call was not answered: the callee declined", 603),
    ),
    409: _error_response(
        "A call between the same two numbers is in progress, the outbound trunk is not synced, "
        "or a request with this Idempotency-Key is still running.",
        _error_example(
            409,
            "call_in_progress",
            "A call from +1234567890 to +12025550123 is already in progress",
        ),
        _error_example(
            409,
            "trunk_not_synced",
            "The outbound SIP trunk of +1234567890 is not "
            "synced with LiveKit yet; check the number's sync status and try again "
            "shortly",
        ),
    ),
    422: _error_response(
        "The Idempotency-Key was used before with a different body.",
        _error_example(
            422, "idempotency_key_reused", "This Idempotency-Key was used with a different request"
        ),
    ),
    413: _error_response(
        "Request body too large.",
        _error_example(413, "request_too_large", "Request body must be at most 65536 bytes"),
    ),
    429: _error_response(
        "Your organization's concurrent call limit is reached.",
        _error_example(
            429,
            "too_many_calls",
            "Your organization already has 50 calls in progress; try again when one ends",
        ),
    ),
    500: _error_response(
        "Server error: internal; the agent cannot run (no agent-runtime has its providers' API "
        "keys: refused before anyone is rung); the agent failed during the call.",
        _error_example(500, "internal", "Server error: internal error initiating the call"),
        _error_example(
            500,
            "agent_provider_key_missing",
            "Server error: the agent cannot run: no agent runtime has its providers' API keys "
            "(set CARTESIA_API_KEY, DEEPGRAM_API_KEY, OPENAI_API_KEY (or OPENAI_BASE_URL) where "
            "agent-runtime runs)",
        ),
        _error_example(
            500,
            "agent_failed",
            "Server error: the agent failed: No API key for provider openai: set OPENAI_API_KEY",
        ),
    ),
    502: _error_response(
        "The carrier refused the call with another status, failed (5xx) or was unreachable.",
        _error_example(502, "carrier_error", "The carrier refused the call (SIP 503)", 503),
    ),
    503: _error_response(
        "LiveKit is unavailable or slow (answered within 2 s), or no agent-runtime is running.",
        _error_example(
            503,
            "livekit_unavailable",
            "The call service (LiveKit) is unavailable; try again shortly",
        ),
        _error_example(
            503,
            "agent_runtime_unavailable",
            "No agent runtime is running to take the call; try again shortly",
        ),
    ),
}
