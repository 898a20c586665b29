"""Audio for media tests: tones to send, and what was heard measured (pitch, loudness)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import numpy as np
from livekit import rtc

SAMPLE_RATE = 48_000
_FRAME = SAMPLE_RATE // 100  # 10 ms, what the SDK's AudioSource takes per capture


def tone_frames(frequency: float, amplitude: int = 12_000) -> AsyncIterator[rtc.AudioFrame]:
    """An endless sine tone in 10 ms frames."""

    async def frames() -> AsyncIterator[rtc.AudioFrame]:
        n = 0
        while True:
            t = (np.arange(_FRAME) + n) / SAMPLE_RATE
            n += _FRAME
            pcm = (np.sin(2 * math.pi * frequency * t) * amplitude).astype(np.int16)
            yield rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, _FRAME)

    return frames()


async def publish_tone(
    room: rtc.Room, frequency: float, seconds: float | None = None
) -> asyncio.Task[None]:
    """Publish a microphone track playing a tone, for `seconds` of audio or until the returned
    task is cancelled."""
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)

    async def play() -> None:
        frames = None if seconds is None else round(seconds * 100)
        async for frame in tone_frames(frequency):
            if frames is not None:
                if frames == 0:
                    break
                frames -= 1
            await source.capture_frame(frame)

    return asyncio.get_running_loop().create_task(play())


async def record(track: rtc.Track, seconds: float) -> np.ndarray:
    """Receive `seconds` of a remote audio track as mono int16 samples."""
    stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
    chunks: list[np.ndarray] = []
    wanted = int(seconds * SAMPLE_RATE)
    try:
        async for event in stream:
            chunks.append(np.frombuffer(event.frame.data, dtype=np.int16))
            if sum(len(c) for c in chunks) >= wanted:
                break
    finally:
        await stream.aclose()
    return np.concatenate(chunks)[:wanted]


async def subscribed_audio(
    room: rtc.Room, identity: str, timeout_s: float = 20.0
) -> rtc.RemoteAudioTrack:
    """The participant's audio track once this room is subscribed to it (maybe already)."""
    async with asyncio.timeout(timeout_s):
        while True:
            participant = room.remote_participants.get(identity)
            for publication in participant.track_publications.values() if participant else ():
                if isinstance(publication.track, rtc.RemoteAudioTrack):
                    return publication.track
            await asyncio.sleep(0.02)


class Recorder:
    """Keeps everything a remote audio track sends from now on, until closed."""

    def __init__(self, track: rtc.Track) -> None:
        self._stream = rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1)
        self._chunks: list[np.ndarray] = []
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        async for event in self._stream:
            self._chunks.append(np.frombuffer(event.frame.data, dtype=np.int16))

    def samples(self) -> np.ndarray:
        """What was received so far."""
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._stream.aclose()


def dominant_frequency(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """The strongest frequency in the samples, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    """Root mean square level of int16 samples."""
    return float(np.sqrt(np.mean(samples.astype(float) ** 2)))
