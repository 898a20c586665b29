"""SDP for the SIP edge: G.711 offers and answers (RFC 3264) and the RTP port they name.

The emulator offers and accepts PCMU (0) and PCMA (8) with telephone-event (101), as livekit/sip
does for plain RTP. The RTP port is a real UDP socket; what arrives on it is counted (the audio
is not bridged to the room yet).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass

CODECS = {0: "PCMU/8000", 8: "PCMA/8000"}
DTMF_PAYLOAD = 101


class NoCommonMedia(ValueError):
    """The offer has no G.711 audio the emulator can take."""


@dataclass
class RtpPort:
    """A UDP socket for a call's audio: counts the packets and bytes that reach it."""

    host: str
    port: int
    transport: asyncio.DatagramTransport
    packets: int = 0
    bytes: int = 0

    def close(self) -> None:
        """Stop receiving."""
        self.transport.close()


class _Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.rtp: RtpPort | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.rtp is not None:
            self.rtp.packets += 1
            self.rtp.bytes += len(data)


async def open_rtp(host: str) -> RtpPort:
    """An RTP socket on an even free port of `host`."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        if port % 2 == 0:
            break
        sock.close()
    sock.setblocking(False)
    counter = _Counter()
    transport, _ = await loop.create_datagram_endpoint(lambda: counter, sock=sock)
    rtp = RtpPort(host, port, transport)
    counter.rtp = rtp
    return rtp


def _session(address: str, port: int, payloads: list[int]) -> bytes:
    ip = "IP6" if ":" in address else "IP4"
    session_id = secrets.randbelow(2**31)
    lines = [
        "v=0",
        f"o=LiveKit {session_id} {session_id} IN {ip} {address}",
        "s=LiveKit",
        f"c=IN {ip} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(p) for p in [*payloads, DTMF_PAYLOAD])}",
        *(f"a=rtpmap:{p} {CODECS[p]}" for p in payloads),
        f"a=rtpmap:{DTMF_PAYLOAD} telephone-event/8000",
        f"a=fmtp:{DTMF_PAYLOAD} 0-16",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer(address: str, port: int) -> bytes:
    """An offer of PCMU and PCMA."""
    return _session(address, port, [0, 8])


def answer(offer_sdp: bytes, address: str, port: int) -> bytes:
    """The answer to an offer: its first G.711 codec; `NoCommonMedia` when there is none."""
    text = offer_sdp.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("m=audio "):
            fields = line.split()
            offered = [int(p) for p in fields[3:] if p.isdigit()]
            chosen = next((p for p in offered if p in CODECS), None)
            if chosen is None or fields[1] == "0":
                break
            return _session(address, port, [chosen])
    raise NoCommonMedia("no common codec")
