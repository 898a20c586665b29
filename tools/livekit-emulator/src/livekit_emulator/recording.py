"""Room-composite audio egress: everything said in a room, mixed and written to a file.

A recorder is an ear (people.py) that listens to every published audio track of the room, those
there when it starts and those published later. When the egress ends the mix is written where
the request's file output says (relative to the emulator's recordings directory, with LiveKit's
`{room_name}`, `{room_id}` and `{time}` templates): Ogg/Opus for `.ogg` (the audio-only default),
WAV for `.wav`, AAC in MP4 for `.mp4`/`.m4a`.
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from livekit_emulator.media import SAMPLE_RATE, PublishedTrack
from livekit_emulator.people import Ear
from livekit_emulator.uploads import S3Target

if TYPE_CHECKING:
    from livekit_emulator.rtc import Publisher

_FRAME = SAMPLE_RATE // 50


@dataclass
class WrittenFile:
    """What egress reports about the file it wrote (EgressInfo.file_results)."""

    filename: str
    location: str
    size: int
    duration_ns: int


@dataclass
class RoomRecorder:
    """Records one room for one egress."""

    egress_id: str
    room_name: str
    filepath: Path
    upload: S3Target | None = None
    """Where the written file is uploaded (the output's `s3`); None: it stays at `filepath`."""
    storage_path: str = ""
    """The object key of an upload (the expanded file path of the request)."""
    ear: Ear = field(default_factory=Ear)
    _listening: set[str] = field(default_factory=set)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def hear(self, publisher: Publisher, track: PublishedTrack) -> None:
        """Add a track to the mix."""
        if track.fanout is None or track.info.sid in self._listening:
            return
        self._listening.add(track.info.sid)
        self._stops.append(track.fanout.listen(self.ear.listener(publisher.identity)))

    def stop(self) -> None:
        """Stop listening (the egress ends)."""
        for stop in self._stops:
            stop()
        self._stops.clear()

    def write(self) -> WrittenFile:
        """Write the mix (blocking: run it in a thread)."""
        samples = self.ear.samples()
        self.filepath.parent.mkdir(parents=True, exist_ok=True)
        suffix = self.filepath.suffix.lower()
        if suffix == ".wav":
            self.filepath.write_bytes(wav_bytes(samples))
        else:
            codec, container = ("libopus", "ogg") if suffix in ("", ".ogg") else ("aac", "mp4")
            encode(samples, self.filepath, codec, container)
        return WrittenFile(
            filename=self.filepath.name,
            location=str(self.filepath.resolve()),
            size=self.filepath.stat().st_size,
            duration_ns=int(len(samples) / SAMPLE_RATE * 1e9),
        )


def expand(template: str, room_name: str, room_id: str) -> str:
    """LiveKit egress's filename templates."""
    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    return (
        template.replace("{room_name}", room_name)
        .replace("{room_id}", room_id)
        .replace("{time}", stamp)
        .replace("{utc}", stamp)
    )


def wav_bytes(samples: np.ndarray) -> bytes:
    """48 kHz mono 16-bit WAV."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(samples.astype(np.int16).tobytes())
    return out.getvalue()


def encode(samples: np.ndarray, path: Path, codec: str, container: str) -> None:
    """Encode mono 48 kHz samples with PyAV (FFmpeg's encoders)."""
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=SAMPLE_RATE, layout="mono")
        assert isinstance(stream, av.AudioStream)
        for start in range(0, max(len(samples), 1), _FRAME):
            chunk = samples[start : start + _FRAME]
            if len(chunk) < _FRAME:
                chunk = np.concatenate([chunk, np.zeros(_FRAME - len(chunk), dtype=np.int16)])
            frame = av.AudioFrame.from_ndarray(
                chunk.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
            )
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
