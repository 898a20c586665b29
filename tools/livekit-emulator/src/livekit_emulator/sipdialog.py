"""What the SIP edge's inbound side and its dialler share: message helpers and dialogs."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sipmessage import URI, Address, Request, Response

from livekit_emulator import siprtp
from livekit_emulator.siptransport import Peer

if TYPE_CHECKING:
    from livekit_emulator.sipedge import SipEdge

ALLOW = "INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE"
USER_AGENT = "LiveKit"
T1 = 0.5
TRANSACTION_LINGER_S = 32.0
# Accept: the 200 OK is resent after 250 ms, then 500 ms (livekit/sip without InboundWaitACK).
OK_RETRANSMITS = (0.25, 0.5)


def new_branch() -> str:
    """An RFC 3261 branch (magic cookie and random)."""
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    """A From/To tag."""
    return secrets.token_hex(8)


def branch_of(message: Request | Response) -> str:
    """The top Via's branch."""
    vias = message.via
    return (vias[0].parameters.get("branch") or "") if vias else ""


def with_tag(address: str, tag: str) -> str:
    """A From/To header value with `tag` added when it has none."""
    parsed = Address.parse(address)
    if parsed.parameters.get("tag"):
        return address
    return f"{address};tag={tag}"


def response_to(request: Request, code: int, phrase: str, to_tag: str = "") -> Response:
    """`sip.NewResponseFromRequest`: Via, From, To (with our tag), Call-ID and CSeq copied."""
    response = Response(code, phrase)
    for via in request.headers.getlist("Via"):
        response.headers.add("Via", via)
    response.headers.set("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    response.headers.set("To", with_tag(to, to_tag) if to_tag and code > 100 else to)
    response.headers.set("Call-ID", request.headers.get("Call-ID") or "")
    response.headers.set("CSeq", request.headers.get("CSeq") or "")
    return response


def describe(request: Request) -> dict[str, Any]:
    """What a test may want to read of an INVITE: its URI, From, To and every header."""
    headers: dict[str, str] = {}
    for name in request.headers.keys():  # noqa: SIM118 - Headers is not iterable
        headers[name] = ", ".join(request.headers.getlist(name))
    return {
        "request_uri": str(request.uri),
        "from": request.headers.get("From", ""),
        "to": request.headers.get("To", ""),
        "call_id": request.headers.get("Call-ID", ""),
        "cseq": request.headers.get("CSeq", ""),
        "headers": headers,
    }


@dataclass(eq=False)
class Dialog:
    """An established call over SIP: enough to send the BYE and to recognise the far end's."""

    edge: SipEdge
    peer: Peer
    sip_call_id: str  # the emulator's SCL_ id
    call_id: str  # the SIP Call-ID
    local_tag: str
    local: str  # our From/To value, with our tag
    remote: str  # theirs, with their tag
    target: URI
    cseq: int
    rtp: siprtp.RtpSession | None = None
    local_sdp: bytes = b""
    ended: bool = False
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    def hang_up(self) -> None:
        """The emulator's side ends the call: BYE (once)."""
        if self.ended:
            return
        self.ended = True
        self.edge.forget(self)
        self.edge.spawn(self.edge.send_bye(self))

    @property
    def media(self) -> siprtp.RtpSession | None:
        """The RTP session the SIP participant's audio goes through, once media is agreed."""
        if self.rtp is None or self.rtp.conf is None or self.ended:
            return None
        return self.rtp

    def close_media(self) -> None:
        """Stop the RTP session and release its port."""
        if self.rtp is not None:
            self.rtp.close()
