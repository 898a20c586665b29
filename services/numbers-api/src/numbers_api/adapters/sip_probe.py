"""The trunk doctor's probe: check a number's SIP trunk the way LiveKit will reach it.

Five steps, each timed and told in plain language (`numbers_api.trunk_check`): DNS (RFC 3263
and the destination policy, `adapters.sip_dns`), a TCP connect (not for UDP), a TLS handshake
verified against the termination URI's host (RFC 5922), a SIP OPTIONS (`adapters.sip_transport`)
and, when the carrier challenges it and the number has credentials, the same OPTIONS with digest
credentials. A step that fails ends the check: the later ones are reported as not run. No
exception leaves `check_trunk` for anything the carrier does; the password is only ever hashed.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from datetime import UTC, datetime, timedelta

import dns.asyncresolver
from cryptography import x509
from cryptography.x509.oid import NameOID
from sipmessage import Response

from numbers_api.adapters.sip_dns import Destination, locate
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
    certificate_expired,
    certificate_name_mismatch,
    certificate_not_yet_valid,
    certificate_untrusted,
    connect_timeout,
    credentials_answer,
    credentials_missing,
    handshake_failed,
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
RENEW_WARNING = timedelta(days=14)
# OpenSSL's X509_V_ERR_* codes that get their own explanation.
CERT_NOT_YET_VALID, CERT_HAS_EXPIRED, HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH = 9, 10, 62, 64


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
        return report(steps.not_run(), checked_at=checked_at, round_trip_ms=None)
    channel, round_trip_ms = None, None
    try:
        channel = await _open(destination, steps, ssl_context, timeout_s)
        if channel is not None:
            round_trip_ms = await _options_and_auth(channel, destination, target, steps, timeout_s)
    finally:
        if channel is not None:
            channel.close()
    done = tuple(steps.done) if len(steps.done) == len(StepName) else steps.not_run()
    return report(done, checked_at=checked_at, round_trip_ms=round_trip_ms)


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
    outcome = await _handshake(writer, destination, address, ssl_context, timeout_s)
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


async def _handshake(
    writer: asyncio.StreamWriter,
    destination: Destination,
    address: str,
    ssl_context: ssl.SSLContext | None,
    timeout_s: float,
) -> Outcome:
    """TLS over the connection, the certificate verified for the URI's host."""
    context = ssl_context or ssl.create_default_context()
    try:
        await writer.start_tls(
            context, server_hostname=destination.host, ssl_handshake_timeout=timeout_s
        )
    except ssl.SSLCertVerificationError as exc:
        certificate = await _peer_certificate(address, destination, timeout_s)
        return _refused_certificate(exc, certificate, destination.host)
    except (ssl.SSLError, OSError, TimeoutError) as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        return handshake_failed(destination.target, destination.port, reason)
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if der is None:
        return Outcome(StepStatus.OK, f"TLS {ssl_object.version() if ssl_object else ''}".strip())
    certificate = x509.load_der_x509_certificate(der)
    expires = certificate.not_valid_after_utc
    detail = (
        f"{ssl_object.version()}; certificate for {', '.join(_names(certificate))} issued by "
        f"{_issuer(certificate)}, valid until {expires:%Y-%m-%d}"
    )
    if expires - datetime.now(UTC) < RENEW_WARNING:
        return Outcome(
            StepStatus.WARNING,
            detail,
            f"the certificate expires on {expires:%Y-%m-%d}: ask the carrier when it renews it",
        )
    return Outcome(StepStatus.OK, detail)


async def _peer_certificate(
    address: str, destination: Destination, timeout_s: float
) -> x509.Certificate | None:
    """The certificate the carrier presents, read over a second, unverified handshake (only to
    explain why verification failed; nothing is sent on it)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(
                address, destination.port, ssl=context, server_hostname=destination.host
            )
    except (OSError, TimeoutError):
        return None
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        return x509.load_der_x509_certificate(der) if der else None
    finally:
        writer.close()


def _refused_certificate(
    exc: ssl.SSLCertVerificationError, certificate: x509.Certificate | None, host: str
) -> Outcome:
    """Why verification failed, in the certificate's own words when it could be read."""
    reason = exc.verify_message or str(exc)
    if certificate is None:
        return certificate_untrusted("an unreadable issuer", reason)
    now = datetime.now(UTC)
    if exc.verify_code == CERT_HAS_EXPIRED or certificate.not_valid_after_utc < now:
        return certificate_expired(host, certificate.not_valid_after_utc)
    if exc.verify_code == CERT_NOT_YET_VALID or certificate.not_valid_before_utc > now:
        return certificate_not_yet_valid(certificate.not_valid_before_utc)
    if exc.verify_code in (HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH):
        return certificate_name_mismatch(host, _names(certificate))
    return certificate_untrusted(_issuer(certificate), reason)


def _names(certificate: x509.Certificate) -> list[str]:
    """The DNS names and addresses a certificate is for (its common name without any)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        names = san.get_values_for_type(x509.DNSName) + [
            str(a) for a in san.get_values_for_type(x509.IPAddress)
        ]
        if names:
            return names
    return [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def _issuer(certificate: x509.Certificate) -> str:
    common = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else certificate.issuer.rfc4514_string()


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
