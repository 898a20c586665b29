"""The agent on a call, in livekit-agents' text mode with fake models (no network)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from livekit.agents import AgentSession, mock_tools
from livekit.agents.llm import ChatMessage
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.voice.run_result import RunResult
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent_runtime.adapters.orchestrator import OrchestratorClient
from agent_runtime.agent import CallState, TalkifaiAgent
from agent_runtime.domain import (
    CallPolicy,
    LiveKitFailure,
    VoicemailPolicy,
    call_instructions,
)
from talkifai_common.jobs import InboundJob, JobMetadata, OutboundJob
from tests.support.agent_fakes import FakeCallControl, FakeLLM, FakeTTS, Reply
from tests.support.servers import serve_asgi

pytestmark = pytest.mark.unit

TOKEN = "test-internal-token-0123456789abcdef"
GREETING = "Hello, thanks for calling Widgets!"


class Orchestrator:
    """A local stand-in for call-orchestrator's consent endpoint, recording what it got."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, Any, str]] = []

    async def consent(self, request: Request) -> Response:
        call_id = request.path_params.get("call_id") or f"room:{request.path_params['room']}"
        self.reports.append((call_id, await request.json(), request.headers["authorization"]))
        if call_id == "call_unknown":
            return JSONResponse({"detail": "Call call_unknown not found"}, status_code=404)
        return JSONResponse({"call_id": call_id, "recording_egress_id": "EG_1"})


@pytest.fixture
async def orchestrator() -> AsyncIterator[tuple[Orchestrator, OrchestratorClient]]:
    fake = Orchestrator()
    app = Starlette(
        routes=[
            Route("/internal/calls/{call_id}/recording-consent", fake.consent, methods=["POST"]),
            Route("/internal/rooms/{room}/recording-consent", fake.consent, methods=["POST"]),
        ]
    )
    async with serve_asgi(app) as url:
        yield fake, OrchestratorClient(url, TOKEN)


def _state(
    control: FakeCallControl,
    consent: Any,
    *,
    direction: str = "inbound",
    ask_consent: bool = False,
    greet_first: bool = True,
    voicemail: VoicemailPolicy | None = None,
    call_id: str = "call_1",
) -> CallState:
    """An inbound call's state, or an outbound one's (only those carry a call id)."""
    meta: JobMetadata
    if direction == "outbound":
        meta = OutboundJob(
            agent_id="agent_1",
            call_id=call_id,
            phone_number_id="pn_1",
            from_number="+12025550123",
            to_number="+15550142",
        )
    else:
        meta = InboundJob(
            agent_id="agent_1",
            phone_number_id="pn_1",
            phone_number="+12025550123",
            org_id="org_a",
        )
    policy = CallPolicy(
        greet_first=greet_first,
        ask_consent=ask_consent,
        max_duration_s=60,
        voicemail=voicemail or VoicemailPolicy(),
    )
    return CallState(
        room="call-room",
        meta=meta,
        policy=policy,
        control=control,
        consent=consent,
        sip_identity="sip_+15550142",
    )


async def _session(
    state: CallState, *replies: Reply, tts: NotGivenOr[FakeTTS] = NOT_GIVEN
) -> tuple[AgentSession[CallState], FakeLLM]:
    if state.policy.ask_consent and state.policy.greet_first:
        # on_enter asks the consent question: that is the model's first answer.
        replies = (("May we record this call?", []), *replies)
    fake = FakeLLM(*replies)
    session = AgentSession[CallState](userdata=state, llm=fake, tts=tts)
    instructions = call_instructions("You sell widgets.", state.meta, state.policy, "+15550142")
    await session.start(TalkifaiAgent(instructions=instructions, greeting=GREETING, state=state))
    return session, fake


def _instructions(fake: FakeLLM) -> str:
    """The system message the model saw on its first turn."""
    first = fake.seen[0].items[0]
    assert isinstance(first, ChatMessage)
    return first.text_content or ""


def _said(session: AgentSession[CallState]) -> list[str]:
    return [
        item.text_content or ""
        for item in session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


async def test_an_inbound_call_is_greeted_with_the_agents_greeting(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    state = _state(FakeCallControl(), orchestrator[1])
    tts = FakeTTS()
    session, _ = await _session(state, tts=tts)
    async with session:
        result: RunResult[None] = await session.run(user_input="Hi")
        result.expect.next_event().is_message(role="assistant")
        assert _said(session)[0] == GREETING  # said verbatim, before the model's first answer


async def test_an_outbound_call_waits_for_the_callee_and_knows_why_it_called(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    state = _state(FakeCallControl(), orchestrator[1], direction="outbound", greet_first=False)
    state.meta = OutboundJob(
        agent_id="agent_1",
        call_id="call_1",
        phone_number_id="pn_1",
        from_number="+12025550123",
        to_number="+15550142",
        metadata={"customer": "Ada", "reason": "renewal"},
    )
    session, fake = await _session(state, ("Hi Ada, I am calling about your renewal.", []))
    async with session:
        assert _said(session) == []  # nothing before the callee speaks
        result: RunResult[None] = await session.run(user_input="Hello?")
        result.expect.next_event().is_message(role="assistant")
        assert _said(session) == ["Hi Ada, I am calling about your renewal."]
        system = _instructions(fake)
        assert '"customer": "Ada"' in system
        assert "You placed this phone call to +15550142" in system


async def test_the_end_call_tool_hangs_up_the_call(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    control = FakeCallControl()
    state = _state(control, orchestrator[1])
    session, _ = await _session(state, ("Goodbye!", [("end_call", {})]))
    async with session:
        result: RunResult[None] = await session.run(user_input="That's all, bye")
        result.expect.contains_function_call(name="end_call")
        assert control.hung_up == [("call-room", "sip_+15550142")]
        assert state.ended.is_set()
        assert state.end_reason == "agent_ended"


async def test_the_callers_line_dropping_during_our_hang_up_keeps_the_agents_reason(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    """LiveKit may report the caller gone before it answers the hang-up that caused it."""

    class DroppingLine(FakeCallControl):
        async def hang_up(self, room: str, identity: str | None) -> None:
            state.mark_ended("caller_hangup")  # participant_disconnected arrives first
            await super().hang_up(room, identity)

    state = _state(DroppingLine(), orchestrator[1])
    await state.finish("agent_ended")

    assert state.ended.is_set()
    assert state.end_reason == "agent_ended"


def test_a_caller_hanging_up_first_ends_the_call_as_theirs() -> None:
    state = _state(FakeCallControl(), None)
    state.mark_ended("caller_hangup")

    assert state.ended.is_set()
    assert state.end_reason == "caller_hangup"


async def test_the_transfer_tool_transfers_the_caller_to_the_number(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    control = FakeCallControl()
    state = _state(control, orchestrator[1])
    session, _ = await _session(
        state, ("Transferring you now.", [("transfer_call", {"phone_number": "+1 202 555 0199"})])
    )
    async with session:
        result: RunResult[None] = await session.run(user_input="Put me through to sales")
        result.expect.contains_function_call(name="transfer_call")
        assert control.transfers == [("call-room", "sip_+15550142", "+12025550199")]
        assert state.end_reason == "transferred"


async def test_a_failed_transfer_is_told_to_the_model_and_the_call_goes_on(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    state = _state(FakeCallControl(), orchestrator[1])

    async def refused(phone_number: str) -> str:
        raise LiveKitFailure("TransferSIPParticipant", "failed_precondition: REFER rejected")

    session, _ = await _session(
        state, ("One moment.", [("transfer_call", {"phone_number": "+12025550199"})])
    )
    async with session:
        with mock_tools(TalkifaiAgent, {"transfer_call": refused}):
            result: RunResult[None] = await session.run(user_input="Transfer me")
        result.expect.contains_function_call(name="transfer_call")
        output = result.expect.contains_function_call_output().event().item
        assert output.is_error
        assert not state.ended.is_set()


async def test_the_dtmf_tool_presses_keys_and_refuses_other_characters(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    control = FakeCallControl()
    state = _state(control, orchestrator[1], direction="outbound", greet_first=False)
    session, _ = await _session(
        state,
        ("", [("send_dtmf", {"digits": "1#"})]),
        ("Done.", []),
        ("", [("send_dtmf", {"digits": "12x"})]),
    )
    async with session:
        await session.run(user_input="Press 1 then hash for sales")
        result: RunResult[None] = await session.run(user_input="Now press 12x")
        assert control.dtmf == ["1#"]
        output = result.expect.contains_function_call_output().event().item
        assert output.is_error


async def test_a_granted_consent_is_reported_to_call_orchestrator(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    fake, client = orchestrator
    state = _state(FakeCallControl(), client, direction="outbound", ask_consent=True)
    session, llm = await _session(state, ("Thank you.", [("record_consent", {"consented": True})]))
    async with session:
        await session.run(user_input="Yes, you may record")
        assert fake.reports == [("call_1", {"consent": True}, f"Bearer {TOKEN}")]
        assert state.consent_given is True
        assert state.recording_egress_id == "EG_1"
        assert _said(session)[:2] == [GREETING, "May we record this call?"]
        assert "ask the other party whether they agree" in _instructions(llm)


async def test_an_inbound_calls_consent_is_reported_by_its_room(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    fake, client = orchestrator
    state = _state(FakeCallControl(), client, ask_consent=True)
    session, _ = await _session(state, ("Thank you.", [("record_consent", {"consented": True})]))
    async with session:
        await session.run(user_input="Sure, record it")
        assert fake.reports == [("room:call-room", {"consent": True}, f"Bearer {TOKEN}")]
        assert state.recording_egress_id == "EG_1"


async def test_a_refused_consent_is_not_reported_and_an_unknown_call_is_survived(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    fake, client = orchestrator
    state = _state(FakeCallControl(), client, ask_consent=True)
    session, _ = await _session(state, ("Understood.", [("record_consent", {"consented": False})]))
    async with session:
        await session.run(user_input="No recording please")
        assert fake.reports == []
        assert state.consent_given is False
    state = _state(
        FakeCallControl(), client, direction="outbound", ask_consent=True, call_id="call_unknown"
    )
    session, _ = await _session(state, ("Thanks.", [("record_consent", {"consented": True})]))
    async with session:
        result: RunResult[None] = await session.run(user_input="Yes")
        assert [r[0] for r in fake.reports] == ["call_unknown"]
        assert state.recording_egress_id is None
        assert not result.expect.contains_function_call_output().event().item.is_error


async def test_consent_is_only_offered_as_a_tool_when_the_number_requires_it(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
) -> None:
    plain = TalkifaiAgent(
        instructions="x", greeting="", state=_state(FakeCallControl(), orchestrator[1])
    )
    consent = TalkifaiAgent(
        instructions="x",
        greeting="",
        state=_state(FakeCallControl(), orchestrator[1], ask_consent=True),
    )
    assert "record_consent" not in [t.info.name for t in plain.tools]  # type: ignore[union-attr]
    assert "record_consent" in [t.info.name for t in consent.tools]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("policy", "reason", "spoken"),
    [
        (VoicemailPolicy(action="hangup"), "voicemail_hangup", None),
        (
            VoicemailPolicy(action="leave_message", message="Please call us back."),
            "voicemail_message_left",
            "Please call us back.",
        ),
    ],
)
async def test_an_answering_machine_is_handled_as_configured(
    orchestrator: tuple[Orchestrator, OrchestratorClient],
    policy: VoicemailPolicy,
    reason: str,
    spoken: str | None,
) -> None:
    control = FakeCallControl()
    state = _state(
        control, orchestrator[1], direction="outbound", greet_first=False, voicemail=policy
    )
    session, _ = await _session(state, ("", [("answering_machine_detected", {})]))
    async with session:
        await session.run(user_input="You have reached the voicemail of Ada. Leave a message.")
        assert state.end_reason == reason
        assert control.hung_up == [("call-room", "sip_+15550142")]
        if spoken:
            assert spoken in _said(session)


async def test_each_turn_is_a_span_inside_the_calls_trace(
    spans: InMemorySpanExporter, orchestrator: tuple[Orchestrator, OrchestratorClient]
) -> None:
    spans.clear()
    state = _state(FakeCallControl(), orchestrator[1])
    with trace.get_tracer("test").start_as_current_span("call") as call:
        session, _ = await _session(state, ("Sure, what do you need?", []), tts=FakeTTS())
        async with session:
            await session.run(user_input="Hi")
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}

    def ancestors(span: ReadableSpan) -> list[str]:
        names = []
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            names.append(span.name)
        return names

    turns = [s for s in finished if s.name == "agent_turn"]
    assert len(turns) == 2  # the greeting, then the answer to "Hi"
    call_trace = call.get_span_context().trace_id
    assert all(t.context.trace_id == call_trace for t in turns)
    assert all(ancestors(t)[-2:] == ["agent_session", "call"] for t in turns)
    assert any(s.name == "llm_node" for s in finished)
