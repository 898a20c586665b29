"""SDP for the SIP edge: G.711 offers and answers (RFC 3264) and the media they agree on.

The emulator offers PCMU (0) and PCMA (8) with telephone-event (101), as livekit/sip does for
plain RTP (without G.722 or SRTP). Choosing from a far end's SDP follows livekit/media-sdk's
`SelectAudio`: answering an offer takes the codec LiveKit prefers among those offered (PCMU before
PCMA); reading an answer takes its first codec LiveKit knows. The DTMF payload type is the far
end's `telephone-event/8000` (none when it offers none), and media goes to the address and port of
its `c=` and `m=audio` lines.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

CODECS = {0: "PCMU/8000", 8: "PCMA/8000"}
# livekit/media-sdk's codec priorities (higher first): PCMU -10, PCMA -20.
_PRIORITY = {"PCMU": -10, "PCMA": -20}
DTMF_PAYLOAD = 101


class NoCommonMedia(ValueError):
    """The SDP has no G.711 audio the emulator can take."""


@dataclass(frozen=True)
class MediaConf:
    """What both ends agreed: where to send RTP, in which codec, and DTMF's payload type."""

    host: str
    port: int
    payload_type: int
    codec: str  # "PCMU" or "PCMA"
    dtmf_type: int | None

    def view(self) -> dict[str, object]:
        return {
            "remote": f"{self.host}:{self.port}",
            "codec": self.codec,
            "payload_type": self.payload_type,
            "dtmf_payload_type": self.dtmf_type,
        }


@dataclass
class _Audio:
    """An SDP's first audio stream."""

    host: str
    port: int
    codecs: list[tuple[int, str]]  # (payload type, encoding name) in the SDP's order
    dtmf_type: int | None


def _parse(sdp: bytes) -> _Audio:
    session_host = ""
    media_host = ""
    port = -1
    formats: list[int] = []
    names: dict[int, str] = {}
    in_audio = False
    seen_audio = False
    for raw in sdp.decode(errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if seen_audio:
                break  # only the first audio stream counts
            fields = line[2:].split()
            in_audio = len(fields) >= 3 and fields[0] == "audio"
            if in_audio:
                seen_audio = True
                port = int(fields[1]) if fields[1].isdigit() else -1
                formats = [int(f) for f in fields[3:] if f.isdigit()]
        elif line.startswith("c="):
            parts = line[2:].split()
            host = parts[2].split("/")[0] if len(parts) >= 3 else ""
            if in_audio:
                media_host = host
            elif not seen_audio:
                session_host = host
        elif in_audio and line.startswith("a=rtpmap:"):
            number, _, encoding = line[len("a=rtpmap:") :].partition(" ")
            if number.isdigit():
                names[int(number)] = encoding.strip()
    if not seen_audio or port <= 0:
        raise NoCommonMedia("no audio stream")
    codecs: list[tuple[int, str]] = []
    dtmf_type: int | None = None
    for pt in formats:
        encoding = names.get(pt) or CODECS.get(pt, "")
        name, _, rate = encoding.partition("/")
        if name.lower() == "telephone-event" and rate.startswith("8000"):
            dtmf_type = dtmf_type if dtmf_type is not None else pt
        elif name.upper() in _PRIORITY and rate.startswith("8000"):
            codecs.append((pt, name.upper()))
    return _Audio(media_host or session_host, port, codecs, dtmf_type)


def _session(address: str, port: int, payloads: list[tuple[int, str]], dtmf: int | None) -> bytes:
    ip = "IP6" if ":" in address else "IP4"
    session_id = secrets.randbelow(2**31)
    formats = [str(p) for p, _ in payloads] + ([str(dtmf)] if dtmf is not None else [])
    lines = [
        "v=0",
        f"o=LiveKit {session_id} {session_id} IN {ip} {address}",
        "s=LiveKit",
        f"c=IN {ip} {address}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(formats)}",
        *(f"a=rtpmap:{p} {name}/8000" for p, name in payloads),
        *(
            [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-16"]
            if dtmf is not None
            else []
        ),
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def offer(address: str, port: int) -> bytes:
    """An offer of PCMU and PCMA (and telephone-event 101)."""
    return _session(address, port, [(0, "PCMU"), (8, "PCMA")], DTMF_PAYLOAD)


def answer(offer_sdp: bytes, address: str, port: int) -> tuple[bytes, MediaConf]:
    """The answer to an offer and the media it settles; `NoCommonMedia` when there is none."""
    audio = _parse(offer_sdp)
    if not audio.codecs:
        raise NoCommonMedia("no common codec")
    pt, name = max(audio.codecs, key=lambda c: _PRIORITY[c[1]])  # the first of the best
    conf = MediaConf(audio.host, audio.port, pt, name, audio.dtmf_type)
    return _session(address, port, [(pt, name)], audio.dtmf_type), conf


def read_answer(answer_sdp: bytes) -> MediaConf:
    """The media an answer to the emulator's offer settles: its first codec we offered."""
    audio = _parse(answer_sdp)
    if not audio.codecs:
        raise NoCommonMedia("no common codec")
    pt, name = audio.codecs[0]
    return MediaConf(audio.host, audio.port, pt, name, audio.dtmf_type)
