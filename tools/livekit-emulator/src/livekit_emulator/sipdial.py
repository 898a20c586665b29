"""Outbound calls over SIP: the INVITE livekit/sip sends for CreateSIPParticipant.

As `pkg/sip/client.go` and `outbound.go` build it: Request-URI and To `sip:<sip_call_to>@<trunk
address>` (To user replaced by `to_user_override`), From `"<number>" <sip:<number>@<our
host>>;tag=...`, `;transport=udp|tcp|tls` on the three URIs unless the trunk's transport is AUTO
(which goes over UDP), Contact, `Allow`, `Content-Type: application/sdp` with a G.711 offer, then
the trunk's and the request's headers sorted by name. A 401/407 is answered with a digest of the
trunk's credentials (the digest URI is the To URI, as livekit/sip computes it), up to five
INVITEs in all. Any 18x makes the call ring; the final response is ACKed; the ringing timeout
CANCELs the INVITE.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livekit.protocol.models import DisconnectReason
from livekit.protocol.sip import SIPTransport
from sipmessage import URI, AuthChallenge, Request, Response

from livekit_emulator import errors, sipdigest, siprtp, sipsdp
from livekit_emulator.errors import TwirpError
from livekit_emulator.sipdialog import (
    ALLOW,
    T1,
    USER_AGENT,
    Dialog,
    branch_of,
    describe,
    new_branch,
)
from livekit_emulator.siptransport import Peer
from livekit_emulator.state import CallRecord

if TYPE_CHECKING:
    from livekit_emulator.sipedge import SipEdge

log = logging.getLogger("livekit_emulator.sip")

AUTH_MAX_RETRY = "max auth retry attempts reached for SIP invite"
AUTH_MISSING_CREDS = "sip server required auth, but no username or password was provided"
AUTH_NO_HEADER = "no auth header in sip invite response"
REQUEST_TIMEOUT = "sip request timed out"
MAX_INVITES = 5
# The codes livekit/sip reports as "INVITE failed" (their text is the body, when there is one).
INVITE_FAILED = frozenset({400, 404, 480, 486, 488})

TRANSPORT_NAMES: dict[int, str] = {
    SIPTransport.SIP_TRANSPORT_AUTO: "UDP",
    SIPTransport.SIP_TRANSPORT_UDP: "UDP",
    SIPTransport.SIP_TRANSPORT_TCP: "TCP",
    SIPTransport.SIP_TRANSPORT_TLS: "TLS",
}


class DialFailed(errors.EmulatorError):
    """The INVITE did not come to a final response LiveKit reports by its SIP status."""

    def __init__(
        self, error: TwirpError, disconnect: int, code: int | None = None, reason: str | None = None
    ) -> None:
        super().__init__(error.msg)
        self.error = error
        self.disconnect = disconnect
        self.code = code
        self.reason = reason


@dataclass
class DialTarget:
    """Where and how to send the INVITE (from the outbound trunk and the request)."""

    transport: int
    host: str
    port: int | None
    call_to: str
    number: str
    to_user_override: str = ""
    display_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    username: str = ""
    password: str = ""


def split_address(address: str) -> tuple[str, int | None]:
    """A trunk address `host`, `host:port` or `[v6]:port` as host and port."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, int(port) if port.isdigit() else None
    return address, None


def _hostport(host: str, port: int | None) -> str:
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


class _Invite:
    """One outbound call's INVITE transactions, ACKs, CANCEL and, once answered, its dialog."""

    def __init__(self, edge: SipEdge, call: CallRecord, target: DialTarget) -> None:
        self.edge = edge
        self.call = call
        self.target = target
        self.name = TRANSPORT_NAMES.get(target.transport, "UDP")
        params = (
            ""
            if target.transport == SIPTransport.SIP_TRANSPORT_AUTO
            else f";transport={self.name.lower()}"
        )
        where = _hostport(target.host, target.port)
        self.uri = URI.parse(f"sip:{target.call_to}@{where}{params}")
        self.to = f"<sip:{target.to_user_override or target.call_to}@{where}{params}>"
        self.from_tag = secrets.token_hex(8)
        self.params = params
        self.call_id = secrets.token_hex(16)
        self.cseq = 1

    def build(self, peer: Peer, offer: bytes, auth: tuple[str, str] | None) -> Request:
        """The INVITE of this attempt (a new branch each time)."""
        edge, target = self.edge, self.target
        local = edge.advertised_host(peer.host)
        display = target.display_name if target.display_name is not None else target.number
        name = f'"{display}" ' if display else ""
        self.from_ = f"{name}<sip:{target.number}@{_hostport(local, None)}{self.params}>"
        self.from_ += f";tag={self.from_tag}"
        request = Request("INVITE", self.uri, offer)
        request.headers.set("Via", edge.via(peer, new_branch()))
        request.headers.set("Max-Forwards", "70")
        request.headers.set("Call-ID", self.call_id)
        request.headers.set("CSeq", f"{self.cseq} INVITE")
        request.headers.set("To", self.to)
        request.headers.set("From", self.from_)
        request.headers.set("Content-Type", "application/sdp")
        request.headers.set("Contact", edge.contact(peer))
        request.headers.set("Allow", ALLOW)
        request.headers.set("User-Agent", USER_AGENT)
        if auth is not None:
            request.headers.set(auth[0], auth[1])
        for key, value in target.headers.items():
            request.headers.add(key, value)
        return request


async def invite(
    edge: SipEdge,
    call: CallRecord,
    target: DialTarget,
    ringing_timeout: float,
    on_ringing: Callable[[], None],
) -> tuple[int, str | None]:
    """Place the call; the carrier's final status and reason (2xx: answered, dialog set up).

    Raises `DialFailed` for what LiveKit reports without a SIP status (unreachable, auth given
    up, ringing timeout)."""
    state = _Invite(edge, call, target)
    port = target.port or (5061 if state.name == "TLS" else 5060)
    try:
        peer = await asyncio.wait_for(edge.transport.connect(state.name, target.host, port), 10)
    except (OSError, TimeoutError) as exc:
        err = errors.from_psrpc("unavailable", f"INVITE failed: {exc}")
        raise DialFailed(err, DisconnectReason.SIP_TRUNK_FAILURE) from exc
    local = edge.advertised_host(peer.host)
    rtp = await siprtp.open_rtp(local)
    offer = sipsdp.offer(local, rtp.port)
    sent: list[dict[str, Any]] = []
    call.sip = {
        "transport": state.name,
        "destination": peer.address,
        "invites": sent,
        "rtp": rtp.stats,
    }
    deadline = asyncio.get_running_loop().time() + ringing_timeout
    auth: tuple[str, str] | None = None
    answered = False
    request: Request | None = None
    try:
        for _ in range(MAX_INVITES):
            request = state.build(peer, offer, auth)
            entry = describe(request)
            sent.append(entry)
            response = await _transaction(edge, request, peer, deadline, entry, on_ringing)
            if response is None:
                _cancel(edge, request, peer)
                err = errors.from_psrpc("canceled", REQUEST_TIMEOUT)
                raise DialFailed(err, DisconnectReason.USER_UNAVAILABLE)
            edge.close_client(branch_of(request))
            if response.code < 300:
                _ack_ok(edge, request, response, peer)
                try:
                    rtp.negotiated(sipsdp.read_answer(response.body))
                except (sipsdp.NoCommonMedia, ValueError):
                    # livekit/sip would give the call up; here it stays up without audio.
                    log.warning("no usable sdp answer", extra={"sip_call_id": call.sip_call_id})
                contact = response.contact
                dialog = Dialog(
                    edge=edge,
                    peer=peer,
                    sip_call_id=call.sip_call_id,
                    call_id=state.call_id,
                    local_tag=state.from_tag,
                    local=state.from_,
                    remote=response.headers["To"],
                    target=contact[0].uri if contact else state.uri,
                    cseq=state.cseq + 1,
                    rtp=rtp,
                    local_sdp=offer,
                )
                edge.register(dialog)
                call.line = dialog
                answered = True
                return response.code, response.phrase
            _ack_failure(edge, request, response, peer)
            if response.code in (401, 407):
                auth = _answer_challenge(state, request, response)
                state.cseq += 1
                continue
            reason = response.phrase
            if response.code in INVITE_FAILED:
                if response.body:
                    reason = response.body.decode(errors="replace")
                elif response.headers.get("X-Twilio-Error"):
                    reason = response.headers["X-Twilio-Error"]
            return response.code, reason
        err = errors.from_psrpc("failed_precondition", AUTH_MAX_RETRY)
        raise DialFailed(err, DisconnectReason.USER_REJECTED)
    except asyncio.CancelledError:
        if request is not None and not answered:
            _cancel(edge, request, peer)
        raise
    except DialFailed:
        if request is not None:
            edge.close_client(branch_of(request))
        raise
    finally:
        if not answered:
            rtp.close()


def _answer_challenge(state: _Invite, request: Request, response: Response) -> tuple[str, str]:
    target = state.target
    if response.code == 401:
        challenge_name, answer_name = "WWW-Authenticate", "Authorization"
    else:
        challenge_name, answer_name = "Proxy-Authenticate", "Proxy-Authorization"
    if not target.username or not target.password:
        err = errors.from_psrpc("failed_precondition", AUTH_MISSING_CREDS)
        raise DialFailed(err, DisconnectReason.USER_REJECTED, response.code, response.phrase)
    header = response.headers.get(challenge_name)
    if header is None:
        err = errors.from_psrpc("failed_precondition", AUTH_NO_HEADER)
        raise DialFailed(err, DisconnectReason.USER_REJECTED, response.code, response.phrase)
    try:
        offered = AuthChallenge.parse(header)
    except ValueError as exc:
        err = errors.from_psrpc("internal", f"invalid challenge {header!r}: {exc}")
        raise DialFailed(err, DisconnectReason.USER_REJECTED, response.code) from exc
    value = sipdigest.answer(
        offered,
        method=request.method,
        uri=str(response.to_address.uri),
        username=target.username,
        password=target.password,
    )
    return answer_name, value


async def _transaction(
    edge: SipEdge,
    request: Request,
    peer: Peer,
    deadline: float,
    entry: dict[str, Any],
    on_ringing: Callable[[], None],
) -> Response | None:
    """Send the INVITE (resent over UDP until a provisional answer) and wait for a final one;
    None when the deadline passes first. The transaction stays open for the caller to close
    (or to CANCEL)."""
    queue = edge.open_client(branch_of(request))
    loop = asyncio.get_running_loop()
    interval = T1
    retransmit = peer.transport == "UDP"
    responses: list[dict[str, Any]] = []
    entry["responses"] = responses
    edge.transport.send(request, peer)
    while (left := deadline - loop.time()) > 0:
        wait = min(left, interval) if retransmit else left
        try:
            response = await asyncio.wait_for(queue.get(), wait)
        except TimeoutError:
            if retransmit:
                edge.transport.send(request, peer)
                interval = min(interval * 2, 4.0)
            continue
        if response.cseq.method != "INVITE":
            continue
        responses.append({"code": response.code, "reason": response.phrase})
        retransmit = False
        if response.code < 200:
            if response.code >= 180:
                on_ringing()
            continue
        return response
    return None


def _ack_failure(edge: SipEdge, request: Request, response: Response, peer: Peer) -> None:
    """RFC 3261 §17.1.1.3: the ACK of a non-2xx final response (same branch and Request-URI)."""
    ack = Request("ACK", request.uri)
    ack.headers.set("Via", request.headers["Via"])
    ack.headers.set("Max-Forwards", "70")
    ack.headers.set("From", request.headers["From"])
    ack.headers.set("To", response.headers["To"])
    ack.headers.set("Call-ID", request.headers["Call-ID"])
    ack.headers.set("CSeq", f"{request.cseq.sequence} ACK")
    edge.transport.send(ack, peer)


def _ack_ok(edge: SipEdge, request: Request, response: Response, peer: Peer) -> None:
    """The ACK of a 2xx: a new transaction to the far end's Contact."""
    contact = response.contact
    ack = Request("ACK", contact[0].uri if contact else request.uri)
    ack.headers.set("Via", edge.via(peer, new_branch()))
    ack.headers.set("Max-Forwards", "70")
    ack.headers.set("From", request.headers["From"])
    ack.headers.set("To", response.headers["To"])
    ack.headers.set("Call-ID", request.headers["Call-ID"])
    ack.headers.set("CSeq", f"{request.cseq.sequence} ACK")
    edge.transport.send(ack, peer)


def _cancel(edge: SipEdge, request: Request, peer: Peer) -> None:
    """CANCEL the pending INVITE (same branch), then ACK its final answer (a 487, or a 200
    that crossed the CANCEL, which also gets a BYE) in the background."""
    cancel = Request("CANCEL", request.uri)
    cancel.headers.set("Via", request.headers["Via"])
    cancel.headers.set("Max-Forwards", "70")
    cancel.headers.set("From", request.headers["From"])
    cancel.headers.set("To", request.headers["To"])
    cancel.headers.set("Call-ID", request.headers["Call-ID"])
    cancel.headers.set("CSeq", f"{request.cseq.sequence} CANCEL")
    edge.transport.send(cancel, peer)
    edge.spawn(_finish_cancelled(edge, request, peer))


async def _finish_cancelled(edge: SipEdge, request: Request, peer: Peer) -> None:
    branch = branch_of(request)
    queue = edge.open_client(branch) if branch not in edge.clients else edge.clients[branch]
    try:
        async with asyncio.timeout(32 * T1):
            while True:
                response = await queue.get()
                if response.cseq.method == "INVITE" and response.code >= 200:
                    break
    except TimeoutError:
        return
    finally:
        edge.close_client(branch)
    if response.code >= 300:
        _ack_failure(edge, request, response, peer)
        return
    _ack_ok(edge, request, response, peer)
    contact = response.contact
    late = Dialog(
        edge=edge,
        peer=peer,
        sip_call_id="",
        call_id=request.call_id,
        local_tag="",
        local=request.headers["From"],
        remote=response.headers["To"],
        target=contact[0].uri if contact else request.uri,
        cseq=request.cseq.sequence + 1,
    )
    await edge.send_bye(late)
