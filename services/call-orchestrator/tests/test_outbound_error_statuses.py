"""The outbound route's errors carry meaning; the HTTP edge alone gives each its status."""

from __future__ import annotations

import pytest

from call_orchestrator.domain import outcome_for_sip_status
from call_orchestrator.errors import (
    AgentFailed,
    AgentProviderKeyMissing,
    AgentRuntimeUnavailable,
    CallError,
    CallInProgress,
    CarrierRefused,
    CarrierUnreachable,
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
from call_orchestrator.outbound_responses import body_of, status_of

pytestmark = pytest.mark.unit

EVERY_ERROR: list[tuple[CallError, int, str]] = [
    (InvalidNumber.in_field("to_number", "not E.164"), 400, "invalid_number"),
    (InvalidNumber.by_carrier(484), 400, "invalid_number"),
    (TextAgent(), 400, "text_agent"),
    (InsufficientBalance(402), 402, "insufficient_balance"),
    (NumberNotFound(), 404, "phone_number_not_found"),
    (NumberInactive("+12025550100"), 404, "phone_number_inactive"),
    (NotAnswered("no_answer"), 408, "no_answer"),
    (NotAnswered("busy", 486), 408, "busy"),
    (NotAnswered("declined", 603), 408, "declined"),
    (TrunkNotSynced.for_number("+12025550100"), 409, "trunk_not_synced"),
    (TrunkNotSynced.in_livekit(), 409, "trunk_not_synced"),
    (CallInProgress("+12025550100", "+12025550123"), 409, "call_in_progress"),
    (IdempotencyKeyInProgress(), 409, "idempotency_key_in_progress"),
    (IdempotencyKeyReused(), 422, "idempotency_key_reused"),
    (TooManyCalls(50), 429, "too_many_calls"),
    (AgentProviderKeyMissing({"OPENAI_API_KEY"}), 500, "agent_provider_key_missing"),
    (AgentFailed(None), 500, "agent_failed"),
    (DispatchFailed(), 500, "dispatch_failed"),
    (InternalError(), 500, "internal"),
    (CarrierRefused(503), 502, "carrier_error"),
    (CarrierRefused(None, detail="authentication"), 502, "carrier_error"),
    (CarrierUnreachable(), 502, "carrier_unreachable"),
    (LiveKitUnavailable(), 503, "livekit_unavailable"),
    (AgentRuntimeUnavailable(), 503, "agent_runtime_unavailable"),
]


@pytest.mark.parametrize(("error", "status", "code"), EVERY_ERROR, ids=lambda v: str(v))
def test_each_error_answers_with_the_seeds_status_and_code(
    error: CallError, status: int, code: str
) -> None:
    assert status_of(error) == status
    body = body_of(error)
    assert (body["success"], body["error"], body["message"]) == (False, code, str(error))


@pytest.mark.parametrize(("error", "status", "code"), EVERY_ERROR, ids=lambda v: str(v))
def test_no_error_carries_an_http_status(error: CallError, status: int, code: str) -> None:
    assert not hasattr(error, "status_code")


@pytest.mark.parametrize(
    ("sip_status", "status", "code"),
    [
        (404, 400, "invalid_number"),
        (604, 400, "invalid_number"),
        (402, 402, "insufficient_balance"),
        (480, 408, "no_answer"),
        (600, 408, "busy"),
        (603, 408, "declined"),
        (503, 502, "carrier_error"),
    ],
)
def test_a_carrier_refusal_answers_by_its_sip_status(
    sip_status: int, status: int, code: str
) -> None:
    error = outcome_for_sip_status(sip_status)
    assert (status_of(error), error.error, error.sip_status) == (status, code, sip_status)
    assert body_of(error)["sip_status_code"] == sip_status


def test_only_a_failure_a_retry_should_try_again_releases_the_idempotency_key() -> None:
    retried = {type(e).__name__ for e, _, _ in EVERY_ERROR if e.retryable}
    assert retried == {
        "CallInProgress",
        "TooManyCalls",
        "AgentProviderKeyMissing",
        "AgentFailed",
        "DispatchFailed",
        "InternalError",
        "LiveKitUnavailable",
        "AgentRuntimeUnavailable",
    }
