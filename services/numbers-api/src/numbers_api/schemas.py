"""HTTP request bodies and pages. Responses are the event contract's public representations."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from numbers_api.domain import parse_termination_uri
from talkifai_common import carriers
from talkifai_common.auth import Role
from talkifai_common.e164 import E164
from talkifai_common.events import MediaEncryption, NumberFormat, RecordingMode, SipTransport
from talkifai_common.voice import (
    LANGUAGE_PATTERN,
    Architecture,
    LLMConfig,
    RealtimeConfig,
    STTConfig,
    TTSConfig,
)

AgentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Instructions = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)
]
Greeting = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1_000)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN, max_length=35)]
TerminationUri = Annotated[
    str, StringConstraints(max_length=300), AfterValidator(parse_termination_uri)
]
SipUsername = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\s:@]+$")]
SipPassword = Annotated[SecretStr, Field(min_length=1, max_length=128)]
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
MAX_SYNC_READ = 500  # numbers per internal for-sync read
MAX_ALLOWED_ADDRESSES = 100


def _known_carrier(value: str) -> str:
    known = carriers.profiles()
    if value not in known:
        raise ValueError(f"Unknown carrier profile {value!r}; one of {', '.join(known)}")
    return value


CarrierId = Annotated[str, StringConstraints(max_length=32), AfterValidator(_known_carrier)]
AllowedAddresses = Annotated[
    list[Annotated[str, StringConstraints(max_length=64)]],
    Field(
        max_length=MAX_ALLOWED_ADDRESSES,
        description="IPs or CIDR networks (e.g. 54.172.60.0/23) the carrier sends calls from; "
        "overrides the carrier profile's ranges; private ranges are refused.",
        examples=[["54.172.60.0/23", "34.203.250.0/23"]],
    ),
]
SipHeaders = Annotated[
    dict[str, str],
    AfterValidator(carriers.check_sip_headers),
    Field(
        description="Headers added to outbound INVITEs (overrides the profile's); "
        "`{sip_username}` in a value is replaced by the number's SIP username.",
        examples=[{"X-Telnyx-Username": "{sip_username}"}],
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentCreate(_Body):
    """A new agent: only `name` and `architecture` are required; the rest has defaults."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Sales Agent", "architecture": "pipeline"}]},
    )

    name: AgentName
    architecture: Architecture
    instructions: Instructions | None = None
    greeting: Greeting | None = None
    language: Language | None = None
    stt: STTConfig | None = Field(default=None, description="Pipeline agents only.")
    llm: LLMConfig | None = Field(default=None, description="Pipeline and text agents.")
    tts: TTSConfig | None = Field(default=None, description="Pipeline agents only.")
    realtime: RealtimeConfig | None = Field(default=None, description="Realtime agents only.")


class AgentUpdate(_Body):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"greeting": "Hi, this is Sales."}]}
    )

    name: AgentName | None = None
    architecture: Architecture | None = None
    instructions: Instructions | None = None
    greeting: Greeting | None = None
    language: Language | None = None
    stt: STTConfig | None = None
    llm: LLMConfig | None = None
    tts: TTSConfig | None = None
    realtime: RealtimeConfig | None = None


class PhoneNumberCreate(_Body):
    """A number brought from the customer's carrier."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone_number": "+12025550123",
                    "termination_uri": "your-trunk.pstn.twilio.com",
                    "sip_username": "talkifai",
                    "sip_password": "s3cret-pass",
                }
            ]
        },
    )

    phone_number: E164 = Field(
        description="E.164, e.g. +12025550123; spaces, dashes and parentheses are accepted."
    )
    termination_uri: TerminationUri | None = Field(
        default=None, description="host, host:port, sip:host or sips:host; stored as host[:port]."
    )
    sip_username: SipUsername | None = None
    sip_password: SipPassword | None = Field(
        default=None, description="Write-only; encrypted at rest."
    )
    webhook_url: WebhookUrl | None = None
    recording_mode: RecordingMode = RecordingMode.DISABLED
    carrier: CarrierId | None = Field(
        default=None,
        description="Carrier profile; left out: recognised from the termination host "
        "(*.pstn.twilio.com is twilio), else custom.",
    )
    sip_transport: SipTransport | None = Field(
        default=None, description="Left out: the carrier profile's (tls for most)."
    )
    media_encryption: MediaEncryption | None = Field(
        default=None, description="Left out: the carrier profile's (require for most)."
    )
    inbound_allowed_addresses: AllowedAddresses | None = None
    inbound_auth_username: SipUsername | None = None
    inbound_auth_password: SipPassword | None = Field(
        default=None, description="Write-only; encrypted at rest."
    )
    inbound_allow_any_source: bool = Field(
        default=False,
        description="Accept inbound calls from any address without credentials (not advised).",
    )
    number_format: NumberFormat | None = None
    sip_headers: SipHeaders | None = None


class PhoneNumberUpdate(_Body):
    """Fields to change; `null` clears an optional field; those left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"recording_mode": "consent"}]}
    )

    phone_number: E164 | None = None
    termination_uri: TerminationUri | None = None
    sip_username: SipUsername | None = None
    sip_password: SipPassword | None = None
    webhook_url: WebhookUrl | None = None
    recording_mode: RecordingMode | None = None
    sip_transport: SipTransport | None = None
    media_encryption: MediaEncryption | None = None
    carrier: CarrierId | None = None
    inbound_allowed_addresses: AllowedAddresses | None = None
    inbound_auth_username: SipUsername | None = None
    inbound_auth_password: SipPassword | None = None
    inbound_allow_any_source: bool | None = None
    number_format: NumberFormat | None = None
    sip_headers: SipHeaders | None = None


class AgentAssignment(_Body):
    """The seed's body: which agents answer and place calls for a number (null unassigns)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "phone_number": "+1234567890",
                    "inbound_agent_id": "agent_abc123",
                    "outbound_agent_id": "agent_def456",
                }
            ]
        },
    )

    phone_number: E164
    inbound_agent_id: str | None = Field(default=None, max_length=64)
    outbound_agent_id: str | None = Field(default=None, max_length=64)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next."""

    items: list[T]
    next_cursor: str | None = None


class DevTokenRequest(_Body):
    """Dev mode only: a token for any organization and role."""

    org_id: str = Field(min_length=1, max_length=100, examples=["org_demo"])
    role: Role = Role.OWNER
    sub: str = Field(default="dev-user", min_length=1, max_length=100)


class TokenResponse(BaseModel):
    """A bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class NumbersForSyncRequest(_Body):
    """Internal: the numbers trunk-sync is about to sync, read in one request."""

    ids: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=MAX_SYNC_READ, examples=[["pn_01J0000000000000000000000"]]
    )
