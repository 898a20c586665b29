"""Where a termination URI leads: transport, port and addresses (RFC 3263), under the policy.

The stored URI is a `sip:` host[:port]. A literal address is not looked up. A name with a port is
looked up for A/AAAA only. A name without a port looks up SRV first: for a given transport its
own name (`_sips._tcp`, `_sip._tcp`, `_sip._udp`); for `auto`, NAPTR records (SIPS+D2T, SIP+D2T,
SIP+D2U, by order and preference), else the first of those three SRV names that has records.
Without SRV the port is the carrier profile's default (else 5060, 5061 for TLS) and `auto` means
UDP, as RFC 3263 section 4.1 says. SRV targets are taken by priority, the heaviest first (a probe
wants the same answer each time, not RFC 2782's weighted draw). Every address of every target must
pass the destination policy; the probe then dials the first target. `localhost` names are never
sent to DNS (RFC 6761). SRV and NAPTR go through dnspython; A/AAAA through the event loop's
getaddrinfo (`talkifai_common.destinations.Resolver`), as LiveKit's dialer resolves them.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.resolver

from numbers_api.trunk_check import (
    CheckTarget,
    Outcome,
    StepStatus,
    lookup_failed,
    no_such_host,
    private_address,
)
from talkifai_common.destinations import Resolver, is_public_address, literal_address
from talkifai_common.events import SipTransport

SRV_PREFIXES = {
    SipTransport.TLS: "_sips._tcp",
    SipTransport.TCP: "_sip._tcp",
    SipTransport.UDP: "_sip._udp",
}
NAPTR_SERVICES = {
    "SIPS+D2T": SipTransport.TLS,
    "SIP+D2T": SipTransport.TCP,
    "SIP+D2U": SipTransport.UDP,
}
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Destination:
    """Where the probe goes: `host` is the URI's (the TLS identity and Request-URI host),
    `target` the name dialled (an SRV target or the host itself)."""

    host: str
    transport: SipTransport
    target: str
    port: int
    addresses: tuple[str, ...]


def default_port(transport: SipTransport, carrier_default: int | None) -> int:
    """The carrier profile's port, else SIP's: 5061 for TLS, 5060 otherwise."""
    return carrier_default or (5061 if transport == SipTransport.TLS else 5060)


def _fallback_transport(transport: SipTransport) -> SipTransport:
    """The transport without SRV records: as configured, UDP for `auto` (RFC 3263 4.1)."""
    return SipTransport.UDP if transport == SipTransport.AUTO else transport


def _is_loopback_name(host: str) -> bool:
    lowered = host.lower().rstrip(".")
    return lowered == "localhost" or lowered.endswith(".localhost")


async def locate(
    target: CheckTarget,
    *,
    resolver: Resolver,
    dns_resolver: dns.asyncresolver.Resolver | None,
    timeout_s: float,
) -> tuple[Outcome, Destination | None]:
    """The DNS step's outcome and, unless it failed, where to dial."""
    host, port = target.host, target.port
    literal = literal_address(host)
    if literal is not None:
        transport = _fallback_transport(target.transport)
        if not target.allow_private and not is_public_address(literal):
            return private_address(host, str(literal)), None
        chosen = Destination(
            host, transport, host, port or default_port(transport, target.default_port), (host,)
        )
        return Outcome(StepStatus.SKIPPED, f"{host} is an IP address: nothing to look up"), chosen
    if not target.allow_private and _is_loopback_name(host):
        return private_address(host, host), None

    srv: _Services | None = None
    warning = None
    if port is None and not _is_loopback_name(host):
        try:
            srv = await _services(host, target.transport, dns_resolver, timeout_s)
        except dns.exception.DNSException as exc:
            warning = f"the SRV lookup failed ({type(exc).__name__}); used {host} itself"
    if srv is not None:
        transport, targets = srv.transport, srv.targets
    else:
        transport = _fallback_transport(target.transport)
        targets = ((host, port or default_port(transport, target.default_port)),)

    addresses: list[tuple[str, ...]] = []
    for name, name_port in targets:
        outcome, found = await _addresses(name, name_port, target, resolver, timeout_s)
        if found is None:
            return outcome, None
        addresses.append(found)
    (first, first_port), first_addresses = targets[0], addresses[0]
    via = f" (SRV {srv.name}: {first}:{first_port})" if srv is not None else ""
    detail = f"{first} resolves to {', '.join(first_addresses)}{via}"
    chosen = Destination(host, transport, first, first_port, first_addresses)
    if warning:
        return Outcome(
            StepStatus.WARNING,
            f"{detail}; {warning}",
            "check the server's DNS resolver: LiveKit looks up the same SRV records",
        ), chosen
    return Outcome(StepStatus.OK, detail), chosen


async def _addresses(
    name: str, port: int, target: CheckTarget, resolver: Resolver, timeout_s: float
) -> tuple[Outcome, tuple[str, ...] | None]:
    """Every address of `name`, each under the destination policy."""
    try:
        async with asyncio.timeout(timeout_s):
            answers = await resolver(name, port)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_NAME:
            return no_such_host(name), None
        return lookup_failed(name, exc.strerror or str(exc)), None
    except TimeoutError:
        return lookup_failed(name, f"no answer within {timeout_s:g} s"), None
    except (OSError, UnicodeError) as exc:
        return lookup_failed(name, str(exc)), None
    found = [a for a in map(literal_address, answers) if a is not None]
    if not found:
        return no_such_host(name), None
    if not target.allow_private:
        for address in found:
            if not is_public_address(address):
                return private_address(name, str(address)), None
    return Outcome(StepStatus.OK, name), tuple(dict.fromkeys(str(a) for a in found))


@dataclass(frozen=True)
class _Services:
    transport: SipTransport
    name: str
    targets: tuple[tuple[str, int], ...]


async def _services(
    host: str,
    transport: SipTransport,
    dns_resolver: dns.asyncresolver.Resolver | None,
    timeout_s: float,
) -> _Services | None:
    """The SRV targets RFC 3263 leads to for `transport`, or None when the host publishes none."""
    resolver = dns_resolver or dns.asyncresolver.Resolver()
    if transport != SipTransport.AUTO:
        name = f"{SRV_PREFIXES[transport]}.{host}"
        targets = await _srv(resolver, name, timeout_s)
        return _Services(transport, name, targets) if targets else None
    naptrs = sorted(
        (r for r in await _query(resolver, host, "NAPTR", timeout_s) if r.flags.lower() == b"s"),
        key=lambda r: (r.order, r.preference),
    )
    for record in naptrs:
        chosen = NAPTR_SERVICES.get(record.service.decode("ascii", "replace").upper())
        if chosen is not None:
            name = record.replacement.to_text().rstrip(".")
            targets = await _srv(resolver, name, timeout_s)
            if targets:
                return _Services(chosen, name, targets)
    for candidate in (SipTransport.TLS, SipTransport.TCP, SipTransport.UDP):
        name = f"{SRV_PREFIXES[candidate]}.{host}"
        targets = await _srv(resolver, name, timeout_s)
        if targets:
            return _Services(candidate, name, targets)
    return None


async def _srv(
    resolver: dns.asyncresolver.Resolver, name: str, timeout_s: float
) -> tuple[tuple[str, int], ...]:
    records = sorted(
        await _query(resolver, name, "SRV", timeout_s), key=lambda r: (r.priority, -r.weight)
    )
    # RFC 2782: a lone target "." says the service is decidedly not offered.
    return tuple(
        (r.target.to_text().rstrip("."), r.port) for r in records if r.target.to_text() != "."
    )


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str, timeout_s: float
) -> list[Any]:
    try:
        answer = await resolver.resolve(name, rdtype, lifetime=timeout_s, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return list(answer)
