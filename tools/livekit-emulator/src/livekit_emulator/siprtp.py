"""A call's RTP session: G.711 audio and RFC 4733 DTMF between the far end and the room.

As livekit/sip's `MediaPort` does for plain RTP:

- In: packets of the negotiated audio payload type are decoded (PCMU/PCMA with aiortc's G.711
  codecs), resampled from 8 kHz to 48 kHz and handed to `on_audio`; telephone-events call
  `on_dtmf` once per event (the first packet of a new RTP timestamp, as `dtmfHandler` does).
  Other payload types (comfort noise, ...) are counted and dropped. No jitter buffer: packets are
  played in arrival order.
- Out: every 20 ms, `source()` gives 20 ms of the room at 48 kHz; it is resampled to 8 kHz,
  encoded and sent to the address the SDP named (not latched to where packets come from:
  livekit/sip's `symmetric_rtp` is off by default). One SSRC, sequence numbers and timestamps
  from random starts, the marker bit on the first packet. DTMF goes out on the same stream:
  250 ms events (durations growing every 20 ms, the end packet sent three times), 250 ms apart,
  as livekit/media-sdk's `dtmf.Write`.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import secrets
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from aiortc.codecs.g711 import PcmaDecoder, PcmaEncoder, PcmuDecoder, PcmuEncoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket
from av import AudioFrame, AudioResampler

from livekit_emulator.sipsdp import MediaConf

log = logging.getLogger("livekit_emulator.sip")

RTP_RATE = 8_000
ROOM_RATE = 48_000
FRAME_S = 0.02
ROOM_FRAME = ROOM_RATE // 50  # 960 samples: 20 ms of the room
RTP_FRAME = RTP_RATE // 50  # 160 samples: 20 ms on the line
DTMF_EVENT_S = 0.25
DTMF_VOLUME = 10
DTMF_DIGITS = "0123456789*#ABCD"

AudioSink = Callable[[np.ndarray], None]
DtmfSink = Callable[[str], None]
AudioSource = Callable[[], np.ndarray]


class RtpSession(asyncio.DatagramProtocol):
    """One call's RTP socket: what arrives is counted and, once the media is agreed and a
    listener is set, decoded; once started, the room's audio is sent back."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self.conf: MediaConf | None = None
        self.on_audio: AudioSink | None = None
        self.on_dtmf: DtmfSink | None = None
        # The control API's view (call.sip["rtp"]): updated in place.
        self.stats: dict[str, Any] = {
            "local_port": port,
            "packets": 0,
            "bytes": 0,
            "packets_sent": 0,
            "dtmf_received": "",
            "dtmf_sent": "",
        }
        self._decoder: PcmuDecoder | PcmaDecoder | None = None
        self._upsampler: AudioResampler | None = None
        self._last_dtmf_ts: int | None = None
        self._sender: asyncio.Task[None] | None = None
        self._digits: deque[str] = deque()
        self._ssrc = secrets.randbits(32)
        self._seq = secrets.randbits(16)
        self._ts = secrets.randbits(32)
        self._marker = True
        self.closed = False

    # --- setup ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def negotiated(self, conf: MediaConf) -> None:
        """The SDP exchange settled the media: decode and send accordingly."""
        self.conf = conf
        self._decoder = PcmuDecoder() if conf.codec == "PCMU" else PcmaDecoder()
        self._upsampler = AudioResampler(format="s16", layout="mono", rate=ROOM_RATE)
        self.stats.update(conf.view())

    def start(self, source: AudioSource, name: str = "") -> None:
        """Send the room's audio from now on (20 ms of `source()` at a time)."""
        if self._sender is None and not self.closed and self.conf is not None:
            self._sender = asyncio.get_running_loop().create_task(
                self._send_loop(source), name=f"rtp out {name}".strip()
            )

    def stop(self) -> None:
        """Stop sending and handing on what arrives (the socket stays until `close`)."""
        self.on_audio = None
        self.on_dtmf = None
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None

    def close(self) -> None:
        """Stop everything and release the port."""
        self.closed = True
        self.stop()
        if self.transport is not None:
            self.transport.close()

    # --- in -------------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.stats["packets"] += 1
        self.stats["bytes"] += len(data)
        conf = self.conf
        if conf is None or self.closed:
            return
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        try:
            if packet.payload_type == conf.payload_type:
                self._on_audio_packet(packet)
            elif conf.dtmf_type is not None and packet.payload_type == conf.dtmf_type:
                self._on_dtmf_packet(packet)
        except Exception:  # one bad packet must not stop the call's audio
            log.exception("rtp packet not handled", extra={"port": self.port})

    def _on_audio_packet(self, packet: RtpPacket) -> None:
        if self.on_audio is None or self._decoder is None or self._upsampler is None:
            return
        frames = self._decoder.decode(JitterFrame(packet.payload, packet.timestamp))
        chunks = []
        for frame in frames:
            assert isinstance(frame, AudioFrame)
            frame.pts = None  # arrival order is the timeline; RTP timestamps may jump
            for out in self._upsampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        if chunks:
            self.on_audio(np.concatenate(chunks).astype(np.int16))

    def _on_dtmf_packet(self, packet: RtpPacket) -> None:
        # RFC 4733: every packet of one event has the same timestamp; the first one counts.
        if len(packet.payload) < 4 or packet.timestamp == self._last_dtmf_ts:
            return
        self._last_dtmf_ts = packet.timestamp
        event = packet.payload[0]
        if event >= len(DTMF_DIGITS):
            return
        digit = DTMF_DIGITS[event]
        self.stats["dtmf_received"] += digit
        if self.on_dtmf is not None:
            self.on_dtmf(digit)

    # --- out ------------------------------------------------------------------------------------

    def send_dtmf(self, digits: str) -> None:
        """Queue digits to send as RFC 4733 events (ignored without a DTMF payload type)."""
        if self.conf is None or self.conf.dtmf_type is None:
            log.info("ignoring dtmf", extra={"digits": digits})
            return
        self._digits.extend(d for d in digits.upper() if d in DTMF_DIGITS)

    def _send(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> None:
        conf = self.conf
        if self.transport is None or self.transport.is_closing() or conf is None:
            return
        if conf.host in ("", "0.0.0.0", "::"):
            return  # on hold, or nowhere to send
        packet = RtpPacket(
            payload_type=payload_type,
            marker=int(marker),
            sequence_number=self._seq,
            timestamp=timestamp & 0xFFFFFFFF,
            ssrc=self._ssrc,
            payload=payload,
        )
        self._seq = (self._seq + 1) & 0xFFFF
        self.transport.sendto(packet.serialize(), (conf.host, conf.port))
        self.stats["packets_sent"] += 1

    async def _send_loop(self, source: AudioSource) -> None:
        assert self.conf is not None
        conf = self.conf
        encoder = PcmuEncoder() if conf.codec == "PCMU" else PcmaEncoder()
        dtmf = _DtmfPlayer()
        loop = asyncio.get_running_loop()
        due = loop.time()
        pts = 0
        try:
            while True:
                samples = source()
                frame = AudioFrame(format="s16", layout="mono", samples=len(samples))
                frame.planes[0].update(samples.astype(np.int16).tobytes())
                frame.sample_rate = ROOM_RATE
                frame.pts = pts
                frame.time_base = fractions.Fraction(1, ROOM_RATE)
                pts += len(samples)
                payloads, _ = encoder.encode(frame)
                for payload in payloads:
                    self._send(conf.payload_type, payload, self._ts, self._marker)
                    self._marker = False
                    if conf.dtmf_type is not None:
                        for event in dtmf.tick(self._ts, self._digits):
                            self._send(conf.dtmf_type, event.payload, event.timestamp, event.first)
                            if event.first:
                                self.stats["dtmf_sent"] += DTMF_DIGITS[event.payload[0]]
                    self._ts += RTP_FRAME
                due += FRAME_S
                delay = due - loop.time()
                if delay < -0.2:  # the loop stalled: start the schedule again, no burst
                    due = loop.time()
                    delay = 0
                await asyncio.sleep(max(delay, 0))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("rtp sender stopped")


class _Event:
    def __init__(self, payload: bytes, timestamp: int, first: bool) -> None:
        self.payload = payload
        self.timestamp = timestamp
        self.first = first


class _DtmfPlayer:
    """RFC 4733 events for queued digits, 20 ms at a time: an event, then as long a pause."""

    # 13 packets (20 ms to 260 ms) for a 250 ms event, as dtmf.Write's 20 ms ticker sends them.
    _FRAMES = int(DTMF_EVENT_S / FRAME_S) + 1

    def __init__(self) -> None:
        self._code: int | None = None
        self._start_ts = 0
        self._frame = 0
        self._pause = 0

    def tick(self, ts: int, digits: deque[str]) -> list[_Event]:
        """The event packets to send with the audio packet of timestamp `ts`."""
        if self._pause > 0:
            self._pause -= 1
            return []
        if self._code is None:
            if not digits:
                return []
            self._code = DTMF_DIGITS.index(digits.popleft())
            self._start_ts = ts
            self._frame = 0
        self._frame += 1
        duration = self._frame * RTP_FRAME
        end = self._frame >= self._FRAMES
        flags = (0x80 if end else 0) | DTMF_VOLUME
        payload = struct.pack("!BBH", self._code, flags, duration)
        first = self._frame == 1
        events = [_Event(payload, self._start_ts, first)]
        if end:
            events += [_Event(payload, self._start_ts, False)] * 2  # the end, three times
            self._code = None
            self._pause = self._FRAMES
        return events


async def open_rtp(host: str) -> RtpSession:
    """An RTP session on an even free port of `host`."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for attempt in range(50):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, 0))
        if sock.getsockname()[1] % 2 == 0 or attempt == 49:
            break
        sock.close()
    sock.setblocking(False)
    port = sock.getsockname()[1]
    session = RtpSession(host, port)
    await loop.create_datagram_endpoint(lambda: session, sock=sock)
    return session
