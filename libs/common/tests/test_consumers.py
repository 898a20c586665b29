"""The durable-consumer policy's pure parts: which errors are retried, the backoff, stream names."""

from __future__ import annotations

import asyncpg
import pytest
from faststream.nats import NatsBroker
from pydantic import BaseModel, ValidationError

from talkifai_common.consumers import DeadLetters, RetryPolicy, consumer_config, is_transient
from talkifai_common.errors import Conflict, TalkifaiError

pytestmark = pytest.mark.unit


class _Unavailable(TalkifaiError):
    retryable = True


class _Model(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Model.model_validate({"n": "x"})
    return caught.value


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("starting up"),
        asyncpg.LockNotAvailableError("locked"),
        _Unavailable("LiveKit unavailable"),
        RuntimeError("unknown"),
    ],
)
def test_outages_and_unknown_failures_are_retried(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        _validation_error(),
        Conflict("collides"),
        asyncpg.DataError("bad data"),
        asyncpg.UniqueViolationError("duplicate"),
    ],
)
def test_malformed_payloads_and_errors_that_say_so_are_permanent(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_backoff_doubles_with_jitter_up_to_its_ceiling() -> None:
    policy = RetryPolicy(max_deliveries=8, base_s=0.5, max_s=4.0)
    assert 0.4 <= policy.delay(1) <= 0.6
    assert 0.8 <= policy.delay(2) <= 1.2
    assert 3.2 <= policy.delay(10) <= 4.8


def test_jetstreams_bound_sits_above_ours_and_acks_are_explicit() -> None:
    config = consumer_config("svc", ["telephony.agent.created"], RetryPolicy(max_deliveries=5))
    assert config.max_deliver == 8
    assert config.ack_policy is not None and config.ack_policy.value == "explicit"
    assert config.filter_subjects == ["telephony.agent.created"]


def test_each_service_has_its_own_dead_letter_stream() -> None:
    letters = DeadLetters(NatsBroker(), "call-orchestrator")
    assert (letters.stream, letters.subject) == ("CALL_ORCHESTRATOR_DLQ", "dlq.call_orchestrator")
