"""call-orchestrator's rules without a server: statuses and moves, rooms, carrier outcomes,
LiveKit's failures, timings, idempotency fingerprints, agent-runtime checks, webhook signatures.

No database, bus, LiveKit or HTTP server: each test runs the service's own code on plain values.
`test_outbound_error_statuses.py` has each error's HTTP status and `test_call_changes.py` the
basics of a call's typed changes; this file does not repeat them.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from livekit import api
from livekit.protocol.models import ParticipantInfo
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from call_orchestrator.adapters.livekit import dial_error
from call_orchestrator.adapters.postgres import CallChanges, CallRow
from call_orchestrator.adapters.postgres.call_rows import (
    TIMESTAMP_BY_STATUS,
    advanced,
    decode_cursor,
    encode_cursor,
    initiated,
)
from call_orchestrator.adapters.webhooks import TIMESTAMP_TOLERANCE_S, _printable, sign, verify
from call_orchestrator.api import _outbound_error
from call_orchestrator.domain import (
    ACTIVE_STATUSES,
    BUSY_CODES,
    DECLINED_CODES,
    FINAL_STATUSES,
    INVALID_NUMBER_CODES,
    NO_ANSWER_CODES,
    STATUS_RANK,
    new_call_id,
    outbound_identity,
    outbound_room_name,
    outcome_for_sip_status,
)
from call_orchestrator.errors import (
    AgentFailed,
    AgentProviderKeyMissing,
    AgentRuntimeUnavailable,
    CallError,
    CarrierRefused,
    CarrierUnreachable,
    InvalidNumber,
    LiveKitUnavailable,
    NotAnswered,
)
from call_orchestrator.handlers import timing
from call_orchestrator.handlers.agent_failures import AGENT_FAILED, check_agent_can_run, failure_of
from call_orchestrator.handlers.idempotency import json_body, request_hash
from call_orchestrator.handlers.livekit_events import _is_sip
from call_orchestrator.handlers.outbound import OutboundOrder, _leg
from call_orchestrator.outbound_responses import (
    OUTBOUND_RESPONSES,
    OUTBOUND_STATUS,
    body_of,
    status_of,
)
from call_orchestrator.schemas import (
    OutboundCallErrorBody,
    OutboundCallRequest,
    OutboundCallResponse,
)
from talkifai_common.agent_capabilities import TTL_S, RuntimeBoard, RuntimeCapabilities
from talkifai_common.errors import Conflict, Forbidden, TalkifaiError, Unauthenticated
from talkifai_common.events import CallAgentRef, CallStatus
from talkifai_common.livekit_deadline import LiveKitDeadlineExceeded
from tests.support.call_orchestrator import new_call

pytestmark = pytest.mark.unit

FROM = "+12025550100"
TO = "+12025550123"
AGENT = "talkifai-agent"
STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def _call() -> CallRow:
    return initiated(new_call("call_1", "room_1"), STARTED)


def _at(seconds: float) -> datetime:
    return STARTED + timedelta(seconds=seconds)


# Statuses


def test_active_and_final_statuses_are_every_status_once() -> None:
    assert set(ACTIVE_STATUSES) | set(FINAL_STATUSES) == set(CallStatus)
    assert not set(ACTIVE_STATUSES) & set(FINAL_STATUSES)
    assert set(STATUS_RANK) == set(CallStatus)


def test_a_call_moves_forward_from_initiated_through_ringing_and_answered_to_an_end() -> None:
    order = [CallStatus.INITIATED, CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.COMPLETED]
    assert [STATUS_RANK[s] for s in order] == sorted({STATUS_RANK[s] for s in order})
    assert all(
        STATUS_RANK[final] > STATUS_RANK[active]
        for final in FINAL_STATUSES
        for active in ACTIVE_STATUSES
    )


def test_completed_and_failed_are_equally_final_so_neither_replaces_the_other() -> None:
    # The store moves a call only to a higher rank: a late `failed` cannot undo `completed`.
    assert STATUS_RANK[CallStatus.COMPLETED] == STATUS_RANK[CallStatus.FAILED]


def test_every_status_after_initiated_stamps_its_own_time() -> None:
    assert TIMESTAMP_BY_STATUS == {
        CallStatus.RINGING: "ringing_at",
        CallStatus.ANSWERED: "answered_at",
        CallStatus.COMPLETED: "ended_at",
        CallStatus.FAILED: "ended_at",
    }


# Moves of a call (the row the store writes)


def test_a_new_call_is_initiated_now_with_no_other_time_and_no_duration() -> None:
    call = _call()
    assert (call.data.status, call.data.started_at, call.rev) == (
        CallStatus.INITIATED,
        STARTED,
        0,
    )
    assert (call.data.ringing_at, call.data.answered_at, call.data.ended_at) == (None, None, None)
    assert (call.data.duration_s, call.data.total_duration_s) == (None, None)
    assert call.data.agent == CallAgentRef(id="agent_1", name="Sales")


def test_a_call_that_rang_and_failed_has_a_total_duration_but_no_talking_time() -> None:
    ringing = advanced(_call(), CallStatus.RINGING, CallChanges(), _at(2))
    failed = advanced(
        ringing, CallStatus.FAILED, CallChanges(failure_reason="busy", sip_status_code=486), _at(9)
    )
    assert (failed.data.ringing_at, failed.data.ended_at) == (_at(2), _at(9))
    assert (failed.data.failure_reason, failed.data.sip_status_code) == ("busy", 486)
    assert (failed.data.duration_s, failed.data.total_duration_s) == (None, 9.0)
    assert failed.rev == 2


def test_durations_are_rounded_to_the_millisecond_and_never_negative() -> None:
    answered = advanced(_call(), CallStatus.ANSWERED, CallChanges(), _at(1.0004))
    ended = advanced(answered, CallStatus.COMPLETED, CallChanges(), _at(3.5))
    assert (ended.data.duration_s, ended.data.total_duration_s) == (2.5, 3.5)
    # A clock that stepped back between two replicas must not give a negative duration.
    skewed = advanced(answered, CallStatus.COMPLETED, CallChanges(), _at(-5))
    assert (skewed.data.duration_s, skewed.data.total_duration_s) == (0.0, 0.0)


def test_a_change_never_clears_what_an_earlier_one_set() -> None:
    ringing = advanced(_call(), CallStatus.RINGING, CallChanges(sip_call_id="SCL_1"), _at(1))
    later = advanced(ringing, CallStatus.ANSWERED, CallChanges(), _at(2))
    assert later.data.sip_call_id == "SCL_1"


def test_a_move_leaves_the_snapshot_it_came_from_as_it_was() -> None:
    call = _call()
    advanced(call, CallStatus.ANSWERED, CallChanges(sip_call_id="SCL_1"), _at(1))
    assert (call.data.status, call.data.sip_call_id, call.rev) == (CallStatus.INITIATED, None, 0)


def test_a_call_without_an_agent_has_no_agent_reference() -> None:
    call = initiated(replace(new_call("call_1", "room_1"), agent_id=None, agent_name=None), STARTED)
    assert call.data.agent is None


# Call history cursors


def test_a_call_history_cursor_reads_back_as_the_position_it_names() -> None:
    cursor = encode_cursor(_at(1.5), "call_1|odd")
    assert decode_cursor(cursor) == (_at(1.5), "call_1|odd")


@pytest.mark.parametrize(
    "cursor",
    ["", "not base64 at all", "bm8gc2VwYXJhdG9y", "bm90IGEgdGltZXxjYWxsXzE=", "_w=="],
)
def test_a_call_history_cursor_we_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="cursor is not valid"):
        decode_cursor(cursor)


# Rooms and identities


def test_an_outbound_room_is_named_after_the_agent_and_both_numbers_digits() -> None:
    assert (
        outbound_room_name("agent_abc123", TO, FROM)
        == "outbound_agent_abc123_12025550123_12025550100"
    )


def test_the_same_two_numbers_and_agent_always_meet_in_the_same_room() -> None:
    # The room is what makes a second call between the same numbers a `call_in_progress`.
    assert outbound_room_name("agent_1", TO, FROM) == outbound_room_name("agent_1", TO, FROM)
    assert outbound_room_name("agent_1", TO, FROM) != outbound_room_name("agent_1", FROM, TO)


def test_the_callee_is_named_as_livekit_names_sip_participants() -> None:
    assert outbound_identity(TO) == "sip_+12025550123"


def test_call_ids_are_prefixed_and_unique() -> None:
    ids = {new_call_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("call_") for i in ids)


# The request's numbers


def test_the_requests_numbers_are_read_as_e164() -> None:
    leg = _leg(
        OutboundOrder(org_id="org_a", to_number="+1 (202) 555-0123", from_number="+1-202-555-0100")
    )
    assert (leg.to_number, leg.from_number) == (TO, FROM)


def test_a_bad_destination_is_named_before_a_bad_caller_number() -> None:
    with pytest.raises(InvalidNumber) as refused:
        _leg(OutboundOrder(org_id="org_a", to_number="12025550123", from_number="also bad"))
    assert refused.value.message == (
        "Invalid number: to_number: Phone number must be in E.164 format and start with +"
    )
    assert refused.value.sip_status is None


def test_a_bad_caller_number_is_named_as_from_number() -> None:
    with pytest.raises(InvalidNumber, match=r"Invalid number: from_number: .*at least 10 digits"):
        _leg(OutboundOrder(org_id="org_a", to_number=TO, from_number="+1202"))


# The request body


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"ringing_timeout_s": 0}, "ringing_timeout_s"),
        ({"ringing_timeout_s": 121}, "ringing_timeout_s"),
        ({"ringing_timeout_s": "30"}, "ringing_timeout_s"),
        ({"ringing_timeout_s": 30.0}, "ringing_timeout_s"),
        ({"max_call_duration_s": 24 * 3600 + 1}, "max_call_duration_s"),
        ({"wait_until_answered": 0}, "wait_until_answered"),
        ({"wait_until_answered": "false"}, "wait_until_answered"),
        ({"to_number": "+1" * 21}, "to_number"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_request_body_breaking_a_rule_is_refused_naming_the_field(
    extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        OutboundCallRequest.model_validate({"to_number": TO, "from_number": FROM, **extra})
    assert [e["loc"] for e in refused.value.errors()] == [(field,)]


def test_a_request_waits_for_the_answer_unless_told_not_to() -> None:
    request = OutboundCallRequest(to_number=TO, from_number=FROM)
    assert request.wait_until_answered is True
    assert (request.ringing_timeout_s, request.max_call_duration_s, request.metadata) == (
        None,
        None,
        None,
    )


# What a carrier's refusal means


@pytest.mark.parametrize(
    ("sip_status", "error"),
    [
        (400, InvalidNumber),
        (484, InvalidNumber),
        (485, InvalidNumber),
        (488, InvalidNumber),
        (408, NotAnswered),
        (487, NotAnswered),
        (486, NotAnswered),
        (401, CarrierRefused),
        (403, CarrierRefused),
        (407, CarrierRefused),
        (500, CarrierRefused),
    ],
)
def test_a_carrier_refusal_means_what_the_sip_status_table_says(
    sip_status: int, error: type[CallError]
) -> None:
    outcome = outcome_for_sip_status(sip_status)
    assert type(outcome) is error
    assert outcome.sip_status == sip_status


@pytest.mark.parametrize(
    ("sip_status", "reason", "message"),
    [
        (408, "no_answer", "Call was not answered"),
        (480, "no_answer", "Call was not answered"),
        (487, "no_answer", "Call was not answered"),
        (486, "busy", "Call was not answered: the callee is busy"),
        (600, "busy", "Call was not answered: the callee is busy"),
        (603, "declined", "Call was not answered: the callee declined"),
    ],
)
def test_an_unanswered_call_says_why_in_its_reason_and_its_history(
    sip_status: int, reason: str, message: str
) -> None:
    outcome = outcome_for_sip_status(sip_status)
    assert isinstance(outcome, NotAnswered)
    assert (outcome.reason, outcome.error, outcome.failure_reason) == (reason, reason, reason)
    assert outcome.message == message


def test_no_sip_status_belongs_to_two_outcomes() -> None:
    tables = [set(INVALID_NUMBER_CODES), {402}, set(NO_ANSWER_CODES), set(BUSY_CODES)]
    tables.append(set(DECLINED_CODES))
    assert sum(len(t) for t in tables) == len(set().union(*tables))


def test_any_other_refusal_names_its_sip_status_for_people() -> None:
    outcome = outcome_for_sip_status(403)
    assert outcome.message == "The carrier refused the call (SIP 403)"
    assert outcome.failure_reason == "carrier_error"


@pytest.mark.parametrize("sip_status", [400, 402, 404, 408, 486, 603, 403, 503])
def test_a_carrier_outcome_is_final_so_a_retry_with_the_same_key_is_answered_the_same(
    sip_status: int,
) -> None:
    assert outcome_for_sip_status(sip_status).retryable is False


# What a failed LiveKit dial means


def _twirp(code: str, message: str = "", *, status: int = 400, **metadata: str) -> api.TwirpError:
    return api.TwirpError(code, message, status=status, metadata=metadata)


@pytest.mark.parametrize(
    ("exc", "error", "sip_status"),
    [
        (_twirp("unavailable", "INVITE failed", status=503, sip_status_code="486"), "busy", 486),
        (_twirp("not_found", sip_status_code="404"), "invalid_number", 404),
        (_twirp("resource_exhausted", sip_status_code="503"), "carrier_error", 503),
        (_twirp("deadline_exceeded", "sip request timed out"), "no_answer", None),
        (_twirp("canceled"), "no_answer", None),
        (_twirp("unavailable", "INVITE failed: no route", status=503), "carrier_unreachable", None),
        (
            _twirp("unavailable", "connect: sip gateway down", status=503),
            "carrier_unreachable",
            None,
        ),
        (_twirp("unavailable", "server overloaded", status=503), "livekit_unavailable", None),
        (_twirp("failed_precondition", "auth failed"), "carrier_error", None),
        (_twirp("not_found", "trunk not found", status=404), "trunk_not_synced", None),
        (_twirp("internal", "boom", status=500), "internal", None),
        (_twirp("unknown", sip_status_code="busy"), "internal", None),
        (LiveKitDeadlineExceeded("CreateSIPParticipant", 35), "livekit_unavailable", None),
        (ConnectionRefusedError(), "livekit_unavailable", None),
        (RuntimeError("a bug"), "internal", None),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_failed_dial_means_a_carrier_outcome_or_livekits_trouble(
    exc: BaseException, error: str, sip_status: int | None
) -> None:
    outcome = dial_error(exc)
    assert (outcome.error, outcome.sip_status) == (error, sip_status)


def test_a_dial_refused_for_credentials_says_so() -> None:
    outcome = dial_error(_twirp("failed_precondition", "401 unauthorized"))
    assert isinstance(outcome, CarrierRefused)
    assert outcome.message == "The carrier refused the call (authentication)"


# Errors: what they say


def test_an_unreachable_carrier_is_a_carrier_refusal_without_a_sip_status() -> None:
    error = CarrierUnreachable()
    assert isinstance(error, CarrierRefused)
    assert (error.error, error.sip_status, error.message) == (
        "carrier_unreachable",
        None,
        "The carrier could not be reached",
    )


def test_a_missing_provider_key_is_named_in_order_for_the_operator() -> None:
    error = AgentProviderKeyMissing({"OPENAI_API_KEY", "CARTESIA_API_KEY"})
    assert (
        "(set CARTESIA_API_KEY, OPENAI_API_KEY (or OPENAI_BASE_URL) where agent-runtime runs)"
        in error.message
    )


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        (
            "No API key for provider openai",
            "Server error: the agent failed: No API key for provider openai",
        ),
        (None, "Server error: the agent failed: no detail reported"),
        ("", "Server error: the agent failed: no detail reported"),
    ],
)
def test_an_agent_failure_carries_the_agents_own_words(detail: str | None, message: str) -> None:
    assert AgentFailed(detail).message == message


def test_an_error_the_status_table_does_not_list_answers_as_its_nearest_listed_kind() -> None:
    class DestinationBarred(InvalidNumber):
        error = "destination_barred"

    class NewKindOfFailure(CallError):
        error = "new_kind"

    assert status_of(DestinationBarred("barred")) == OUTBOUND_STATUS[InvalidNumber]
    assert status_of(NewKindOfFailure("new")) == 500
    assert body_of(DestinationBarred("barred"))["error"] == "destination_barred"


def test_every_status_the_outbound_route_answers_is_documented_with_valid_examples() -> None:
    assert set(OUTBOUND_STATUS.values()) <= set(OUTBOUND_RESPONSES)
    for status, response in OUTBOUND_RESPONSES.items():
        if status in (200, 202):
            continue
        examples = response["content"]["application/json"]["examples"]
        assert examples, status
        for example in examples.values():
            OutboundCallErrorBody.model_validate(example["value"])
            assert example["summary"].startswith(f"{status} ")


def test_an_error_body_names_the_sip_status_only_when_the_carrier_gave_one() -> None:
    assert "sip_status_code" not in body_of(LiveKitUnavailable())
    assert body_of(outcome_for_sip_status(486))["sip_status_code"] == 486


# The outbound route's own body for refusals before the handler


def _error_body(response: JSONResponse) -> OutboundCallErrorBody:
    return OutboundCallErrorBody.model_validate_json(bytes(response.body))


def test_an_invalid_body_is_a_400_naming_each_field() -> None:
    response = _outbound_error(
        RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("body", "colour"), "msg": "Extra inputs"},
                {"type": "missing", "loc": ("body", "to_number"), "msg": "Field required"},
            ]
        )
    )
    assert response.status_code == 400
    assert _error_body(response) == OutboundCallErrorBody(
        error="invalid_request", message="colour: Unknown field; to_number: Field required"
    )


@pytest.mark.parametrize(
    ("errors", "message"),
    [
        (
            [{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON"}],
            "body: Request body is not valid JSON",
        ),
        (
            [{"type": "missing", "loc": ("body",), "msg": "Field required"}],
            "body: Request body is required",
        ),
    ],
)
def test_a_body_that_is_not_json_or_missing_is_an_invalid_request(
    errors: list[dict[str, Any]], message: str
) -> None:
    response = _outbound_error(RequestValidationError(errors))
    assert response.status_code == 400
    assert _error_body(response).message == message


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (Unauthenticated("Missing bearer token"), 401, "unauthenticated"),
        (Conflict("busy"), 409, "conflict"),
        (Forbidden("members only"), 403, "forbidden"),
        (HTTPException(413, "Request body must be at most 65536 bytes"), 413, "request_too_large"),
        (HTTPException(400, "bad"), 400, "invalid_request"),
        (HTTPException(405, "Method Not Allowed"), 405, "http_error"),
    ],
)
def test_a_refusal_before_the_handler_answers_in_the_routes_own_body(
    exc: TalkifaiError | HTTPException, status: int, error: str
) -> None:
    response = _outbound_error(exc)
    body = _error_body(response)
    assert (response.status_code, body.success, body.error) == (status, False, error)


# Timings for Server-Timing


class _Clock:
    """perf_counter as a test says it goes."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(timing, "time", fake)
    return fake


def _in_a_request(work: Callable[[], None]) -> None:
    """Run `work` in its own context, as each request is, so no timings leak into other tests."""
    contextvars.copy_context().run(work)


def test_each_segment_adds_its_milliseconds_under_its_name(clock: _Clock) -> None:
    def request() -> None:
        timings = timing.start_timings()
        with timing.segment("lookup"):
            clock.now += 0.002
        with timing.segment("dial"):
            clock.now += 1.5
        with timing.segment("lookup"):
            clock.now += 0.003
        assert timings == pytest.approx({"lookup": 5.0, "dial": 1500.0})

    _in_a_request(request)


def test_a_segment_that_raised_still_counts(clock: _Clock) -> None:
    def request() -> None:
        timings = timing.start_timings()
        with pytest.raises(LookupError), timing.segment("dispatch"):
            clock.now += 0.25
            raise LookupError("livekit refused")
        assert timings == pytest.approx({"dispatch": 250.0})

    _in_a_request(request)


def test_segments_outside_a_timed_request_are_not_kept(clock: _Clock) -> None:
    def untimed() -> None:
        with timing.segment("lookup"):
            clock.now += 1

    def request() -> None:
        started_before = contextvars.copy_context()  # a task begun before the timings were
        timings = timing.start_timings()
        started_before.run(untimed)
        assert timings == {}

    _in_a_request(untimed)
    _in_a_request(request)


def test_a_task_started_by_a_request_reports_into_its_timings(clock: _Clock) -> None:
    # The dispatch runs in its own task, which copies the request's context.
    def request() -> None:
        timings = timing.start_timings()

        def dispatch_task() -> None:
            with timing.segment("dispatch"):
                clock.now += 0.01

        contextvars.copy_context().run(dispatch_task)
        assert timings == pytest.approx({"dispatch": 10.0})

    _in_a_request(request)


# Idempotency fingerprints and replays


def test_the_same_request_has_the_same_fingerprint() -> None:
    one = OutboundCallRequest(to_number=TO, from_number=FROM, metadata={"order": 1})
    again = OutboundCallRequest.model_validate_json(one.model_dump_json())
    assert request_hash(one) == request_hash(again)


def test_metadata_keys_in_another_order_are_the_same_request() -> None:
    one = OutboundCallRequest(
        to_number=TO, from_number=FROM, metadata={"b": 2, "a": {"y": [{"q": 1, "p": 2}], "x": 1}}
    )
    again = OutboundCallRequest(
        to_number=TO, from_number=FROM, metadata={"a": {"x": 1, "y": [{"p": 2, "q": 1}]}, "b": 2}
    )
    assert request_hash(one) == request_hash(again)


def test_a_fingerprint_without_metadata_is_the_one_stored_before_keys_were_sorted() -> None:
    body = OutboundCallRequest(to_number=TO, from_number=FROM)
    assert request_hash(body) == hashlib.sha256(body.model_dump_json().encode()).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"to_number": "+12025550124"},
        {"metadata": {"order": 2}},
        {"ringing_timeout_s": 20},
        {"wait_until_answered": False},
    ],
)
def test_any_change_to_a_request_changes_its_fingerprint(change: dict[str, Any]) -> None:
    base: dict[str, Any] = {"to_number": TO, "from_number": FROM, "metadata": {"order": 1}}
    assert request_hash(OutboundCallRequest.model_validate(base)) != request_hash(
        OutboundCallRequest.model_validate({**base, **change})
    )


def test_a_stored_answer_is_plain_json_that_reads_back_as_the_response() -> None:
    response = OutboundCallResponse(
        message="Call initiated successfully",
        room_name="outbound_agent_1_12025550123_12025550100",
        agent=CallAgentRef(id="agent_1", name="Sales"),
        from_number=FROM,
        to_number=TO,
        call_id="call_1",
        status="answered",
    )
    stored = json_body(response)
    assert stored["success"] is True and stored["agent"] == {"id": "agent_1", "name": "Sales"}
    assert OutboundCallResponse.model_validate(stored) == response


# Agent-runtimes that can run the call


def _runtime(board: RuntimeBoard, key: str, keys: tuple[str, ...], *, age_s: float = 0) -> None:
    caps = RuntimeCapabilities(
        instance_id=key, agent_name=AGENT, key_variables=keys, at=datetime.now(UTC)
    )
    board.apply(key, caps.dump(), datetime.now(UTC) - timedelta(seconds=age_s))


def test_with_no_agent_runtime_running_a_call_is_refused_as_unavailable() -> None:
    with pytest.raises(AgentRuntimeUnavailable):
        check_agent_can_run(RuntimeBoard(), AGENT, ("OPENAI_API_KEY",))
    with pytest.raises(AgentRuntimeUnavailable):
        check_agent_can_run(RuntimeBoard(), AGENT, None)


def test_a_runtime_that_stopped_sending_heartbeats_does_not_count() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_old", ("OPENAI_API_KEY",), age_s=TTL_S + 1)
    with pytest.raises(AgentRuntimeUnavailable):
        check_agent_can_run(board, AGENT, ("OPENAI_API_KEY",))


def test_a_runtime_of_another_agent_name_does_not_count() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_1", ("OPENAI_API_KEY",))
    with pytest.raises(AgentRuntimeUnavailable):
        check_agent_can_run(board, "another-agent", ("OPENAI_API_KEY",))


def test_a_call_runs_when_one_runtime_has_every_key_the_agent_needs() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_1", ("DEEPGRAM_API_KEY",))
    _runtime(board, "art_2", ("CARTESIA_API_KEY", "DEEPGRAM_API_KEY", "OPENAI_API_KEY"))
    check_agent_can_run(board, AGENT, ("CARTESIA_API_KEY", "DEEPGRAM_API_KEY", "OPENAI_API_KEY"))


def test_an_engine_missing_everywhere_is_refused_saying_what_to_install() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_1", ("DEEPGRAM_API_KEY", "OPENAI_API_KEY"))
    with pytest.raises(AgentProviderKeyMissing) as refused:
        check_agent_can_run(board, AGENT, ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "espeak-ng"))
    assert refused.value.message.endswith("(install espeak-ng where agent-runtime runs)")
    with pytest.raises(AgentProviderKeyMissing) as both:
        check_agent_can_run(board, AGENT, ("CARTESIA_API_KEY", "espeak-ng"))
    assert "(set CARTESIA_API_KEY and install espeak-ng where agent-runtime runs)" in (
        both.value.message
    )
    _runtime(board, "art_2", ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "espeak-ng"))
    check_agent_can_run(board, AGENT, ("DEEPGRAM_API_KEY", "OPENAI_API_KEY", "espeak-ng"))


def test_keys_spread_over_runtimes_are_refused_naming_the_fewest_missing() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_1", ("DEEPGRAM_API_KEY",))
    _runtime(board, "art_2", ("CARTESIA_API_KEY", "DEEPGRAM_API_KEY"))
    with pytest.raises(
        AgentProviderKeyMissing, match=r"\(set OPENAI_API_KEY \(or OPENAI_BASE_URL\) where"
    ):
        check_agent_can_run(
            board, AGENT, ("CARTESIA_API_KEY", "DEEPGRAM_API_KEY", "OPENAI_API_KEY")
        )


def test_an_agent_whose_keys_are_not_known_yet_runs_on_any_live_runtime() -> None:
    board = RuntimeBoard()
    _runtime(board, "art_1", ())
    check_agent_can_run(board, AGENT, None)


def test_a_call_failed_by_its_agent_answers_as_the_agents_failure() -> None:
    call = advanced(
        _call(),
        CallStatus.FAILED,
        CallChanges(failure_reason=AGENT_FAILED, failure_detail="No API key for openai"),
        _at(3),
    )
    error = failure_of(call.data)
    assert isinstance(error, AgentFailed)
    assert error.message == "Server error: the agent failed: No API key for openai"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (CallStatus.FAILED, "busy"),
        (CallStatus.FAILED, None),
        (CallStatus.COMPLETED, None),
        (CallStatus.ANSWERED, AGENT_FAILED),
    ],
)
def test_any_other_call_is_not_an_agent_failure(status: CallStatus, reason: str | None) -> None:
    call = advanced(_call(), status, CallChanges(failure_reason=reason), _at(3))
    assert failure_of(call.data) is None


# LiveKit participants


@pytest.mark.parametrize(
    ("participant", "sip"),
    [
        (ParticipantInfo(kind=ParticipantInfo.Kind.SIP, identity="sip_+1"), True),
        (ParticipantInfo(identity="caller", attributes={"sip.callID": "SCL_1"}), True),
        (ParticipantInfo(kind=ParticipantInfo.Kind.AGENT, identity="agent-AJ_1"), False),
        (ParticipantInfo(kind=ParticipantInfo.Kind.STANDARD, identity="browser"), False),
    ],
)
def test_only_a_phone_participant_counts_as_the_caller(
    participant: ParticipantInfo, sip: bool
) -> None:
    assert _is_sip(participant) is sip


# Customer webhook signatures


def test_a_signature_verifies_for_the_same_secret_and_body_within_five_minutes() -> None:
    header = sign("secret", 1_700_000_000, b'{"type":"x"}')
    assert header.startswith("t=1700000000,v1=")
    assert verify("secret", header, b'{"type":"x"}', now=1_700_000_000 + TIMESTAMP_TOLERANCE_S)
    assert verify("secret", header, b'{"type":"x"}', now=1_700_000_000 - TIMESTAMP_TOLERANCE_S)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another-secret", b'{"type":"x"}', 1_700_000_000),
        ("secret", b'{"type":"y"}', 1_700_000_000),
        ("secret", b'{"type":"x"}', 1_700_000_000 + TIMESTAMP_TOLERANCE_S + 1),
        ("secret", b'{"type":"x"}', 1_700_000_000 - TIMESTAMP_TOLERANCE_S - 1),
    ],
)
def test_a_signature_fails_for_another_secret_another_body_or_an_old_or_future_time(
    secret: str, body: bytes, now: float
) -> None:
    header = sign("secret", 1_700_000_000, b'{"type":"x"}')
    assert not verify(secret, header, body, now=now)


@pytest.mark.parametrize(
    "header", ["", "garbage", "t=abc,v1=00", "v1=00", "t=1700000000", "t=1700000000,v1="]
)
def test_a_malformed_signature_header_fails_without_raising(header: str) -> None:
    assert not verify("secret", header, b"{}", now=1_700_000_000)


def test_a_signature_with_a_non_ascii_digest_fails_without_raising() -> None:
    assert not verify("secret", "t=1700000000,v1=\u00e9", b"{}", now=1_700_000_000)


def test_a_delivery_error_is_fit_for_a_text_column_and_a_log_line() -> None:
    text = _printable("bad\x00host\r\n" + "x" * 600)
    assert text.startswith("bad?host??")
    assert len(text) == 500
