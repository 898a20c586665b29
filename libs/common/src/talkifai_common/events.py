"""The event contract: CloudEvents 1.0 envelopes on the JetStream stream `TELEPHONY`.

Subjects are `telephony.<entity>.<event>`; the CloudEvents `type` is
`talkifai.telephony.<entity>.<event>.v1`; `id` doubles as the `Nats-Msg-Id` header so that a
republished event is deduplicated. Every event is made by `new_event`, with a fresh random id: an id
derived from the content would make JetStream drop a later event that says the same thing (a
corrective one), so consumers dedupe by entity id and `version` instead. `data` is the entity's
public representation: never a secret.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from talkifai_common.voice import (
    Architecture,
    LLMConfig,
    RealtimeConfig,
    STTConfig,
    TTSConfig,
)

STREAM_NAME = "TELEPHONY"
STREAM_SUBJECTS = ("telephony.>",)


class EventName(StrEnum):
    """Every event the platform publishes, as its NATS subject."""

    AGENT_CREATED = "telephony.agent.created"
    AGENT_UPDATED = "telephony.agent.updated"
    AGENT_DELETED = "telephony.agent.deleted"
    PHONE_NUMBER_CREATED = "telephony.phone_number.created"
    PHONE_NUMBER_UPDATED = "telephony.phone_number.updated"
    PHONE_NUMBER_DELETED = "telephony.phone_number.deleted"
    PHONE_NUMBER_SYNCED = "telephony.phone_number.synced"
    PHONE_NUMBER_SYNC_FAILED = "telephony.phone_number.sync_failed"
    PHONE_NUMBER_CHECKED = "telephony.phone_number.checked"
    CALL_INITIATED = "telephony.call.initiated"
    CALL_RINGING = "telephony.call.ringing"
    CALL_ANSWERED = "telephony.call.answered"
    CALL_COMPLETED = "telephony.call.completed"
    CALL_FAILED = "telephony.call.failed"
    CALL_AGENT_FAILED = "telephony.call.agent_failed"
    CALL_USAGE = "telephony.call.usage"
    CALL_COSTED = "telephony.call.costed"
    CALL_TRANSCRIPT = "telephony.call.transcript"
    CALL_RECORDING_FAILED = "telephony.call.recording_failed"
    CALL_RECORDING_UPLOAD_FAILED = "telephony.call.recording_upload_failed"
    CALL_RECORDING_DELETED = "telephony.call.recording_deleted"
    CAMPAIGN_CREATED = "telephony.campaign.created"
    CAMPAIGN_STARTED = "telephony.campaign.started"
    CAMPAIGN_PAUSED = "telephony.campaign.paused"
    CAMPAIGN_RESUMED = "telephony.campaign.resumed"
    CAMPAIGN_CANCELLED = "telephony.campaign.cancelled"
    CAMPAIGN_COMPLETED = "telephony.campaign.completed"

    @property
    def subject(self) -> str:
        """The NATS subject."""
        return self.value

    @property
    def cloudevent_type(self) -> str:
        """The CloudEvents `type`, versioned."""
        return f"talkifai.{self.value}.v1"

    @classmethod
    def from_type(cls, cloudevent_type: str) -> EventName:
        """The event named by a CloudEvents `type`."""
        return cls(cloudevent_type.removeprefix("talkifai.").removesuffix(".v1"))


class RecordingMode(StrEnum):
    """Whether calls on a number are recorded."""

    DISABLED = "disabled"
    ALL = "all"
    CONSENT = "consent"


class SipTransport(StrEnum):
    """How LiveKit reaches the carrier for outbound calls (TLS unless the carrier lacks it)."""

    AUTO = "auto"
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


class MediaEncryption(StrEnum):
    """Whether outbound call media is encrypted (SRTP)."""

    DISABLE = "disable"
    ALLOW = "allow"
    REQUIRE = "require"


class NumberFormat(BaseModel):
    """How the carrier wants numbers written in the INVITE's Request-URI, To and From."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    leading_plus: bool = Field(
        default=True,
        description="Write E.164 with its `+` (+12025550123) or without (12025550123).",
    )
    tech_prefix: str = Field(
        default="",
        pattern=r"^[0-9*#]{0,10}$",
        description="Up to 10 digits (or * and #) the carrier wants before the number, e.g. 1234#.",
    )

    def write(self, e164: str) -> str:
        """`+12025550123` in this format, e.g. `12025550123` or `1234#+12025550123`."""
        digits = e164 if self.leading_plus else e164.removeprefix("+")
        return f"{self.tech_prefix}{digits}"


class NumberStatus(StrEnum):
    """The product's status badge."""

    ACTIVE = "active"
    INACTIVE = "inactive"


class SyncState(StrEnum):
    """Whether LiveKit holds the number's current desired state."""

    PENDING = "pending"
    SYNCED = "synced"
    FAILED = "failed"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True)


class AgentData(_Data):
    """An agent's public representation."""

    id: str = Field(examples=["agent_3kq9x7c2m4p8v6tz"])
    name: str = Field(examples=["Sales Agent"])
    architecture: Architecture
    instructions: str
    greeting: str
    language: str = Field(examples=["en-US"])
    stt: STTConfig | None = Field(description="Pipeline agents only.")
    llm: LLMConfig | None = Field(description="Pipeline and text agents.")
    tts: TTSConfig | None = Field(description="Pipeline agents only.")
    realtime: RealtimeConfig | None = Field(description="Realtime agents only.")
    version: int = Field(description="Increases with every change.")
    created_at: datetime
    updated_at: datetime


class AgentRef(_Data):
    """An assigned agent as shown on a phone number."""

    id: str
    name: str
    architecture: Architecture


class SyncStatus(_Data):
    """How far LiveKit has caught up with the number."""

    state: SyncState
    error: str | None = None
    synced_at: datetime | None = None


class CheckVerdict(StrEnum):
    """The trunk doctor's check in one word: failing if a step failed, degraded if one warned."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"


class CheckStepName(StrEnum):
    """The steps of a trunk check, in the order they run."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    OPTIONS = "options"
    AUTH = "auth"


class CheckStepStatus(StrEnum):
    """How one step went."""

    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


class CheckStep(_Data):
    """One step of a trunk check: what was tried, what happened, and what to do about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: CheckStepName
    status: CheckStepStatus
    detail: str
    fix: str | None = None
    duration_ms: float = Field(ge=0)


class PhoneNumberCheck(_Data):
    """The trunk doctor's report: the carrier probed as a SIP client reaches it (DNS, connect,
    TLS, SIP OPTIONS, digest authentication). A detail or fix never carries a password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: CheckVerdict
    summary: str = Field(description="One sentence: the verdict and the first thing to fix.")
    target: str = Field(description="What was probed, e.g. acme.pstn.twilio.com over tls.")
    round_trip_ms: float | None = Field(
        description="The OPTIONS round trip; null when the carrier did not answer."
    )
    steps: tuple[CheckStep, ...]
    checked_at: datetime


class PhoneNumberData(_Data):
    """A phone number's public representation; the SIP password is never part of it."""

    id: str = Field(examples=["pn_8d2k4m6q9s1v3x5z"])
    phone_number: str = Field(examples=["+12025550123"])
    termination_uri: str | None = Field(examples=["your-trunk.pstn.twilio.com"])
    sip_username: str | None
    has_sip_password: bool
    inbound_agent: AgentRef | None
    outbound_agent: AgentRef | None
    webhook_url: str | None
    recording_mode: RecordingMode
    sip_transport: SipTransport
    media_encryption: MediaEncryption
    carrier: str = Field(
        default="custom",
        description="The carrier profile whose defaults the number uses (twilio, telnyx, plivo, "
        "signalwire, bandwidth, vonage, custom).",
    )
    inbound_allowed_addresses: list[str] | None = Field(
        default=None,
        description="IPs/CIDRs inbound calls may come from; null: the carrier profile's ranges.",
    )
    inbound_auth_username: str | None = None
    has_inbound_auth_password: bool = False
    inbound_allow_any_source: bool = Field(
        default=False,
        description="Inbound calls are accepted from any address without credentials.",
    )
    number_format: NumberFormat | None = Field(
        default=None, description="Null: the carrier profile's format."
    )
    sip_headers: dict[str, str] | None = Field(
        default=None, description="Headers sent on outbound INVITEs; null: the profile's."
    )
    last_check: PhoneNumberCheck | None = Field(
        default=None, description="The trunk doctor's last report (POST /phone-numbers/{id}/check)."
    )
    status: NumberStatus
    sync: SyncStatus
    version: int = Field(description="Increases with every change; sync results name it.")
    created_at: datetime
    updated_at: datetime


class LiveKitResources(_Data):
    """The LiveKit resources that carry a number."""

    inbound_trunk_id: str | None = None
    outbound_trunk_id: str | None = None
    dispatch_rule_id: str | None = None


class PhoneNumberSyncData(_Data):
    """trunk-sync's report on one version of a number."""

    phone_number_id: str
    phone_number: str
    version: int
    state: Literal[SyncState.SYNCED, SyncState.FAILED]
    error: str | None = None
    resources: LiveKitResources = LiveKitResources()
    at: datetime


class PhoneNumberCheckedData(_Data):
    """The trunk doctor checked a number's carrier trunk."""

    phone_number_id: str
    phone_number: str
    check: PhoneNumberCheck


class CallDirection(StrEnum):
    """Who placed the call."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CallStatus(StrEnum):
    """Where a call is in its life; `completed` and `failed` are final."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"
    FAILED = "failed"


class CallAgentRef(_Data):
    """The agent on a call, as it was when the call started."""

    id: str
    name: str


class CostComponent(StrEnum):
    """What a part of a call's cost pays for."""

    CARRIER = "carrier"
    LLM_INPUT = "llm_input"
    LLM_OUTPUT = "llm_output"
    STT = "stt"
    TTS = "tts"


MICROS_PER_UNIT = 1_000_000
"""Money is counted in integer micro-units of its currency (1 USD = 1,000,000 micros)."""


class CostLine(_Data):
    """One component of a call's cost: what was used, at which rate, for how much."""

    component: CostComponent
    quantity: str = Field(
        description="What was billed, as a decimal string in `unit`s (carrier: billed minutes).",
        examples=["2"],
    )
    unit: str = Field(
        description="minute (carrier, stt), million_tokens (llm_*), million_characters (tts).",
        examples=["minute"],
    )
    rate: str | None = Field(
        description="The deck's price per `unit` (decimal string); null: the deck has no rate "
        "for it (carrier: no prefix matched), so it cost nothing.",
        examples=["0.0140"],
    )
    rated_by: str | None = Field(
        default=None,
        description="Which deck entry priced it: the carrier prefix (`+1`), or "
        "`provider/model`, `provider` or `default` for providers.",
        examples=["+1"],
    )
    amount: str = Field(description="The cost, a decimal string.", examples=["0.028000"])
    amount_micros: int = Field(ge=0, description="The cost in micro-units of the currency.")


class CallCost(_Data):
    """What a call cost: carrier minutes plus the providers' usage, priced by the org's deck.

    Each line is rounded half-up to micro-units; `total_micros` is their exact sum."""

    currency: str = Field(description="ISO 4217.", examples=["USD"])
    total: str = Field(description="The total, a decimal string.", examples=["0.031250"])
    total_micros: int = Field(ge=0)
    billed_s: int = Field(
        ge=0, description="Carrier-billed seconds: talk time rounded up to the increment."
    )
    destination_prefix: str | None = Field(
        description="The carrier rate's prefix that matched the called number (null: none did)."
    )
    breakdown: tuple[CostLine, ...]
    rate_deck_version: int = Field(
        ge=0, description="The organization's rate deck version used (0: the default deck)."
    )
    computed_at: datetime


class RecordingStatus(StrEnum):
    """Where a call's recording stands."""

    PENDING = "pending"
    """Being recorded, or written and uploaded by LiveKit Egress."""
    AVAILABLE = "available"
    FAILED = "failed"
    """Egress could not record or upload it (`error` says why); there is nothing to fetch."""
    DELETED = "deleted"
    """Deleted by a user or by the organization's retention; the call stays in history."""


class CallRecording(_Data):
    """A call's recording as history shows it (where it is stored stays internal)."""

    status: RecordingStatus
    duration_s: float | None = Field(
        default=None, description="Length of the recording, once available."
    )
    size_bytes: int | None = Field(default=None, ge=0, description="Size of the stored file.")
    error: str | None = Field(
        default=None,
        description="Why it failed (`failed`), as LiveKit Egress reported it.",
        examples=["S3 upload failed: NoSuchBucket"],
    )
    stored_at: datetime | None = Field(default=None, description="When it became available.")
    upload_attempts: int = Field(
        default=0,
        ge=0,
        description="Uploads call-orchestrator made of a recording LiveKit Egress could not "
        "upload and kept in its backup storage (`pending` meanwhile, `error` the last failure).",
    )
    deleted_at: datetime | None = None


class CallCampaignRef(_Data):
    """The campaign row attempt a call was placed for."""

    id: str = Field(description="The campaign's id.", examples=["cmp_4m6q9s1v3x5z8d2k"])
    row_id: str = Field(description="The campaign row's id.", examples=["cmr_8d2k4m6q9s1v3x5z"])
    attempt: int = Field(ge=1, description="The row's attempt number, from 1.")


class CallData(_Data):
    """A call as recorded by call-orchestrator: one event per state change, kept for history."""

    id: str = Field(examples=["call_4m6q9s1v3x5z8d2k"])
    direction: CallDirection
    status: CallStatus
    phone_number_id: str | None = Field(description="Our number's id; kept after it is deleted.")
    phone_number: str = Field(description="Our number (E.164).", examples=["+12025550123"])
    from_number: str
    to_number: str
    agent: CallAgentRef | None
    room_name: str
    failure_reason: str | None = Field(
        default=None,
        description="invalid_number, insufficient_balance, no_answer, busy, declined, "
        "carrier_error, carrier_unreachable, livekit_unavailable, dispatch_failed, abandoned, "
        "agent_failed, hung_up_by_user (POST /calls/{id}/hangup before the answer), internal",
    )
    failure_detail: str | None = Field(
        default=None,
        description="What went wrong, for people, when the reason has more to say (agent_failed: "
        "the agent's error, e.g. 'No API key for provider openai: set OPENAI_API_KEY').",
    )
    end_reason: str | None = Field(
        default=None,
        description="Why a completed call ended, when we know: hung_up_by_user (ended through "
        "POST /calls/{id}/hangup). Null otherwise (the caller, callee or agent hung up).",
    )
    sip_status_code: int | None = None
    sip_call_id: str | None = None
    recording_egress_id: str | None = None
    recording: CallRecording | None = Field(
        default=None,
        description="The call's recording (numbers whose `recording_mode` is `all`, or `consent` "
        "once the caller consented); null when none was started. Fetch it with "
        "`GET /calls/{call_id}/recording`.",
    )
    started_at: datetime
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration_s: float | None = Field(
        default=None, description="Talk time: answered to ended (billing)."
    )
    total_duration_s: float | None = Field(
        default=None, description="Started to ended, ringing included."
    )
    cost: CallCost | None = Field(
        default=None,
        description="What the call cost, once it is final and agent-runtime reported its usage "
        "(`telephony.call.costed`); null until then, and for calls no agent ran.",
    )
    campaign: CallCampaignRef | None = Field(
        default=None,
        description="The campaign row attempt this call was placed for; null for other calls.",
    )


class CallAgentFailedData(_Data):
    """agent-runtime could not run the agent on a call (the call is hung up, never left silent).

    call-orchestrator owns the call's record and its `telephony.call.failed`; this says why the
    agent side gave up. Inbound calls may have no call id yet: `room_name` names the call then.
    """

    call_id: str | None
    room_name: str
    job_id: str = Field(description="The LiveKit agent job (AJ_...).")
    agent_id: str | None
    direction: Literal["inbound", "outbound"] | None
    phone_number: str | None = Field(description="Our number (E.164), when known.")
    reason: str = Field(
        description="bad_job_metadata, unknown_agent, text_agent, provider_key_missing, "
        "model_server_refused, engine_missing, "
        "upstream_unavailable, livekit_error, internal_error",
    )
    error: str = Field(description="What went wrong, for people (never a secret).")
    retryable: bool
    at: datetime


class UsageModel(_Data):
    """The provider and model that served one kind of usage."""

    provider: str = Field(examples=["openai"])
    model: str | None = Field(default=None, examples=["gpt-4o-mini"])


class CallUsageData(_Data):
    """What one call consumed, for billing: published by agent-runtime when the call ends."""

    call_id: str | None = Field(description="call-orchestrator's id; inbound calls may lack it.")
    room_name: str
    agent_id: str
    architecture: Architecture
    direction: Literal["inbound", "outbound"]
    phone_number: str | None = Field(description="Our number (E.164), when known.")
    llm_input_tokens: int = Field(ge=0)
    llm_output_tokens: int = Field(ge=0)
    tts_characters: int = Field(ge=0)
    stt_seconds: float = Field(ge=0, description="Audio seconds sent to speech recognition.")
    duration_s: float = Field(ge=0, description="The agent's time on the call.")
    end_reason: str | None = Field(
        description="agent_ended, caller_hangup, transferred, max_duration, voicemail_hangup, "
        "voicemail_message_left, session_closed",
    )
    started_at: datetime
    ended_at: datetime
    llm: UsageModel | None = Field(
        default=None, description="The LLM (realtime agents: the realtime model), when known."
    )
    stt: UsageModel | None = Field(default=None, description="The STT, when known.")
    tts: UsageModel | None = Field(default=None, description="The TTS, when known.")


class CallCostedData(_Data):
    """call-orchestrator priced a final call from its usage (once per call)."""

    call_id: str
    org_id: str
    direction: CallDirection
    phone_number_id: str | None
    phone_number: str = Field(description="Our number (E.164).")
    to_number: str
    agent: CallAgentRef | None
    billed_s: int = Field(ge=0)
    breakdown: tuple[CostLine, ...]
    total: str = Field(description="A decimal string.", examples=["0.031250"])
    total_micros: int = Field(ge=0)
    currency: str = Field(description="ISO 4217.", examples=["USD"])
    rate_deck_version: int = Field(ge=0)
    computed_at: datetime


class RecordingDeletedBy(StrEnum):
    """What deleted a recording."""

    USER = "user"
    RETENTION = "retention"


class CallRecordingData(_Data):
    """A call's recording failed (`recording_failed`), could not be uploaded and is kept in egress's
    backup storage to be uploaded again (`recording_upload_failed`: it stays `pending`), or was
    deleted (`recording_deleted`)."""

    call_id: str
    org_id: str
    phone_number_id: str | None
    phone_number: str = Field(description="Our number (E.164).")
    recording_egress_id: str | None
    recording: CallRecording
    deleted_by: RecordingDeletedBy | None = Field(
        default=None, description="`recording_deleted`: a user's request or the retention period."
    )
    deleted_by_user: str | None = Field(
        default=None, description="The user (`sub`) who deleted it, for `deleted_by: user`."
    )


# A transcript event's items stay under this many bytes of JSON, so that the whole event (its
# envelope and usage add about 2 KB) stays far below NATS's default 1 MB max payload.
TRANSCRIPT_PART_MAX_BYTES = 256 * 1024
# At most this many parts per call (8 MB of conversation); what would follow is left out and the
# transcript says `truncated`.
TRANSCRIPT_MAX_PARTS = 32
# One item's text (or a tool call's arguments) is cut to this many characters (`truncated`).
TRANSCRIPT_MAX_ITEM_CHARS = 10_000


class TranscriptRole(StrEnum):
    """Who a transcript item is from."""

    USER = "user"
    AGENT = "agent"
    TOOL = "tool"


class TranscriptItem(_Data):
    """One turn of a call's conversation, or one tool call of the agent; redacted."""

    role: TranscriptRole
    text: str = Field(
        default="",
        description="What was said (user: as transcribed; agent: as spoken), or what the tool "
        "answered. Card numbers and the configured patterns are masked.",
    )
    at: datetime = Field(description="When the item was added to the conversation.")
    interrupted: bool = Field(default=False, description="The agent was cut off while speaking.")
    tool_name: str | None = Field(default=None, description="Tool items: the tool called.")
    tool_arguments: str | None = Field(
        default=None,
        description="Tool items: the call's JSON arguments, redacted (secret-named fields masked).",
    )


class CallTranscriptData(_Data):
    """A call's conversation, published by agent-runtime when the call ends.

    A transcript is cut into parts (`part` of `parts`, 1-based, in order) so that no event
    exceeds NATS's max payload: each part's items stay under `TRANSCRIPT_PART_MAX_BYTES` of JSON.
    Every part repeats the call's fields and usage; consumers put the parts together by
    (`call_id`, else `room_name`) and `part`.
    """

    call_id: str | None = Field(description="call-orchestrator's id; inbound calls may lack it.")
    room_name: str
    agent_id: str
    direction: Literal["inbound", "outbound"]
    phone_number: str | None = Field(description="Our number (E.164), when known.")
    part: int = Field(ge=1)
    parts: int = Field(ge=1, le=TRANSCRIPT_MAX_PARTS)
    items: tuple[TranscriptItem, ...]
    truncated: bool = Field(
        description="Something was left out: an item cut to TRANSCRIPT_MAX_ITEM_CHARS or items "
        "past TRANSCRIPT_MAX_PARTS parts. The same on every part."
    )
    usage: CallUsageData | None = Field(
        default=None, description="The call's `telephony.call.usage` data, when it was measured."
    )
    started_at: datetime
    ended_at: datetime


DataT = TypeVar("DataT", bound=BaseModel)


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 JSON envelope with the `orgid` extension."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str = Field(description="The entity id.")
    orgid: str
    datacontenttype: Literal["application/json"] = "application/json"
    data: DataT

    @property
    def name(self) -> EventName:
        """Which event this is."""
        return EventName.from_type(self.type)


def new_event(
    name: EventName, *, source: str, subject: str, orgid: str, data: DataT
) -> CloudEvent[DataT]:
    """A fresh event with a unique id, stamped now."""
    return CloudEvent[DataT](
        id=str(uuid.uuid4()),
        source=source,
        type=name.cloudevent_type,
        time=datetime.now(UTC),
        subject=subject,
        orgid=orgid,
        data=data,
    )
