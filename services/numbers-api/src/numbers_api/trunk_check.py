"""The trunk doctor's report: what one check of a number's SIP trunk found, and what to do.

`adapters.sip_probe.check_trunk` runs the steps against the carrier (DNS, TCP connect, TLS, a SIP
OPTIONS, digest authentication); this module holds what is pure: the target, the verdict, the
summary and the plain-language outcome of each step. The report is the event contract's
`PhoneNumberCheck` (named `TrunkCheck` here), so the route, the event and the Studio read one shape. A detail or fix never carries the password.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from talkifai_common.destinations import split_sip_host
from talkifai_common.events import CheckStep, SipTransport
from talkifai_common.events import CheckStepName as StepName
from talkifai_common.events import CheckStepStatus as StepStatus
from talkifai_common.events import CheckVerdict as Verdict
from talkifai_common.events import PhoneNumberCheck as TrunkCheck

__all__ = ["CheckStep", "CheckTarget", "StepName", "StepStatus", "TrunkCheck", "Verdict"]

PRIVATE_ADDRESS_FIX = (
    "use the carrier's public SIP host: calls are never placed to private or loopback addresses "
    "(a lab can allow them with ALLOW_PRIVATE_SIP_DESTINATIONS)"
)
CREDENTIALS_MISSING_FIX = "the carrier asks for credentials: store the SIP username and password it gave you on the number"


class CheckTarget(BaseModel):
    """What to check: a number's termination host and how LiveKit reaches it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    termination_uri: str = Field(description="host[:port] as stored (parse_termination_uri).")
    transport: SipTransport = Field(
        description="udp, tcp or tls; auto follows RFC 3263 (NAPTR, then SRV, else UDP)."
    )
    default_port: int | None = Field(
        default=None, ge=1, le=65535, description="The carrier profile's port, when no SRV says."
    )
    username: str | None = None
    password: SecretStr | None = None
    allow_private: bool = Field(
        default=False, description="The destination policy switch (private hosts allowed)."
    )

    @property
    def host(self) -> str:
        """The host of the termination URI, without brackets."""
        return split_sip_host(self.termination_uri)[0]

    @property
    def port(self) -> int | None:
        """The port the termination URI names, if any."""
        return split_sip_host(self.termination_uri)[1]

    def describe(self) -> str:
        """What is probed, for people: `acme.pstn.twilio.com over tls`."""
        return f"{self.termination_uri} over {self.transport.value}"

    @property
    def has_credentials(self) -> bool:
        """Whether a username and a password are stored."""
        return bool(self.username) and self.password is not None


class Outcome(NamedTuple):
    """A step's result before it is timed: status, what happened, what to do."""

    status: StepStatus
    detail: str
    fix: str | None = None


def verdict_of(steps: tuple[CheckStep, ...]) -> Verdict:
    """Failing if any step failed, degraded if any warned, else healthy."""
    statuses = {step.status for step in steps}
    if StepStatus.FAILED in statuses:
        return Verdict.FAILING
    if StepStatus.WARNING in statuses:
        return Verdict.DEGRADED
    return Verdict.HEALTHY


def summarize(steps: tuple[CheckStep, ...], round_trip_ms: float | None) -> str:
    """One sentence: the first failure, else the first warning, else the round trip."""
    for status, lead in (
        (StepStatus.FAILED, "fails"),
        (StepStatus.WARNING, "works with a warning"),
    ):
        first = next((s for s in steps if s.status == status), None)
        if first is not None:
            return f"The trunk {lead} at the {first.name.value} step: {first.detail}."
    if round_trip_ms is None:
        return "Every step passed."
    return f"Every step passed: the carrier answered OPTIONS in {round_trip_ms:.0f} ms."


def report(
    steps: tuple[CheckStep, ...],
    *,
    target: CheckTarget,
    checked_at: datetime,
    round_trip_ms: float | None,
) -> TrunkCheck:
    """The report of a finished check."""
    return TrunkCheck(
        verdict=verdict_of(steps),
        target=target.describe(),
        checked_at=checked_at,
        round_trip_ms=round_trip_ms,
        steps=steps,
        summary=summarize(steps, round_trip_ms),
    )


def not_run(after: StepName) -> Outcome:
    """A step that could not run because an earlier one failed."""
    return Outcome(StepStatus.SKIPPED, f"not run: the {after.value} step failed")


# DNS


def private_address(host: str, address: str) -> Outcome:
    """A destination the policy refuses: nothing is sent to it."""
    where = f"{host} is" if host == address else f"{host} resolves to {address}, which is"
    return Outcome(
        StepStatus.FAILED,
        f"{where} not a globally routable address; no connection was made",
        PRIVATE_ADDRESS_FIX,
    )


def no_such_host(host: str) -> Outcome:
    """The name does not exist (NXDOMAIN) or has no address."""
    return Outcome(
        StepStatus.FAILED,
        f"{host} does not resolve to any address",
        f"check {host} in the termination URI for a typo, or ask the carrier for its SIP host",
    )


def lookup_failed(host: str, reason: str) -> Outcome:
    """The resolver could not answer now."""
    return Outcome(
        StepStatus.FAILED,
        f"the DNS lookup of {host} failed: {reason}",
        "try again in a minute; if it persists, check the DNS resolver of the server",
    )


# Connect


def refused(host: str, port: int, reason: str = "refused") -> Outcome:
    """A closed port, a reset, or a UDP port unreachable."""
    return Outcome(
        StepStatus.FAILED,
        f"the connection to {host}:{port} failed: {reason}",
        f"nothing answers on {host}:{port}; check the port and the carrier's firewall",
    )


def connect_timeout(host: str, port: int, timeout_s: float) -> Outcome:
    """No answer to a TCP connection: usually a firewall dropping it."""
    return Outcome(
        StepStatus.FAILED,
        f"no answer to a TCP connection to {host}:{port} within {timeout_s:g} s",
        f"nothing answers on {host}:{port}; check the port and the carrier's firewall "
        "(it may drop connections from addresses it does not know)",
    )


# TLS


def certificate_expired(host: str, expired_on: datetime) -> Outcome:
    """The carrier's certificate is past its end date."""
    return Outcome(
        StepStatus.FAILED,
        f"certificate expired on {expired_on:%Y-%m-%d %H:%M} UTC",
        f"ask the carrier to renew the TLS certificate of {host}; until then calls over TLS fail",
    )


def certificate_not_yet_valid(valid_from: datetime) -> Outcome:
    """The certificate's start date is in the future (or the server clock is wrong)."""
    return Outcome(
        StepStatus.FAILED,
        f"certificate is valid only from {valid_from:%Y-%m-%d %H:%M} UTC",
        "check the clock of this server, or ask the carrier about its new certificate",
    )


def certificate_name_mismatch(host: str, names: list[str]) -> Outcome:
    """The certificate names other hosts than the one we dial."""
    listed = ", ".join(names) if names else "no host name"
    return Outcome(
        StepStatus.FAILED,
        f"certificate is for {listed}, not {host}",
        "use the host name the certificate names as the termination URI, or ask the carrier "
        "for its TLS host name",
    )


def certificate_untrusted(issuer: str, reason: str) -> Outcome:
    """The chain does not lead to an authority we trust."""
    return Outcome(
        StepStatus.FAILED,
        f"certificate issued by {issuer} is not trusted: {reason}",
        "ask the carrier for a certificate from a public certificate authority and for its "
        "complete chain",
    )


def handshake_failed(host: str, port: int, reason: str) -> Outcome:
    """The port answers TCP but not TLS (or the handshake broke off)."""
    return Outcome(
        StepStatus.FAILED,
        f"the TLS handshake with {host}:{port} failed: {reason}",
        f"check that {host}:{port} speaks TLS (usually port 5061), or choose the transport the "
        "carrier uses",
    )


# OPTIONS


def no_answer(transport: SipTransport, timeout_s: float) -> Outcome:
    """Nothing came back to OPTIONS."""
    return Outcome(
        StepStatus.FAILED,
        f"the carrier did not answer OPTIONS within {timeout_s:g} s over {transport.value}",
        "check the termination URI, port and transport, and that the carrier's firewall "
        "allows this server's public address",
    )


def not_sip(reason: str) -> Outcome:
    """Something answered, but not with SIP."""
    return Outcome(
        StepStatus.FAILED,
        f"the answer to OPTIONS is not a SIP response ({reason})",
        "check that the termination URI points at the carrier's SIP service and port",
    )


def options_answer(code: int, phrase: str) -> Outcome:
    """What the first answer to OPTIONS means (a challenge is read by the auth step)."""
    said = f"the carrier answered OPTIONS with {code} {phrase}"
    if 200 <= code < 300 or code in (401, 407):
        return Outcome(StepStatus.OK, said)
    if 300 <= code < 400:
        return Outcome(
            StepStatus.WARNING, said, "use the host the carrier redirects to as termination URI"
        )
    if code == 403:
        return Outcome(
            StepStatus.WARNING,
            said,
            "the carrier refuses this server: allow its public IP in the carrier's IP access "
            "list, or store the carrier's credentials on the number",
        )
    if code == 404:
        return Outcome(
            StepStatus.WARNING,
            said,
            "the carrier does not know this SIP domain: check the termination URI against the "
            "host in the carrier's console",
        )
    if code in (405, 501):
        return Outcome(
            StepStatus.WARNING,
            said,
            "the carrier does not answer OPTIONS (it is reachable, but the call path is not "
            "proven): place a test call",
        )
    if code < 500:
        return Outcome(
            StepStatus.WARNING, said, "check the trunk's settings in the carrier's console"
        )
    return Outcome(
        StepStatus.FAILED,
        said,
        "the carrier reports a problem on its side: try again later, and contact the carrier if "
        "it persists",
    )


# Auth


def not_challenged(has_credentials: bool) -> Outcome:
    """OPTIONS was answered without a challenge."""
    if has_credentials:
        return Outcome(
            StepStatus.SKIPPED,
            "the carrier did not challenge OPTIONS (many do not); the credentials are checked "
            "on the first call's INVITE",
        )
    return Outcome(StepStatus.SKIPPED, "no credentials are stored and the carrier asked for none")


def credentials_missing(code: int) -> Outcome:
    """The carrier challenged and the number has no credentials."""
    return Outcome(
        StepStatus.FAILED,
        f"the carrier asks for credentials ({code}) and the number has none",
        CREDENTIALS_MISSING_FIX,
    )


def unsupported_challenge(reason: str) -> Outcome:
    """A challenge the probe cannot answer (LiveKit may still)."""
    return Outcome(StepStatus.WARNING, f"the carrier's challenge cannot be checked here: {reason}")


def credentials_answer(code: int, phrase: str, realm: str) -> Outcome:
    """What the carrier said to our digest credentials."""
    said = f"the carrier answered {code} {phrase} to our credentials (realm {realm!r})"
    if 200 <= code < 300:
        return Outcome(StepStatus.OK, f"the carrier accepted our credentials (realm {realm!r})")
    if code in (401, 403, 407):
        return Outcome(
            StepStatus.FAILED,
            said,
            f"carrier answered {code} to our credentials: check the username and password on the "
            "number and the carrier's credential list",
        )
    return Outcome(StepStatus.WARNING, said, options_answer(code, phrase).fix)
