"""The SIP edge's media: RTP audio (G.711) and DTMF between a phone end and the room.

The phone end is written here, with nothing of the emulator's: a SIP user agent over UDP
(an INVITE to the edge, or a UAS answering the edge's INVITE) with an RTP endpoint that sends a
tone as PCMU (µ-law encoded by the G.711 formulas below) and keeps what comes back. The room end
is the unmodified `livekit` rtc SDK: it hears the phone's tone, and its own tone reaches the
phone as PCMU. DTMF crosses both ways (RFC 4733 on the line, SipDTMF data packets in the room).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import secrets
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pytest
from livekit import api, rtc
from livekit.protocol import room as room_proto
from livekit.protocol import sip

from livekit_emulator.testing import RunningEmulator
from tests.support.audio import dominant_frequency, publish_tone, record, rms, subscribed_audio
from tests.support.sdk import JOIN_TIMEOUT_S, join

pytestmark = pytest.mark.slow

CALLER = "+15550142"
NUMBER = "+12025550123"
ROOM = "phone-media"
RATE = 8_000
FRAME = 160  # 20 ms at 8 kHz
WAIT_S = 10.0  # a guard against hanging, never an expectation of speed

# --- G.711 µ-law (ITU-T G.711), the phone's codec ----------------------------------------------

_BIAS = 0x84
_CLIP = 32635


def ulaw_encode(samples: np.ndarray) -> bytes:
    """16-bit PCM to µ-law bytes."""
    s = samples.astype(np.int32)
    sign = np.where(s < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(s), _CLIP) + _BIAS
    exponent = np.clip(np.floor(np.log2(magnitude)).astype(np.int32) - 7, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return bytes((~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes())


def ulaw_decode(data: bytes) -> np.ndarray:
    """µ-law bytes to 16-bit PCM."""
    u = (~np.frombuffer(data, dtype=np.uint8).astype(np.int32)) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


# --- the phone's RTP endpoint -------------------------------------------------------------------


@dataclass
class Rtp:
    """One RTP packet as received."""

    payload_type: int
    marker: bool
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes


class Phone(asyncio.DatagramProtocol):
    """An RTP endpoint: sends a tone as PCMU in 20 ms packets, keeps every packet received."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[Rtp] = []
        self.port = 0
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)

    @classmethod
    async def open(cls) -> Phone:
        phone = cls()
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: phone, local_addr=("127.0.0.1", 0)
        )
        assert phone.transport is not None
        phone.port = phone.transport.get_extra_info("sockname")[1]
        return phone

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        first, second, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
        header = 12 + 4 * (first & 0x0F)
        self.received.append(Rtp(second & 0x7F, bool(second & 0x80), seq, ts, ssrc, data[header:]))

    def send(self, to: tuple[str, int], payload_type: int, payload: bytes, **kw: Any) -> None:
        marker = kw.get("marker", False)
        ts = kw.get("timestamp", self._ts)
        head = struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | payload_type, self._seq, ts, self._ssrc
        )
        self._seq = (self._seq + 1) & 0xFFFF
        assert self.transport is not None
        self.transport.sendto(head + payload, to)

    async def play_tone(self, to: tuple[str, int], frequency: float, seconds: float) -> None:
        """A tone as PCMU, one 20 ms packet every 20 ms."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(int(seconds * 50)):
            t = (np.arange(FRAME) + n * FRAME) / RATE
            pcm = (np.sin(2 * math.pi * frequency * t) * 12_000).astype(np.int16)
            self.send(to, 0, ulaw_encode(pcm), marker=n == 0)
            self._ts = (self._ts + FRAME) & 0xFFFFFFFF
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))

    async def press(self, to: tuple[str, int], event: int) -> None:
        """An RFC 4733 event (payload type 101): 100 ms, the end packet three times."""
        ts = self._ts
        for n in range(1, 6):
            end = n == 5
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, n * FRAME)
            for _ in range(3 if end else 1):
                self.send(to, 101, payload, marker=n == 1, timestamp=ts)
            await asyncio.sleep(0.02)

    def audio(self, payload_type: int = 0) -> np.ndarray:
        """The PCMU received, decoded (8 kHz)."""
        chunks = [ulaw_decode(p.payload) for p in self.received if p.payload_type == payload_type]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# --- the phone's SIP (UDP) ----------------------------------------------------------------------


@dataclass
class Message:
    """A SIP message as text: its first line, headers (by lower-case name) and body."""

    first: str
    headers: dict[str, str]
    body: str
    raw: str = field(repr=False, default="")

    @classmethod
    def parse(cls, data: bytes) -> Message:
        text = data.decode()
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(lines[0], headers, body, text)


def sdp(port: int, payloads: str = "0 8 101") -> str:
    return (
        "v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {payloads}\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n"
    )


def media_of(body: str) -> tuple[str, int, list[int]]:
    """The address, port and payload types of an SDP's audio."""
    host = re.search(r"^c=IN IP4 (\S+)", body, re.M)
    m = re.search(r"^m=audio (\d+) RTP/AVP ([\d ]+)", body, re.M)
    assert host and m, body
    return host.group(1), int(m.group(1)), [int(p) for p in m.group(2).split()]


class Sip(asyncio.DatagramProtocol):
    """A SIP socket over UDP: what arrives is queued."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.inbox: asyncio.Queue[tuple[Message, tuple[str, int]]] = asyncio.Queue()
        self.port = 0

    @classmethod
    async def open(cls) -> Sip:
        sock = cls()
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: sock, local_addr=("127.0.0.1", 0)
        )
        assert sock.transport is not None
        sock.port = sock.transport.get_extra_info("sockname")[1]
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.inbox.put_nowait((Message.parse(data), (addr[0], addr[1])))

    def send(self, text: str, to: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode(), to)

    async def next(self, test: Any) -> tuple[Message, tuple[str, int]]:
        async with asyncio.timeout(WAIT_S):
            while True:
                message, addr = await self.inbox.get()
                if test(message):
                    return message, addr

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def request(
    method: str, uri: str, sock: Sip, dialog: dict[str, str], cseq: int, body: str = ""
) -> str:
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{sock.port};branch=z9hG4bK{secrets.token_hex(6)};rport",
        f"From: {dialog['from']}",
        f"To: {dialog['to']}",
        f"Call-ID: {dialog['call_id']}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{CALLER}@127.0.0.1:{sock.port}>",
        "Max-Forwards: 70",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def response(req: Message, code: int, phrase: str, to_tag: str, body: str = "") -> str:
    h = req.headers
    to = h["to"] if "tag=" in h["to"] else f"{h['to']};tag={to_tag}"
    lines = [
        f"SIP/2.0 {code} {phrase}",
        f"Via: {h['via']}",
        f"From: {h['from']}",
        f"To: {to}",
        f"Call-ID: {h['call-id']}",
        f"CSeq: {h['cseq']}",
    ]
    if body:
        lines += ["Contact: <sip:phone@127.0.0.1>", "Content-Type: application/sdp"]
    lines.append(f"Content-Length: {len(body)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
async def phone() -> AsyncIterator[Phone]:
    endpoint = await Phone.open()
    yield endpoint
    endpoint.close()


@pytest.fixture
async def sip_socket() -> AsyncIterator[Sip]:
    sock = await Sip.open()
    yield sock
    sock.close()


async def route_to_room(lkapi: api.LiveKitAPI) -> None:
    """Calls to NUMBER from 127.0.0.1 go to ROOM."""
    trunk = await lkapi.sip.create_inbound_trunk(
        sip.CreateSIPInboundTrunkRequest(
            trunk=sip.SIPInboundTrunkInfo(
                name="carrier", numbers=[NUMBER], allowed_addresses=["127.0.0.1"]
            )
        )
    )
    await lkapi.sip.create_dispatch_rule(
        sip.CreateSIPDispatchRuleRequest(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_direct=sip.SIPDispatchRuleDirect(room_name=ROOM)
            ),
        )
    )


async def call_in(lk: RunningEmulator, sock: Sip, phone: Phone) -> tuple[dict[str, str], str, str]:
    """INVITE the edge with a PCMU/PCMA offer, ACK its 200: the dialog, its SDP answer, the
    emulator's call id."""
    edge = ("127.0.0.1", (await lk.control.sip())["ports"]["udp"])
    uri = f"sip:{NUMBER}@127.0.0.1:{edge[1]}"
    dialog = {
        "from": f"<sip:{CALLER}@127.0.0.1>;tag={secrets.token_hex(4)}",
        "to": f"<sip:{NUMBER}@127.0.0.1>",
        "call_id": secrets.token_hex(8),
        "uri": uri,
    }
    sock.send(request("INVITE", uri, sock, dialog, 1, sdp(phone.port)), edge)
    ok, _ = await sock.next(lambda m: m.first.startswith("SIP/2.0 2"))
    dialog["to"] = ok.headers["to"]
    dialog["edge"] = f"{edge[0]}:{edge[1]}"
    sock.send(request("ACK", uri, sock, dialog, 1), edge)
    call_id = ok.headers["to"].split("tag=")[1]
    return dialog, ok.body, call_id


def edge_of(dialog: dict[str, str]) -> tuple[str, int]:
    host, port = dialog["edge"].split(":")
    return host, int(port)


async def until(check: Any, within_s: float = WAIT_S) -> Any:
    async with asyncio.timeout(within_s):
        while not (result := check()):  # noqa: ASYNC110 - polls state the emulator keeps
            await asyncio.sleep(0.05)
        return result


def rtp_tasks() -> list[asyncio.Task[Any]]:
    """The emulator's tasks of a call's media still running: RTP senders, and the SIP
    participants' published tracks (the emulator runs in the test's event loop)."""
    return [
        t
        for t in asyncio.all_tasks()
        if t.get_name().startswith(("rtp out", f"fanout sip_{CALLER}", "fanout callee"))
    ]


# --- carriers calling in ----------------------------------------------------------------------


async def test_an_inbound_calls_audio_and_dtmf_cross_between_the_line_and_the_room(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    rooms: list[rtc.Room],
    phone: Phone,
    sip_socket: Sip,
) -> None:
    await route_to_room(lkapi)
    listener = await join(lk, rooms, "agent", ROOM)
    dtmf: asyncio.Queue[rtc.SipDTMF] = asyncio.Queue()
    listener.on("sip_dtmf_received", dtmf.put_nowait)

    dialog, answer, call_id = await call_in(lk, sip_socket, phone)
    host, port, payloads = media_of(answer)
    assert payloads == [0, 101]  # PCMU (LiveKit prefers it) and the offer's telephone-event
    line = (host, port)
    tone = asyncio.create_task(phone.play_tone(line, 440.0, 6.0))
    try:
        # The phone's voice is the SIP participant's track: the SDK hears 440 Hz.
        track = await subscribed_audio(listener, f"sip_{CALLER}", JOIN_TIMEOUT_S)
        heard = (await record(track, 2.0))[48_000:]
        assert rms(heard) > 1000, rms(heard)
        assert abs(dominant_frequency(heard) - 440.0) <= 10, dominant_frequency(heard)

        # The room's voice goes down the line: the SDK's 660 Hz arrives as PCMU.
        player = await publish_tone(listener, 660.0)
        try:
            await until(lambda: len(phone.audio()) > RATE * 3, within_s=15)
            before = len(phone.audio())
            await until(lambda: len(phone.audio()) >= before + RATE)
        finally:
            player.cancel()
        line_audio = phone.audio()[-RATE:]
        assert rms(line_audio) > 1000, rms(line_audio)
        assert abs(dominant_frequency(line_audio, RATE) - 660.0) <= 10

        # The stream is one well-formed RTP stream of 20 ms PCMU packets.
        audio = [p for p in phone.received if p.payload_type == 0]
        assert audio[0].marker and not any(p.marker for p in audio[1:])
        assert len({p.ssrc for p in audio}) == 1
        seqs = [p.seq for p in audio]
        assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs))
        assert all(len(p.payload) == FRAME for p in audio)
        assert all(
            (b.timestamp - a.timestamp) % 2**32 == FRAME for a, b in itertools.pairwise(audio)
        )

        # A key pressed on the phone reaches the room as LiveKit's SipDTMF.
        await phone.press(line, 5)
        pressed = await asyncio.wait_for(dtmf.get(), WAIT_S)
        assert (pressed.code, pressed.digit) == (5, "5")
        assert pressed.participant is not None
        assert pressed.participant.identity == f"sip_{CALLER}"

        # DTMF sent to the room reaches the phone as RFC 4733 events.
        await listener.local_participant.publish_dtmf(code=11, digit="#")
        await until(
            lambda: (
                sum(1 for p in phone.received if p.payload_type == 101 and p.payload[1] & 0x80) == 3
            )
        )
        events = [p for p in phone.received if p.payload_type == 101]
        assert {p.payload[0] for p in events} == {11}
        assert events[0].marker and len({p.timestamp for p in events}) == 1
        assert sum(1 for p in events if p.payload[1] & 0x80) == 3

        call = await lk.control.call(call_id)
        stats = call["sip"]["rtp"]
        assert stats["codec"] == "PCMU"
        assert stats["remote"] == f"127.0.0.1:{phone.port}"
        assert stats["dtmf_received"] == "5"
        assert stats["dtmf_sent"] == "#"
        assert stats["packets"] > 100
        assert {t.get_name() for t in rtp_tasks()} == {
            f"rtp out {call_id}",
            f"fanout sip_{CALLER}",
        }
    finally:
        tone.cancel()

    # BYE: the call ends, RTP stops and no sender is left behind.
    sip_socket.send(request("BYE", dialog["uri"], sip_socket, dialog, 2), edge_of(dialog))
    await sip_socket.next(
        lambda m: m.first.startswith("SIP/2.0 200") and "BYE" in m.headers["cseq"]
    )
    await until(lambda: not rtp_tasks())
    await asyncio.sleep(0.1)
    count = len(phone.received)
    await asyncio.sleep(0.3)
    assert len(phone.received) == count
    assert (await lk.control.call(call_id))["status"] == "hangup"


async def test_a_pcma_offer_is_answered_in_pcma_and_its_audio_reaches_the_room(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    rooms: list[rtc.Room],
    phone: Phone,
    sip_socket: Sip,
) -> None:
    await route_to_room(lkapi)
    listener = await join(lk, rooms, "agent", ROOM)
    edge = ("127.0.0.1", (await lk.control.sip())["ports"]["udp"])
    uri = f"sip:{NUMBER}@127.0.0.1:{edge[1]}"
    dialog = {
        "from": f"<sip:{CALLER}@127.0.0.1>;tag=a1",
        "to": f"<sip:{NUMBER}@127.0.0.1>",
        "call_id": secrets.token_hex(8),
    }
    sip_socket.send(request("INVITE", uri, sip_socket, dialog, 1, sdp(phone.port, "8")), edge)
    ok, _ = await sip_socket.next(lambda m: m.first.startswith("SIP/2.0 2"))
    assert media_of(ok.body)[2] == [8]  # no telephone-event offered: none answered
    dialog["to"] = ok.headers["to"]
    sip_socket.send(request("ACK", uri, sip_socket, dialog, 1), edge)
    # Silence from the room arrives as A-law silence (0xD5), not µ-law's (0xFF).
    await until(lambda: len(phone.received) > 10)
    assert {p.payload_type for p in phone.received} == {8}
    assert set(phone.received[-1].payload) == {0xD5}
    track = await subscribed_audio(listener, f"sip_{CALLER}", JOIN_TIMEOUT_S)
    # A 400 Hz square wave in A-law code words: 0xA5 and 0x25 are +16896 and -16896 (G.711's
    # segment 7, mantissa 0, after the even-bit inversion).
    host, port, _ = media_of(ok.body)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def play() -> None:
        period = np.array([0xA5] * 10 + [0x25] * 10, dtype=np.uint8)
        for n in range(200):
            phone.send((host, port), 8, np.tile(period, 8).tobytes(), marker=n == 0)
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - loop.time()))

    player = asyncio.create_task(play())
    try:
        heard = (await record(track, 2.0))[48_000:]
    finally:
        player.cancel()
    assert rms(heard) > 1000, rms(heard)
    assert abs(dominant_frequency(heard) - 400.0) <= 10, dominant_frequency(heard)
    sip_socket.send(request("BYE", uri, sip_socket, dialog, 2), edge)
    await until(lambda: not rtp_tasks())


# --- the emulator dialling a carrier ------------------------------------------------------------


async def test_an_outbound_call_answered_by_a_real_far_end_carries_audio_both_ways(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    rooms: list[rtc.Room],
    phone: Phone,
    sip_socket: Sip,
) -> None:
    trunk = await lkapi.sip.create_outbound_trunk(
        sip.CreateSIPOutboundTrunkRequest(
            trunk=sip.SIPOutboundTrunkInfo(
                name="carrier", address=f"127.0.0.1:{sip_socket.port}", numbers=[NUMBER]
            )
        )
    )
    listener = await join(lk, rooms, "agent", ROOM)

    async def far_end() -> tuple[Message, tuple[str, int]]:
        """Answer the edge's INVITE 200 with a PCMU offer-answer, take the ACK."""
        invite, source = await sip_socket.next(lambda m: m.first.startswith("INVITE"))
        body = sdp(phone.port, "0 101")
        sip_socket.send(response(invite, 200, "OK", "far1", body), source)
        await sip_socket.next(lambda m: m.first.startswith("ACK"))
        return invite, source

    answering = asyncio.create_task(far_end())
    request_ = sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        sip_call_to="+15550100",
        room_name=ROOM,
        participant_identity="callee",
        wait_until_answered=True,
    )
    info = await lkapi.sip.create_sip_participant(request_)
    invite, _ = await answering
    host, port, payloads = media_of(invite.body)
    assert payloads == [0, 8, 101]
    line = (host, port)

    tone = asyncio.create_task(phone.play_tone(line, 440.0, 6.0))
    player = await publish_tone(listener, 660.0)
    try:
        track = await subscribed_audio(listener, "callee", JOIN_TIMEOUT_S)
        heard = (await record(track, 2.0))[48_000:]
        assert abs(dominant_frequency(heard) - 440.0) <= 10, dominant_frequency(heard)
        assert rms(heard) > 1000
        await until(lambda: len(phone.audio()) > RATE * 2, within_s=15)
        before = len(phone.audio())
        await until(lambda: len(phone.audio()) >= before + RATE)
        line_audio = phone.audio()[-RATE:]
        assert abs(dominant_frequency(line_audio, RATE) - 660.0) <= 10
        assert rms(line_audio) > 1000
        call = await lk.control.call(info.sip_call_id)
        assert call["sip"]["rtp"]["remote"] == f"127.0.0.1:{phone.port}"
        assert len(rtp_tasks()) == 2  # the RTP sender and the participant's track
    finally:
        tone.cancel()
        player.cancel()

    # The room removes the participant: the edge sends BYE and the RTP stops.
    await lkapi.room.remove_participant(
        room_proto.RoomParticipantIdentity(room=ROOM, identity="callee")
    )
    bye, where = await sip_socket.next(lambda m: m.first.startswith("BYE"))
    sip_socket.send(response(bye, 200, "OK", "far1"), where)
    await until(lambda: not rtp_tasks())
    await asyncio.sleep(0.1)
    count = len(phone.received)
    await asyncio.sleep(0.3)
    assert len(phone.received) == count
