"""Audio between participants: one reader per published track fans its frames out to taps.

A published track's frames are read once (aiortc decodes them) and copied to every tap: the
outgoing track of each subscriber's peer connection, and any listener of the emulator's own
(recordings, emulated people). A tap's queue is bounded: a subscriber that stops reading loses its
oldest frames, never the publisher's pace.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame
from livekit.protocol import models

log = logging.getLogger("livekit_emulator.media")

# Opus at 48 kHz in 20 ms frames: what LiveKit's clients send and what aiortc encodes.
SAMPLE_RATE = 48_000
FRAME_SAMPLES = 960
_TAP_QUEUE_FRAMES = 50  # one second of audio

FrameListener = Callable[[AudioFrame], None]


class TapTrack(MediaStreamTrack):
    """The copy of one published track that one subscriber's peer connection sends."""

    kind = "audio"

    def __init__(self, fanout: TrackFanout) -> None:
        super().__init__()
        self._fanout = fanout
        self._queue: asyncio.Queue[AudioFrame | None] = asyncio.Queue(_TAP_QUEUE_FRAMES)

    def put(self, frame: AudioFrame | None) -> None:
        """Queue a frame (None: the source ended), dropping the oldest when full."""
        if self._queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        super().stop()
        self._fanout.detach(self)


class TrackFanout:
    """Reads one published track and hands each frame to every tap and listener."""

    def __init__(self, source: MediaStreamTrack, name: str) -> None:
        self._source = source
        self._taps: set[TapTrack] = set()
        self._listeners: list[FrameListener] = []
        self._name = name
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"fanout {name}")

    def tap(self) -> TapTrack:
        """A new outgoing copy of this track."""
        tap = TapTrack(self)
        self._taps.add(tap)
        return tap

    def detach(self, tap: TapTrack) -> None:
        """Forget a tap (its subscriber left or unsubscribed)."""
        self._taps.discard(tap)

    def listen(self, listener: FrameListener) -> Callable[[], None]:
        """Call `listener` with every frame from now on; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def _run(self) -> None:
        try:
            while True:
                frame = await self._source.recv()
                if not isinstance(frame, AudioFrame):
                    continue  # audio tracks give frames; a packet source is not forwarded
                for tap in list(self._taps):
                    tap.put(frame)
                for listener in list(self._listeners):
                    try:
                        listener(frame)
                    except Exception:  # one bad listener must not stop the track for everyone
                        log.exception("audio listener failed", extra={"track": self._name})
        except MediaStreamError:
            pass
        except Exception:
            log.exception("published track stopped", extra={"track": self._name})
        finally:
            for tap in list(self._taps):
                tap.put(None)

    async def aclose(self) -> None:
        """Stop reading; the taps end."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class PublishedTrack:
    """A track a participant published: its TrackInfo and, once media flows, its fanout."""

    info: models.TrackInfo
    fanout: TrackFanout | None = None
    # Someone subscribed once: livekit-server then tells the publisher (`TrackSubscribed`).
    ever_subscribed: bool = False


class PacedAudioSource(MediaStreamTrack):
    """An outgoing audio track the emulator itself fills (an emulated person's voice).

    Frames are sent at real time: queued PCM when there is some, silence otherwise, so the far end
    hears a continuous stream as from a telephone line.
    """

    kind = "audio"

    def __init__(self, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self._rate = sample_rate
        self._samples_per_frame = sample_rate // 50
        self._pending = bytearray()
        self._pts = 0
        self._started: float | None = None
        self._drained = asyncio.Event()
        self._drained.set()
        # Stretches of voice sent [start_ms, end_ms] (wall clock): what this source said when.
        self.spoke: list[list[int]] = []

    def push_pcm(self, pcm: bytes, *, keep_s: float | None = None) -> None:
        """Queue signed 16-bit mono PCM at this source's rate; with `keep_s` (a live feed), what
        is queued beyond that much audio is dropped, oldest first, so the delay stays short."""
        self._pending.extend(pcm)
        if keep_s is not None:
            excess = len(self._pending) - int(keep_s * self._rate) * 2
            if excess > 0:
                del self._pending[: excess + excess % 2]
        if self._pending:
            self._drained.clear()

    async def drained(self) -> None:
        """Wait until everything queued has been sent."""
        await self._drained.wait()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._pts / self._rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        size = self._samples_per_frame * 2
        chunk = bytes(self._pending[:size])
        del self._pending[:size]
        if len(chunk) < size:
            chunk += bytes(size - len(chunk))
        if not self._pending:
            self._drained.set()
        if any(chunk):
            now_ms = int(time.time() * 1000)
            if self.spoke and now_ms - self.spoke[-1][1] <= 300:
                self.spoke[-1][1] = now_ms
            else:
                self.spoke.append([now_ms, now_ms])
        frame = AudioFrame(format="s16", layout="mono", samples=self._samples_per_frame)
        frame.planes[0].update(chunk)
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self._rate)
        self._pts += self._samples_per_frame
        return frame
