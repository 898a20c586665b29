"""HTTP bodies of call-orchestrator."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from talkifai_common.e164 import E164_PATTERN
from talkifai_common.events import (
    CallAgentRef,
    CallData,
    CallUsageData,
    CloudEvent,
    TranscriptItem,
)

T = TypeVar("T", bound=BaseModel)
MAX_RINGING_TIMEOUT_S = 120


_ISO_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$"
)


def _iso_date_time(value: object) -> object:
    """Only an ISO 8601 text: pydantic would also read `0.5` or `1700000000` as Unix times."""
    if isinstance(value, str) and not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_date_time)]
"""A query's date-time: ISO 8601 only (a time without a zone is UTC where it is used)."""


class OutboundCallRequest(BaseModel):
    """The seed's body, plus optional call settings."""

    model_config = ConfigDict(extra="forbid")

    # The pattern documents what is accepted; the handler checks it, so that a wrong number is
    # the seed's `invalid_number`, not `invalid_request`.
    to_number: str = Field(
        max_length=40,
        description="Destination in E.164.",
        examples=["+12025550123"],
        json_schema_extra={"pattern": E164_PATTERN},
    )
    from_number: str = Field(
        max_length=40,
        description="A number of your organization with an outbound agent.",
        examples=["+1234567890"],
        json_schema_extra={"pattern": E164_PATTERN},
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="Handed to the agent in its dispatch metadata."
    )
    # Strict: `"30"` or `true` for a number (or `1` for a boolean) is a client's mistake.
    ringing_timeout_s: int | None = Field(default=None, ge=1, le=MAX_RINGING_TIMEOUT_S, strict=True)
    max_call_duration_s: int | None = Field(default=None, ge=1, le=24 * 3600, strict=True)
    wait_until_answered: bool = Field(
        default=True,
        strict=True,
        description="false: answer 202 at once; the outcome follows in events.",
    )


class OutboundCallResponse(BaseModel):
    """The seed's success body plus `call_id`."""

    success: Literal[True] = True
    message: str = Field(examples=["Call initiated successfully"])
    room_name: str = Field(examples=["outbound_agent_abc123_12025550123_1234567890"])
    agent: CallAgentRef
    from_number: str
    to_number: str
    call_id: str
    status: str = Field(examples=["answered"])


class OutboundCallErrorBody(BaseModel):
    """Every failure of `POST /telephony/outbound-call`."""

    success: Literal[False] = False
    error: str
    message: str
    sip_status_code: int | None = None


class Page(BaseModel, Generic[T]):
    """A page of items and the cursor of the next one (null at the end)."""

    items: list[T]
    next_cursor: str | None


class CallPage(Page[CallData]):
    """A page of calls, newest first."""


class RecordingConsent(BaseModel):
    """agent-runtime's report that the caller consented to recording."""

    model_config = ConfigDict(extra="forbid")

    consent: Literal[True] = Field(
        default=True, description="Only a granted consent is reported; refusal means no call."
    )


class RecordingConsentResult(BaseModel):
    """The recording that consent started."""

    call_id: str
    recording_egress_id: str


class RecordingRetention(BaseModel):
    """How long the organization's call recordings are kept."""

    days: int = Field(
        ge=0, description="Recordings older than this many days are deleted; 0 keeps them."
    )
    default_days: int = Field(ge=0, description="The service's default (RECORDING_RETENTION_DAYS).")
    is_default: bool = Field(description="The organization has not set its own period.")
    updated_at: datetime | None = None
    updated_by: str | None = None


class RecordingRetentionUpdate(BaseModel):
    """The organization's own retention period."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(
        ge=0,
        le=36500,
        description="Delete recordings this many days after they are stored; 0 keeps them.",
        examples=[90],
    )


class UsageAmounts(BaseModel):
    """Costs by component, decimal strings in the group's currency."""

    carrier: str = Field(examples=["0.042000"])
    llm: str = Field(examples=["0.003120"])
    stt: str = Field(examples=["0.023100"])
    tts: str = Field(examples=["0.010500"])
    total: str = Field(examples=["0.078720"])


class UsageGroup(BaseModel):
    """The calls of one number, agent or day (in one currency)."""

    key: str | None = Field(
        description="The number (E.164), the agent id (null: calls without an agent) or the "
        "day (YYYY-MM-DD, UTC).",
        examples=["+12025550100"],
    )
    agent_name: str | None = Field(
        default=None, description="group_by=agent: the agent's name on its calls."
    )
    currency: str | None = Field(
        description="ISO 4217; null when none of the group's calls has been priced yet.",
        examples=["USD"],
    )
    calls: int = Field(description="Calls started in the period, priced or not.")
    costed_calls: int = Field(description="Of which priced (ended, with the agent's usage).")
    billed_s: int = Field(description="Carrier-billed seconds (rounded up to the increments).")
    billed_minutes: str = Field(description="billed_s / 60, two decimals.", examples=["3.00"])
    cost: UsageAmounts
    cost_micros: dict[str, int] = Field(
        description="The same costs in integer micro-units (carrier, llm, stt, tts, total)."
    )


class UsageReport(BaseModel):
    """Usage totals of the organization for a period."""

    start: datetime = Field(description="`from`, inclusive.")
    end: datetime = Field(description="`to`, exclusive.")
    group_by: str = Field(examples=["number"])
    groups: list[UsageGroup]


class CallTranscript(BaseModel):
    """A call's conversation, as agent-runtime heard and said it (redacted there: card numbers
    and the configured patterns are masked before anything leaves it)."""

    call_id: str
    agent_id: str
    items: list[TranscriptItem] = Field(
        description="User and agent turns and tool calls, in order."
    )
    truncated: bool = Field(
        description="Something was left out: a turn over 10,000 characters was cut, or the "
        "conversation was longer than the 32 parts an event stream may carry."
    )
    started_at: datetime = Field(description="When the agent joined the call.")
    ended_at: datetime = Field(description="When the agent left it.")


REPORT_EVENT_TYPE = "talkifai.telephony.call.report.v1"


class CallReport(BaseModel):
    """The end-of-call report a number's webhook gets once the call's transcript is in (the
    `data` of a CloudEvent of type `talkifai.telephony.call.report.v1`, signed like every
    delivery; never published on the bus)."""

    call: CallData = Field(description="The call as recorded now: status, times, durations.")
    outcome: str = Field(
        description="How it went in one word: the failure reason of a failed call; for a "
        "completed one its end reason (hung_up_by_user), else the agent's (agent_ended, "
        "caller_hangup, transferred, max_duration, voicemail_hangup, voicemail_message_left, "
        "agent_error, session_closed), else completed.",
        examples=["agent_ended"],
    )
    transcript: CallTranscript
    usage: CallUsageData | None = Field(
        description="What the call consumed (tokens, characters, seconds), when measured; "
        "its price is `call.cost`."
    )
    recording_url: str | None = Field(
        default=None,
        description="`GET <PUBLIC_API_URL>/calls/{id}/recording` (with an API token) when the "
        "recording is available and PUBLIC_API_URL is set; it answers only while the recording "
        "is kept. `call.recording` says where the recording stands (a report waits up to "
        "REPORT_WAIT_S for a pending one).",
        examples=["https://api.example.com/calls/call_4m6q9s1v3x5z8d2k/recording"],
    )


class CallReportEvent(CloudEvent[CallReport]):
    """The end-of-call report as the webhook receives it: a CloudEvent (`type`
    `talkifai.telephony.call.report.v1`, `subject` the call id)."""
