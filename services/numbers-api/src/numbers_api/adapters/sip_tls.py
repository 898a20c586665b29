"""The TLS step: a handshake verified for the termination URI's host (RFC 5922: the identity is
the URI's domain, not an SRV target), and, when verification fails, the certificate read again
over an unverified handshake so that the fix can say when it expired or which names it is for.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID

from numbers_api.adapters.sip_dns import Destination
from numbers_api.trunk_check import (
    Outcome,
    StepStatus,
    certificate_expired,
    certificate_name_mismatch,
    certificate_not_yet_valid,
    certificate_untrusted,
    handshake_failed,
)

RENEW_WARNING = timedelta(days=14)
# OpenSSL's X509_V_ERR_* codes that get their own explanation.
CERT_NOT_YET_VALID, CERT_HAS_EXPIRED, HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH = 9, 10, 62, 64


async def handshake(
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
