"""The trunk doctor's probe: check a number's SIP trunk the way LiveKit will reach it.

Five steps, each timed and told in plain language (`numbers_api.trunk_check`): DNS (RFC 3263
and the destination policy, `adapters.sip_dns`), a TCP connect (not for UDP), a TLS handshake
verified for the termination URI's host (`adapters.sip_tls`), a SIP OPTIONS
(`adapters.sip_transport`) and, when the carrier challenges it and the number has credentials,
the same OPTIONS with digest credentials. A step that fails ends the check: the later ones are
reported as not run. No exception leaves `check_trunk` for anything the carrier does; the
password is only ever hashed.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import UTC, datetime

import dns.asyncresolver
from sipmessage import Response

from numbers_api.adapters.sip_dns import Destination, locate
from numbers_api.adapters.sip_tls import handshake
from numbers_api.adapters.sip_transport import (
    Channel,
    ExchangeError,
    NoAnswer,
    NotSip,
    StreamChannel,
    UdpChannel,
    Unreachable,
)
from numbers_api.sip_options import (
    OptionsDialog,
    UnsupportedChallenge,
    challenges_of,
    digest_authorization,
)
from numbers_api.trunk_check import (
    CheckStep,
    CheckTarget,
    Outcome,
    StepName,
    StepStatus,
    TrunkCheck,
    connect_timeout,
    credentials_answer,
    credentials_missing,
    no_answer,
    not_challenged,
    not_run,
    not_sip,
    options_answer,
    refused,
    report,
    unsupported_challenge,
)
from talkifai_common.destinations import Resolver, system_resolver
from talkifai_common.events import SipTransport

TIMEOUT_S = 5.0  # for each network step


class _Steps:
    """The steps so far, each timed from the end of the one before."""

    def __init__(self) -> None:
        self.done: list[CheckStep] = []
        self._since = time.perf_counter()

    def add(self, name: StepName, outcome: Outcome) -> bool:
        """Record a step; False when it failed (the check stops there)."""
        now = time.perf_counter()
        self.done.append(
            CheckStep(
                name=name,
                status=outcome.status,
                detail=outcome.detail,
                fix=outcome.fix,
                duration_ms=round((now - self._since) * 1000, 1),
            )
        )
        self._since = now
        return outcome.status != StepStatus.FAILED

    def not_run(self) -> tuple[CheckStep, ...]:
        """Every step, those after the failed one reported as not run."""
        failed = self.done[-1].name
        for name in list(StepName)[len(self.done) :]:
            self.add(name, not_run(failed))
        return tuple(self.done)


async def check_trunk(
    target: CheckTarget,
    *,
    timeout_s: float = TIMEOUT_S,
    resolver: Resolver = system_resolver,
    dns_resolver: dns.asyncresolver.Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> TrunkCheck:
    """Check `target` step by step and say what to fix; `timeout_s` bounds each network step."""
    checked_at = datetime.now(UTC)
    steps = _Steps()
    outcome, destination = await locate(
        target, resolver=resolver, dns_resolver=dns_resolver, timeout_s=timeout_s
    )
    if not steps.add(StepName.DNS, outcome) or destination is None:
        return report(steps.not_run(), target=target, checked_at=checked_at, round_trip_ms=None)
    channel, round_trip_ms = None, None
    try:
        channel = await _open(destination, steps, ssl_context, timeout_s)
        if channel is not None:
            round_trip_ms = await _options_and_auth(channel, destination, target, steps, timeout_s)
    finally:
        if channel is not None:
            channel.close()
    done = tuple(steps.done) if len(steps.done) == len(StepName) else steps.not_run()
    return report(done, target=target, checked_at=checked_at, round_trip_ms=round_trip_ms)


async def _open(
    destination: Destination, steps: _Steps, ssl_context: ssl.SSLContext | None, timeout_s: float
) -> Channel | None:
    """The connect and TLS steps; the channel for OPTIONS, or None when a step failed."""
    transport = destination.transport
    if transport == SipTransport.UDP:
        try:
            udp = await UdpChannel.open(destination.addresses[0], destination.port)
        except OSError as exc:  # e.g. no route to an IPv6 address
            reason = exc.strerror or str(exc)
            steps.add(StepName.CONNECT, refused(destination.target, destination.port, reason))
            return None
        steps.add(
            StepName.CONNECT,
            Outcome(StepStatus.SKIPPED, "UDP has no connection: OPTIONS tells whether it answers"),
        )
        steps.add(StepName.TLS, Outcome(StepStatus.SKIPPED, "the transport is UDP: no TLS"))
        return udp
    outcome, connected = await _connect(destination, timeout_s)
    if not steps.add(StepName.CONNECT, outcome) or connected is None:
        return None
    address, reader, writer = connected
    if transport == SipTransport.TCP:
        steps.add(StepName.TLS, Outcome(StepStatus.SKIPPED, "the transport is TCP: no TLS"))
        return StreamChannel(reader, writer)
    outcome = await handshake(writer, destination, address, ssl_context, timeout_s)
    if not steps.add(StepName.TLS, outcome):
        writer.close()
        return None
    return StreamChannel(reader, writer)


async def _connect(
    destination: Destination, timeout_s: float
) -> tuple[Outcome, tuple[str, asyncio.StreamReader, asyncio.StreamWriter] | None]:
    """A TCP connection to the first address that takes one."""
    host, port = destination.target, destination.port
    outcome = refused(host, port)
    for address in destination.addresses:
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(address, port)
        except TimeoutError:
            outcome = connect_timeout(host, port, timeout_s)
        except ConnectionRefusedError:
            outcome = refused(host, port)
        except OSError as exc:
            outcome = refused(host, port, exc.strerror or str(exc))
        else:
            return Outcome(StepStatus.OK, f"TCP connected to {address}:{port}"), (
                address,
                reader,
                writer,
            )
    return outcome, None


async def _options_and_auth(
    channel: Channel,
    destination: Destination,
    target: CheckTarget,
    steps: _Steps,
    timeout_s: float,
) -> float | None:
    """The OPTIONS and auth steps; the OPTIONS round trip in ms when it was answered."""
    dialog = OptionsDialog(
        destination.host,
        destination.port,
        destination.transport,
        *channel.local,
        username=target.username,
    )
    first = dialog.request()
    started = time.perf_counter()
    try:
        response = await channel.exchange(first, timeout_s)
    except ExchangeError as exc:
        steps.add(StepName.OPTIONS, _exchange_failed(exc, destination, timeout_s))
        return None
    round_trip_ms = round((time.perf_counter() - started) * 1000, 1)
    if not steps.add(StepName.OPTIONS, options_answer(response.code, response.phrase)):
        return round_trip_ms
    outcome = await _authenticate(channel, dialog, destination, response, target, timeout_s)
    steps.add(StepName.AUTH, outcome)
    return round_trip_ms


async def _authenticate(
    channel: Channel,
    dialog: OptionsDialog,
    destination: Destination,
    response: Response,
    target: CheckTarget,
    timeout_s: float,
) -> Outcome:
    """Answer the carrier's challenge to OPTIONS with the number's credentials."""
    if response.code not in (401, 407):
        return not_challenged(target.has_credentials)
    if not target.has_credentials or target.username is None or target.password is None:
        return credentials_missing(response.code)
    challenges = challenges_of(response)
    if not challenges:
        return unsupported_challenge(f"the {response.code} carries no challenge")
    reasons = []
    for challenge in challenges:
        try:
            credentials = digest_authorization(
                challenge,
                method="OPTIONS",
                uri=str(dialog.uri),
                username=target.username,
                password=target.password.get_secret_value(),
            )
            break
        except UnsupportedChallenge as exc:
            reasons.append(str(exc))
    else:
        return unsupported_challenge("; ".join(reasons))
    try:
        request = dialog.request((challenge.answer_header, credentials))
        answer = await channel.exchange(request, timeout_s)
    except ExchangeError as exc:
        failed = _exchange_failed(exc, destination, timeout_s)
        return Outcome(failed.status, f"after our credentials, {failed.detail}", failed.fix)
    return credentials_answer(answer.code, answer.phrase, challenge.realm)


def _exchange_failed(exc: ExchangeError, destination: Destination, timeout_s: float) -> Outcome:
    if isinstance(exc, NoAnswer):
        return no_answer(destination.transport, timeout_s)
    if isinstance(exc, NotSip):
        return not_sip(str(exc))
    if isinstance(exc, Unreachable):
        return refused(destination.target, destination.port, str(exc))
    return no_answer(destination.transport, timeout_s)
