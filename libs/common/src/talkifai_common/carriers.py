"""Carrier profiles: what each carrier the product names needs from a number's SIP trunks.

The data lives in `carriers.json` beside this module, one entry per carrier with the page each
value was read from and the date it was read: the carrier's signalling source ranges (which
addresses its INVITEs come from), how it wants the dialled number written (a leading `+` or not, a
tech prefix), headers it requires, its default transport, port and SRTP support, and the steps in
its console. `custom` is the profile of any other carrier: no ranges, E.164 with `+`, TLS.

A number names a profile (`carrier`) and may override any of its values; `effective_settings`
merges the two, and is the one place trunk-sync, call-orchestrator and the trunk doctor read them.
Header values may say `{sip_username}`, filled with the number's outbound username (Telnyx names
the connection's username in a header for credential authentication).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from talkifai_common.events import MediaEncryption, NumberFormat, SipTransport

CUSTOM = "custom"
# RFC 3261 token characters: a header name is one token.
HEADER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]{1,64}$")
MAX_HEADERS = 20
MAX_HEADER_VALUE = 256
# Headers the SIP stack writes itself (RFC 3261 section 20 and the auth/routing ones): a trunk
# setting them would break the dialog, forge identity or leak credentials.
RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards", "Content-Length",
        "Content-Type", "Content-Encoding", "Content-Disposition", "Route", "Record-Route",
        "Authorization", "Proxy-Authorization", "WWW-Authenticate", "Proxy-Authenticate",
        "Proxy-Require", "Require", "Supported", "Allow", "Expires", "Event", "Refer-To",
        "Replaces", "Session-Expires", "Min-SE", "RSeq", "RAck", "P-Asserted-Identity",
        "P-Preferred-Identity", "Privacy", "Identity",
        # The compact forms of the above (RFC 3261 section 7.3.3).
        "v", "f", "t", "i", "m", "l", "c", "e", "k", "o", "r", "u", "x", "y",
    )
)  # fmt: skip


class Source(BaseModel):
    """Where a profile's values were read, and when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    read_on: str = Field(description="ISO date the page was read.")
    note: str = ""


class CarrierProfile(BaseModel):
    """One carrier's SIP trunking facts and defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    signalling_addresses: tuple[str, ...] = Field(
        description="IPs/CIDRs the carrier sends INVITEs from (empty: unknown, set per number)."
    )
    termination_host_suffixes: tuple[str, ...] = Field(
        default=(), description="Termination hosts ending so belong to this carrier."
    )
    number_format: NumberFormat = NumberFormat()
    headers: dict[str, str] = Field(default_factory=dict)
    transport: SipTransport = SipTransport.TLS
    port: int = Field(default=5061, description="The termination port for `transport`.")
    srtp: bool = Field(description="Whether the carrier's trunks can encrypt media (SRTP).")
    media_encryption: MediaEncryption = MediaEncryption.REQUIRE
    inbound_auth: bool = Field(
        default=False,
        description="Whether the carrier can authenticate the INVITEs it sends us (digest).",
    )
    setup_steps: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()


class _Profiles(BaseModel):
    carriers: list[CarrierProfile]


@functools.cache
def profiles() -> dict[str, CarrierProfile]:
    """Every profile by id, `custom` included, in the data file's order."""
    raw = resources.files("talkifai_common").joinpath("carriers.json").read_text("utf-8")
    loaded = _Profiles.model_validate(json.loads(raw))
    by_id = {p.id: p for p in loaded.carriers}
    if CUSTOM not in by_id:
        raise RuntimeError("carriers.json must define the `custom` profile")
    return by_id


def profile(carrier_id: str | None) -> CarrierProfile:
    """The profile named, `custom` for None; KeyError for an unknown id."""
    return profiles()[carrier_id or CUSTOM]


def dial_format(carrier: str | None, number_format: NumberFormat | None) -> NumberFormat:
    """How numbers are written on the number's outbound INVITEs: its own format, else its
    profile's (E.164 with `+` for a profile this release does not know)."""
    if number_format is not None:
        return number_format
    known = profiles().get(carrier or CUSTOM)
    return known.number_format if known else NumberFormat()


def carrier_of_host(termination_uri: str | None) -> str:
    """The profile whose termination hosts `termination_uri` (host[:port]) belongs to, else custom."""
    if not termination_uri:
        return CUSTOM
    host = termination_uri.rsplit(":", 1)[0] if "]" not in termination_uri else termination_uri
    host = host.lower().rstrip(".")
    for p in profiles().values():
        if any(host.endswith(suffix) for suffix in p.termination_host_suffixes):
            return p.id
    return CUSTOM


def check_sip_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers unchanged, or ValueError naming the first bad one (count, name, value)."""
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} SIP headers")
    seen: set[str] = set()
    for name, value in headers.items():
        if not HEADER_NAME_PATTERN.match(name):
            raise ValueError(
                f"header name {name!r} must be a SIP token (letters, digits, -.!%*_+`'~)"
            )
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            raise ValueError(f"header {name!r} is written by the SIP stack and cannot be set")
        if lowered in seen:
            raise ValueError(f"header {name!r} appears twice (names are case-insensitive)")
        seen.add(lowered)
        if len(value) > MAX_HEADER_VALUE:
            raise ValueError(f"header {name!r} value is longer than {MAX_HEADER_VALUE} characters")
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError(f"header {name!r} value must not contain CR, LF or NUL")
    return headers


def parse_networks(values: list[str], *, allow_private: bool) -> list[str]:
    """IPs/CIDRs normalised (`10.0.0.0/8`, `192.0.2.7/32` written `192.0.2.7`), or ValueError
    naming the bad entry: not an address or network, host bits set, or not globally routable
    (unless `allow_private`, the destination policy's switch)."""
    from talkifai_common.destinations import is_public_address

    out: list[str] = []
    for value in values:
        text = value.strip()
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IP address or CIDR network ({exc})") from None
        if not allow_private and not all(
            is_public_address(a) for a in (network.network_address, network.broadcast_address)
        ):
            raise ValueError(
                f"{value!r} is a private or reserved range; carriers signal from public addresses"
            )
        single = network.num_addresses == 1
        out.append(str(network.network_address) if single else str(network))
    return out


class EffectiveSettings(BaseModel):
    """A number's SIP settings after its overrides are laid over its carrier's profile."""

    model_config = ConfigDict(frozen=True)

    carrier: str
    inbound_allowed_addresses: tuple[str, ...]
    number_format: NumberFormat
    sip_headers: dict[str, str]


def effective_settings(
    *,
    carrier: str | None,
    inbound_allowed_addresses: list[str] | None,
    number_format: NumberFormat | None,
    sip_headers: dict[str, str] | None,
    sip_username: str | None,
) -> EffectiveSettings:
    """The number's values where set (an empty list is a value), else its profile's."""
    p = profile(carrier)
    addresses = (
        tuple(inbound_allowed_addresses)
        if inbound_allowed_addresses is not None
        else p.signalling_addresses
    )
    headers = sip_headers if sip_headers is not None else p.headers
    filled = {
        name: value.replace("{sip_username}", sip_username or "") for name, value in headers.items()
    }
    return EffectiveSettings(
        carrier=p.id,
        inbound_allowed_addresses=addresses,
        number_format=dial_format(p.id, number_format),
        sip_headers={k: v for k, v in filled.items() if v},
    )
