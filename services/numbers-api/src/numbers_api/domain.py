"""The rules of agents and phone numbers, free of I/O.

Errors are those of `numbers_api.errors`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from numbers_api.errors import TextAgentRefused
from talkifai_common import carriers
from talkifai_common.destinations import check_host, is_hostname, literal_address, split_sip_host
from talkifai_common.errors import FieldError, ValidationFailed
from talkifai_common.events import (
    MediaEncryption,
    NumberStatus,
    PhoneNumberData,
    RecordingMode,
    SipTransport,
)
from talkifai_common.ids import random_id
from talkifai_common.voice import Architecture

AT_LEAST_ONE_AGENT = "At least one agent must be selected"
SOURCE = "/talkifai/numbers-api"  # the CloudEvents `source` of every event this service writes


class PhoneNumberChanges(BaseModel):
    """What a change writes to a phone number: the fields set are written (`None` clears one),
    the others stay as stored. The store turns it into SQL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phone_number: str | None = None
    termination_uri: str | None = None
    sip_username: str | None = None
    sip_password_ciphertext: str | None = None
    webhook_url: str | None = None
    recording_mode: RecordingMode | None = None
    sip_transport: SipTransport | None = None
    media_encryption: MediaEncryption | None = None
    carrier: str | None = None
    inbound_allowed_addresses: list[str] | None = None
    inbound_auth_username: str | None = None
    inbound_auth_password_ciphertext: str | None = None
    inbound_allow_any_source: bool | None = None
    number_format: dict[str, object] | None = None
    sip_headers: dict[str, str] | None = None
    inbound_agent_id: str | None = None
    outbound_agent_id: str | None = None

    def columns(self) -> dict[str, object]:
        """The set fields by column name, enums as they are (asyncpg writes them as text)."""
        # Declared order, so one set of fields is always the same statement text (prepared once).
        fields = self.model_fields_set
        return {name: getattr(self, name) for name in type(self).model_fields if name in fields}


def new_id(prefix: str) -> str:
    """A random id such as `agent_3kq9x7c2m4p8v6tz`: 80 bits, readable, URL-safe."""
    return random_id(prefix)


def parse_termination_uri(raw: str) -> str:
    """Accept `host`, `host:port`, `sip:host[:port]` or `sips:host[:port]`; return `host[:port]`.

    LiveKit wants the outbound trunk address as a bare host (optionally with a port), never a SIP URI.
    """
    text = raw.strip()
    lowered = text.lower()
    for scheme in ("sips:", "sip:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    if not text:
        raise ValueError("Termination URI must name a SIP host, e.g. your-trunk.pstn.twilio.com")
    if any(ch in text for ch in "@;/?# ") or "://" in text:
        raise ValueError(
            "Termination URI must be a SIP host: host, host:port, sip:host or sips:host "
            "(no user, parameters or path), e.g. your-trunk.pstn.twilio.com"
        )
    host, port = _split_host_port(text)
    if port is not None and not (re.fullmatch(r"[0-9]{1,5}", port) and 1 <= int(port) <= 65535):
        raise ValueError("Termination URI port must be a number from 1 to 65535")
    host = host.lower()
    if literal_address(host) is None and not is_hostname(host):
        raise ValueError(
            "Termination URI must be a valid hostname or IP address, e.g. your-trunk.pstn.twilio.com"
        )
    return f"{host}:{int(port)}" if port is not None else host


def _split_host_port(text: str) -> tuple[str, str | None]:
    if text.startswith("["):  # [IPv6]:port
        end = text.find("]")
        if end == -1:
            raise ValueError("Termination URI has an unclosed IPv6 bracket")
        rest = text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(
                "Termination URI must be a SIP host: host, host:port, sip:host or sips:host"
            )
        return text[: end + 1], (rest[1:] if rest else None)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    if ":" in text:
        # SIP writes an IPv6 address in brackets (RFC 3261's IPv6reference); without them a
        # trailing group could be read as a port.
        raise ValueError(
            "Termination URI must put an IPv6 address in brackets, e.g. [2001:db8::1]:5060"
        )
    return text, None


def check_termination_host(host_port: str, *, allow_private: bool) -> None:
    """DestinationRefused for a termination host that is a literal non-public address or a
    loopback name (the shared destination policy).

    Names are not resolved here (a resolver hiccup must not fail a save, and the answer may change
    anyway): trunk-sync resolves and checks them before it writes the outbound trunk.
    """
    host, _ = split_sip_host(host_port)
    check_host(host, what="Termination URI", allow_private=allow_private)


def number_status(
    *,
    termination_uri: str | None,
    inbound_agent_id: str | None,
    outbound_agent_id: str | None,
    sip_username: str | None,
    has_sip_password: bool,
) -> NumberStatus:
    """The seed's badge: active once callable (URI, an agent, and credentials for outbound)."""
    if not termination_uri:
        return NumberStatus.INACTIVE
    if not inbound_agent_id and not outbound_agent_id:
        return NumberStatus.INACTIVE
    if outbound_agent_id and not (sip_username and has_sip_password):
        return NumberStatus.INACTIVE
    return NumberStatus.ACTIVE


def check_assignment(inbound_agent_id: str | None, outbound_agent_id: str | None) -> None:
    """At least one side must name an agent."""
    if not inbound_agent_id and not outbound_agent_id:
        raise ValidationFailed(
            AT_LEAST_ONE_AGENT,
            [
                FieldError("inbound_agent_id", AT_LEAST_ONE_AGENT),
                FieldError("outbound_agent_id", AT_LEAST_ONE_AGENT),
            ],
        )


INBOUND_OPEN = (
    "An inbound agent answers only calls from the carrier: set inbound_allowed_addresses (the "
    "carrier's signalling addresses), inbound credentials, or a carrier profile that lists its "
    "addresses; or set inbound_allow_any_source to true to accept calls from anywhere"
)
CREDENTIALS_WITHOUT_USERNAME = "Inbound credentials need a username as well as a password"


def inbound_sources(number: PhoneNumberData) -> tuple[str, ...]:
    """The addresses the number's inbound calls may come from (its own, else its profile's)."""
    if number.inbound_allowed_addresses is not None:
        return tuple(number.inbound_allowed_addresses)
    return carriers.profile(number.carrier).signalling_addresses


def check_inbound_security(number: PhoneNumberData, *, agent_field: str | None = None) -> None:
    """A number's inbound side must be closed to everyone but its carrier before an agent answers
    on it: source ranges, digest credentials, or the explicit `inbound_allow_any_source`.
    `agent_field` names the request field that assigned the agent, when one did."""
    if number.has_inbound_auth_password and not number.inbound_auth_username:
        raise ValidationFailed.for_field("inbound_auth_username", CREDENTIALS_WITHOUT_USERNAME)
    if number.inbound_agent is None or number.inbound_allow_any_source:
        return
    if inbound_sources(number) or number.has_inbound_auth_password:
        return
    fields = [FieldError("inbound_allowed_addresses", INBOUND_OPEN)]
    if agent_field:
        fields.append(FieldError(agent_field, INBOUND_OPEN))
    raise ValidationFailed(INBOUND_OPEN, fields)


def check_voice_capable(field: str, architecture: Architecture) -> None:
    """Only pipeline and realtime agents may be put on a phone number."""
    if not architecture.is_voice:
        raise TextAgentRefused(field)
