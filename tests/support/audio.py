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


async def publish_tone(room: rtc.Room, frequency: float) -> asyncio.Task[None]:
    """Publish a microphone track playing a tone; cancel the returned task to stop it."""
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    await room.local_participant.publish_track(track, options)

    async def play() -> None:
        async for frame in tone_frames(frequency):
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


def dominant_frequency(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """The strongest frequency in the samples, in Hz."""
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return float(np.argmax(spectrum) * rate / len(samples))


def rms(samples: np.ndarray) -> float:
    """Root mean square level of int16 samples."""
    return float(np.sqrt(np.mean(samples.astype(float) ** 2)))
