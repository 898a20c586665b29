"""Where a customer-given destination may be reached: one policy for webhook URLs and SIP hosts.

A destination is public when every address it names or resolves to is globally routable: Python's
`is_global`, minus every entry of the IANA IPv4 and IPv6 special-purpose address registries, minus
multicast. Addresses that carry an IPv4 address inside (IPv4-mapped, 6to4, NAT64 `64:ff9b::/96`,
Teredo) are judged by the IPv4 address they carry, so `::ffff:127.0.0.1` or `2002:7f00:1::` cannot
smuggle loopback through. URLs are parsed with httpx, the client that delivers them, so whatever is
accepted here can also be sent.

Validation (numbers-api) checks syntax and literal addresses without DNS, so a resolver hiccup
never fails a save; connection time (webhook delivery, trunk-sync writing the outbound trunk)
resolves the host and checks every address it gets.

Errors:
    DestinationError        base; `retryable` says whether asking again later may help
    ├── DestinationRefused  not allowed or not usable: bad URL, private address, no such name
    └── ResolutionFailed    the resolver could not answer now (timeout, EAI_AGAIN...): retryable
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to; raises socket.gaierror / OSError like getaddrinfo.
Resolver = Callable[[str, int], Awaitable[list[str]]]
RESOLVE_TIMEOUT_S = 5.0

# https://www.iana.org/assignments/iana-ipv4-special-registry and iana-ipv6-special-registry:
# every entry, including the few marked globally reachable (AS112, AMT, anycast relays), as no
# customer endpoint lives there.
SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "255.255.255.255/32",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "100:0:0:1::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "2620:4f:8000::/48",
        "3fff::/20",
        "5f00::/16",
        "fc00::/7",
        "fe80::/10",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# RFC 6761: these names are loopback by definition, whatever a resolver says.
_LOOPBACK_NAMES = ("localhost", "localhost.")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class DestinationError(Exception):
    """Base of the policy's refusals."""

    retryable = False


class DestinationRefused(DestinationError):
    """The destination may not be reached (or cannot be, as written)."""


class ResolutionFailed(DestinationError):
    """The host could not be resolved now; a later attempt may succeed."""

    retryable = True


def is_public_address(address: IPAddress) -> bool:
    """True when `address` (or the IPv4 address it carries) is globally routable."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded:
            # Teredo (2001::/32) stays refused whatever it carries: IANA lists it as not global.
            return all(is_public_address(v4) for v4 in embedded) and address not in _TEREDO
        # Deprecated site-local space, IPv4-compatible `::a.b.c.d` and unassigned space
        # (`is_reserved`) are not special-purpose entries but reach nobody we should call.
        if address.is_site_local or address.is_reserved:
            return False
    return (
        address.is_global
        and not address.is_multicast
        and not any(address in network for network in SPECIAL_PURPOSE)
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def literal_address(host: str) -> IPAddress | None:
    """The IP address `host` spells (brackets and zone allowed), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def is_hostname(host: str) -> bool:
    """A DNS name in ASCII (LDH labels) whose last label is not numeric, so `127.1` or
    `2130706433` (which resolvers read as addresses) are not names."""
    if not host or len(host) > 253:
        return False
    labels = host.lower().rstrip(".").split(".")
    return all(_HOST_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def check_host(host: str, *, what: str, allow_private: bool) -> None:
    """Refuse a literal non-public address or a loopback name; names are checked when resolved."""
    if allow_private:
        return
    address = literal_address(host)
    if address is not None and not is_public_address(address):
        raise DestinationRefused(f"{what} must be a globally routable address, not {address}")
    lowered = host.lower()
    if lowered in _LOOPBACK_NAMES or lowered.rstrip(".").endswith(".localhost"):
        raise DestinationRefused(f"{what} must not point to a loopback host")


@dataclass(frozen=True)
class DestinationUrl:
    """An http(s) destination (a webhook, a model server) as httpx reads it: scheme, ASCII host
    (IDNA-encoded) and port."""

    url: httpx.URL
    host: str
    port: int


def parse_destination_url(
    raw: str, *, what: str = "Webhook URL", example: str = "https://example.com/hooks"
) -> DestinationUrl:
    """The URL httpx will send to, or DestinationRefused naming the rule it breaks."""
    if _CONTROL.search(raw):
        raise DestinationRefused(f"{what} must not contain spaces or control characters")
    try:
        url = httpx.URL(raw)
        # httpx decodes the IDNA form when it sends (proxy matching): `xn--a` fails there.
        display_host = url.host
    except httpx.InvalidURL as exc:
        raise DestinationRefused(f"{what} is not a valid URL: {exc}") from exc
    except UnicodeError as exc:
        raise DestinationRefused(f"{what} host is not a valid internationalized name") from exc
    if url.scheme not in ("http", "https") or not display_host:
        raise DestinationRefused(f"{what} must be an absolute http or https URL, e.g. {example}")
    if url.userinfo:
        raise DestinationRefused(f"{what} must not carry credentials")
    if url.port is not None and not 1 <= url.port <= 65535:
        raise DestinationRefused(f"{what} port must be a number from 1 to 65535")
    host = url.raw_host.decode("ascii")
    if literal_address(host) is None and not is_hostname(host):
        raise DestinationRefused(f"{what} host must be a valid hostname or IP address")
    return DestinationUrl(url, host, url.port or (443 if url.scheme == "https" else 80))


def validate_webhook_url(raw: str, *, allow_private: bool) -> str:
    """`raw` when it is a deliverable http(s) URL, not to a literal non-public address."""
    parsed = parse_destination_url(raw)
    check_host(parsed.host, what="Webhook URL", allow_private=allow_private)
    return raw


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host` (getaddrinfo, in a thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_public(
    host: str,
    port: int,
    *,
    what: str,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    timeout_s: float = RESOLVE_TIMEOUT_S,
) -> list[IPAddress]:
    """Every address `host` resolves to now, refused unless all are public (or allowed)."""
    check_host(host, what=what, allow_private=allow_private)
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        async with asyncio.timeout(timeout_s):
            answers = await resolver(host, port)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_NAME:
            raise DestinationRefused(f"{what} host {host} does not resolve") from exc
        raise ResolutionFailed(f"{what} host {host} could not be resolved now: {exc}") from exc
    except (OSError, TimeoutError) as exc:
        raise ResolutionFailed(f"{what} host {host} could not be resolved now") from exc
    except UnicodeError as exc:
        raise DestinationRefused(f"{what} host {host} is not a valid name") from exc
    found = [a for a in map(literal_address, answers) if a is not None]
    if not found:
        raise DestinationRefused(f"{what} host {host} does not resolve")
    if not allow_private:
        for address in found:
            if not is_public_address(address):
                raise DestinationRefused(
                    f"{what} host {host} resolves to {address}, which is not globally routable"
                )
    return found


def split_sip_host(host_port: str) -> tuple[str, int | None]:
    """`host`, `host:port` or `[v6]:port` (a stored termination URI) as host and port."""
    if host_port.startswith("["):
        host, _, rest = host_port[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = host_port.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return host_port, None


async def check_sip_destination(
    host_port: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> None:
    """Refuse a SIP termination host that is, or resolves to, a non-public address.

    LiveKit's SIP service resolves the host again when it dials (and may follow SRV records), so
    this catches what the host says now; validation and this check together refuse every literal.
    """
    host, port = split_sip_host(host_port)
    if allow_private:
        return
    await resolve_public(
        host, port or 5060, what="Termination URI", allow_private=False, resolver=resolver
    )
