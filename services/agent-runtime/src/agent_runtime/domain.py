"""Rules of a call, without I/O: job metadata, what the agent is told, usage, and the errors.

Errors: `AgentRuntimeError` is the base; each carries a `reason` (a stable machine code used in
the call failure event) and `retryable`.
- `BadJobMetadata`: the dispatch's metadata is not a job of `talkifai_common.jobs` (what
  trunk-sync and call-orchestrator write).
- `UnknownAgent`: no such agent (deleted, or never existed).
- `TextAgentRefused`: a text-only agent cannot take or place a call.
- `ProviderKeyMissing`: a configured provider has no API key in the environment.
- `UpstreamUnavailable`: numbers-api or call-orchestrator did not answer (retryable).
- `LiveKitFailure`: LiveKit refused or failed an operation (joining, transfer, hangup).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from talkifai_common.events import CallDirection, RecordingMode
from talkifai_common.jobs import JobMetadata, OutboundJob, read_job_metadata

TEXT_AGENT_REFUSAL = "Agent is a text-only agent and cannot make voice calls"


class AgentRuntimeError(Exception):
    """Base of every error agent-runtime raises on purpose."""

    reason = "internal_error"
    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadJobMetadata(AgentRuntimeError):
    """The job's metadata cannot be read."""

    reason = "bad_job_metadata"


class UnknownAgent(AgentRuntimeError):
    """The job names an agent that does not exist."""

    reason = "unknown_agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"Agent {agent_id} does not exist")
        self.agent_id = agent_id


class TextAgentRefused(AgentRuntimeError):
    """A text-only agent was dispatched to a call."""

    reason = "text_agent"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"{TEXT_AGENT_REFUSAL} (agent {agent_id})")
        self.agent_id = agent_id


class ProviderKeyMissing(AgentRuntimeError):
    """A provider's API key is not in the environment."""

    reason = "provider_key_missing"

    def __init__(self, provider: str, variable: str) -> None:
        super().__init__(f"No API key for provider {provider}: set {variable}")
        self.provider = provider
        self.variable = variable


class EngineMissing(AgentRuntimeError):
    """A local engine the agent uses (espeak-ng) is not installed where agent-runtime runs."""

    reason = "engine_missing"

    def __init__(self, engine: str, install: str) -> None:
        super().__init__(f"{engine} is not installed where agent-runtime runs ({install})")
        self.engine = engine


class ModelServerRefused(AgentRuntimeError):
    """An agent's model server (`base_url`) is somewhere the destination policy refuses."""

    reason = "model_server_refused"


class UpstreamUnavailable(AgentRuntimeError):
    """An internal service did not answer."""

    reason = "upstream_unavailable"
    retryable = True


class ProviderFailed(AgentRuntimeError):
    """A model provider (STT, LLM, TTS, realtime) failed during the call and livekit-agents
    gave up on it: the call cannot go on."""

    reason = "provider_error"


class LiveKitFailure(AgentRuntimeError):
    """LiveKit refused or failed an operation."""

    reason = "livekit_error"

    def __init__(self, operation: str, detail: str, *, retryable: bool = False) -> None:
        super().__init__(f"LiveKit {operation} failed: {detail}")
        self.operation = operation
        self.retryable = retryable


def parse_job(raw: str) -> JobMetadata:
    """The job's metadata (`talkifai_common.jobs`), or BadJobMetadata saying what is wrong."""
    if not raw.strip():
        raise BadJobMetadata(
            "The job has no metadata: expected an inbound or outbound job naming agent_id"
        )
    try:
        return read_job_metadata(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'metadata'}: {e['msg']}" for e in exc.errors()
        )
        raise BadJobMetadata(f"The job's metadata is invalid: {problems}") from exc


class VoicemailPolicy(BaseModel):
    """What to do when an outbound call reaches an answering machine."""

    model_config = ConfigDict(frozen=True)

    action: Literal["hangup", "leave_message"] = "hangup"
    message: str = ""


class CallPolicy(BaseModel):
    """How the agent behaves on this call, from the settings and the job."""

    model_config = ConfigDict(frozen=True)

    greet_first: bool
    ask_consent: bool
    max_duration_s: float
    voicemail: VoicemailPolicy


def call_policy(
    meta: JobMetadata,
    recording_mode: RecordingMode | None,
    *,
    outbound_wait_for_callee: bool,
    max_duration_s: float,
    voicemail: VoicemailPolicy,
) -> CallPolicy:
    """Inbound calls are greeted; outbound ones wait for the callee unless configured otherwise.

    The caller's metadata may override: `wait_for_callee` (bool), `voicemail_action`,
    `voicemail_message`, `max_duration_s` (only lower than the configured maximum).
    """
    extra = meta.metadata if isinstance(meta, OutboundJob) else {}
    wait = extra.get("wait_for_callee", outbound_wait_for_callee)
    greet_first = meta.direction is CallDirection.INBOUND or not bool(wait)
    action = extra.get("voicemail_action", voicemail.action)
    message = extra.get("voicemail_message", voicemail.message)
    policy_voicemail = VoicemailPolicy(
        action="leave_message" if action == "leave_message" else "hangup",
        message=message if isinstance(message, str) else voicemail.message,
    )
    limit = extra.get("max_duration_s")
    if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0:
        max_duration_s = min(max_duration_s, float(limit))
    return CallPolicy(
        greet_first=greet_first,
        ask_consent=recording_mode is RecordingMode.CONSENT,
        max_duration_s=max_duration_s,
        voicemail=policy_voicemail,
    )


def call_instructions(
    base: str, meta: JobMetadata, policy: CallPolicy, remote_number: str | None
) -> str:
    """The agent's instructions plus what it must know about this call."""
    lines = [base.strip(), "", "## This call"]
    if isinstance(meta, OutboundJob):
        lines.append(f"You placed this phone call to {remote_number or 'the callee'}.")
        if meta.metadata:
            context = json.dumps(meta.metadata, ensure_ascii=False, sort_keys=True)
            lines.append(f"Whom you called and why (from the request that placed it): {context}")
        lines.append(
            "If a voicemail greeting or an answering machine answers, call the "
            "`answering_machine_detected` tool at once."
        )
    else:
        lines.append(f"You are answering a phone call from {remote_number or 'a caller'}.")
    if policy.ask_consent:
        lines.append(
            "This call may be recorded only with consent. Before anything else, ask the other "
            "party whether they agree to the call being recorded, then call `record_consent` "
            "with their answer."
        )
    lines.append(
        "Use `end_call` when the conversation is over, `transfer_call` to hand the call to a "
        "person at another number, and `send_dtmf` to press keys in a phone menu."
    )
    lines.append(
        "When the other party presses keys on their phone, you receive them as a message "
        "starting with [keypad], e.g. `[keypad] 12#`: treat it as their answer."
    )
    return "\n".join(lines)


class UsageTotals(BaseModel):
    """One call's usage, summed over its models."""

    llm_input_tokens: int = 0
    llm_output_tokens: int = 0
    tts_characters: int = 0
    stt_seconds: float = 0.0


def sum_usage(model_usage: list[Any]) -> UsageTotals:
    """Sum livekit-agents' per-model usage (`session.usage.model_usage`) for billing."""
    totals = UsageTotals()
    for usage in model_usage:
        kind = getattr(usage, "type", "")
        if kind == "llm_usage":
            totals.llm_input_tokens += int(usage.input_tokens)
            totals.llm_output_tokens += int(usage.output_tokens)
        elif kind == "tts_usage":
            totals.tts_characters += int(usage.characters_count)
        elif kind == "stt_usage":
            totals.stt_seconds += float(usage.audio_duration)
    totals.stt_seconds = round(totals.stt_seconds, 3)
    return totals
