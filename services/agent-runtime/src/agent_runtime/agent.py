"""The voice agent on a call: its instructions, greeting and tools (end, transfer, DTMF,
recording consent, answering machine), acting on the call through ports."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import structlog
from livekit.agents import Agent, RunContext, ToolError, function_tool, llm

from agent_runtime.adapters.livekit import DTMF_CODES, CallControl
from agent_runtime.adapters.orchestrator import ConsentPort
from agent_runtime.domain import AgentRuntimeError, CallPolicy
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.events import CallDirection
from talkifai_common.jobs import JobMetadata

log = structlog.get_logger(__name__)

DTMF_PATTERN = re.compile(r"^[0-9*#A-D]{1,32}$")


@dataclass
class CallState:
    """One call's facts and ports, shared by the tools (the session's userdata)."""

    room: str
    meta: JobMetadata
    policy: CallPolicy
    control: CallControl
    consent: ConsentPort
    sip_identity: str | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str | None = None
    consent_given: bool | None = None
    recording_egress_id: str | None = None
    transferred_to: str | None = None
    dtmf_sent: list[str] = field(default_factory=list)
    # Keys the other party pressed, one entry per burst (see keypad.py).
    dtmf_received: list[str] = field(default_factory=list)
    # Why the agent could not go on (a provider failed for good), when that ended the call.
    failure: AgentRuntimeError | None = None

    async def finish(self, reason: str) -> None:
        """Hang up (the room is deleted, so the caller is disconnected) and mark the call ended."""
        if self.ended.is_set():
            return
        self.end_reason = reason
        try:
            await self.control.hang_up(self.room, self.sip_identity)
        finally:
            self.ended.set()

    def mark_ended(self, reason: str) -> None:
        """The call ended by itself (caller hung up, room closed). A hang-up of ours in progress
        keeps its reason: the caller's line dropping is what it caused, often before LiveKit
        answered it."""
        if self.end_reason is None:
            self.end_reason = reason
        self.ended.set()


@function_tool
async def end_call(context: RunContext[CallState]) -> str:
    """End the phone call. Say goodbye before calling this: the line is cut right after."""
    await context.wait_for_playout()
    await context.userdata.finish("agent_ended")
    return "The call has ended."


@function_tool
async def transfer_call(context: RunContext[CallState], phone_number: str) -> str:
    """Transfer the caller to a person at another phone number (E.164, e.g. +12025550123).

    Args:
        phone_number: The number to transfer the call to, in E.164 format.
    """
    state = context.userdata
    try:
        target = normalize_e164(phone_number)
    except InvalidPhoneNumber as exc:
        raise ToolError(f"{phone_number} is not a valid phone number") from exc
    if state.sip_identity is None:
        raise ToolError("There is no phone caller on this call to transfer")
    await context.wait_for_playout()
    try:
        await state.control.transfer(state.room, state.sip_identity, target)
    except AgentRuntimeError as exc:
        log.warning("call.transfer_failed", room=state.room, error=exc.message)
        raise ToolError("The transfer did not go through; tell the caller and carry on") from exc
    state.transferred_to = target
    state.mark_ended("transferred")
    return f"The call was transferred to {target}."


@function_tool
async def send_dtmf(context: RunContext[CallState], digits: str) -> str:
    """Press keys on the phone keypad, e.g. to navigate a phone menu.

    Args:
        digits: The keys to press: 0-9, * and # (A-D also exist).
    """
    state = context.userdata
    if not DTMF_PATTERN.match(digits) or any(d not in DTMF_CODES for d in digits):
        raise ToolError("Keys must be 0-9, *, # or A-D")
    try:
        await state.control.send_dtmf(digits)
    except AgentRuntimeError as exc:
        raise ToolError("The keys could not be sent") from exc
    state.dtmf_sent.append(digits)
    return f"Pressed {digits}."


@function_tool
async def record_consent(context: RunContext[CallState], consented: bool) -> str:
    """Record the other party's answer to whether the call may be recorded.

    Args:
        consented: True when they agreed to the recording, False when they refused.
    """
    state = context.userdata
    state.consent_given = consented
    if not consented:
        # call-orchestrator records only a granted consent; without it nothing is recorded.
        log.info("call.consent_refused", room=state.room, call_id=state.meta.call_id)
        return "They declined: the call is not recorded. Carry on with the conversation."
    try:
        state.recording_egress_id = await state.consent.report_consent(
            state.meta.call_id, state.room
        )
    except AgentRuntimeError as exc:
        log.error(
            "call.consent_report_failed",
            call_id=state.meta.call_id,
            room=state.room,
            error=exc.message,
        )
        return "Noted, but the recording could not be started. Carry on with the conversation."
    log.info("call.consent_reported", call_id=state.meta.call_id, room=state.room)
    return "Thank them: the call is now recorded. Carry on with the conversation."


@function_tool
async def answering_machine_detected(context: RunContext[CallState]) -> str:
    """Call this at once when a voicemail greeting or an answering machine answers the call."""
    state = context.userdata
    voicemail = state.policy.voicemail
    if voicemail.action == "leave_message" and voicemail.message:
        # Speak after the beep, then hang up.
        handle = context.session.say(voicemail.message, allow_interruptions=False)
        await handle.wait_for_playout()
        await state.finish("voicemail_message_left")
    else:
        await state.finish("voicemail_hangup")
    return "The call has ended."


class TalkifaiAgent(Agent):
    """A configured agent on one call."""

    def __init__(self, *, instructions: str, greeting: str, state: CallState) -> None:
        tools: list[llm.Tool | llm.Toolset] = [end_call, transfer_call, send_dtmf]
        if state.policy.ask_consent:
            tools.append(record_consent)
        if state.meta.direction is CallDirection.OUTBOUND:
            tools.append(answering_machine_detected)
        super().__init__(instructions=instructions, tools=tools)
        self._greeting = greeting
        self._state = state

    async def on_enter(self) -> None:
        """Inbound: greet (asking for consent first when the number requires it); outbound: wait
        for the callee unless configured to speak first."""
        if not self._state.policy.greet_first:
            return
        if not self._greeting:
            return
        if self.session.tts is not None or not isinstance(self.session.llm, llm.RealtimeModel):
            self.session.say(self._greeting)
            if self._state.policy.ask_consent:
                self.session.generate_reply(
                    instructions="Ask whether the call may be recorded, in one short sentence."
                )
        else:
            # A realtime model speaks for itself: tell it what to say.
            self.session.generate_reply(
                instructions=f"Greet the caller by saying exactly: {self._greeting}"
            )
