"""Emulated people: the person on the phone end of a SIP call, in the room as LiveKit's SIP
bridge puts them there (a SIP participant publishing the line's audio and hearing the room).

On a call through the SIP edge the phone end is real: the person carries the line instead of
a script (the RTP session's audio is their voice, what they hear goes back as RTP, and DTMF
crosses both ways), and still records what they heard.

A person speaks from a script (espeak-ng renders the words), presses keys (sent as LiveKit's SIP
DTMF data packets), hangs up, and records everything they hear: per-speaker audio placed on the
call's timeline, mixed into a WAV on request, with the time of non-silent audio heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import math
import shutil
import subprocess
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from av import AudioFrame
from livekit.protocol import models

from livekit_emulator import ids
from livekit_emulator.media import SAMPLE_RATE, PacedAudioSource, PublishedTrack, TrackFanout

if TYPE_CHECKING:
    from livekit_emulator.rtc import MediaHub, Publisher
    from livekit_emulator.siprtp import RtpSession
    from livekit_emulator.state import CallRecord

log = logging.getLogger("livekit_emulator.people")

ESPEAK = "espeak-ng"
# Audio quieter than this (int16 RMS, about -40 dBFS) is silence to an emulated ear.
SILENCE_RMS = 300.0
# A source whose next frame arrives this much later than its last one ended starts again there.
_GAP_S = 0.2
# Voice after this much silence starts a new stretch (a turn) in what a speaker was heard saying.
_TURN_GAP_MS = 300
# A `wait_for_silence_ms` step gives up after this long without a turn ending.
SILENCE_WAIT_LIMIT_S = 60.0
# The line's audio is published with at most this much of it queued (older audio is dropped).
LINE_QUEUE_S = 0.2
# A speaker's audio starts in the live mix once this much of it is buffered (and again after it
# ran dry), so frames arriving in bursts play out whole.
_MIX_PREBUFFER = SAMPLE_RATE // 25  # 40 ms
_MIX_MAX = SAMPLE_RATE // 5  # 200 ms
VOICEMAIL_GREETING = (
    "Hi, you have reached the voicemail of the person you called. "
    "Please leave a message after the tone."
)
BEEP_HZ = 1000.0
BEEP_S = 0.5
# RFC 4733 event codes, as LiveKit's SipDTMF carries them.
DTMF_CODES = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}

AnsweredBy = Literal["human", "machine"]


class SpeechUnavailable(RuntimeError):
    """espeak-ng is not installed where the emulator runs."""


def synthesize(text: str, voice: str = "en-us") -> bytes:
    """`text` spoken by espeak-ng, as 16-bit mono PCM at 48 kHz."""
    program = shutil.which(ESPEAK)
    if program is None:
        raise SpeechUnavailable(f"{ESPEAK} is not installed (apt-get install espeak-ng)")
    result = subprocess.run(
        [program, "--stdout", "-v", voice, text], capture_output=True, check=True, timeout=30
    )
    with wave.open(io.BytesIO(result.stdout)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return resample(samples, rate).tobytes()


def resample(samples: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """Linear resampling of int16 mono samples (speech for a telephone line needs no better)."""
    if rate == to or not len(samples):
        return samples.astype(np.int16)
    positions = np.arange(int(len(samples) * to / rate)) * rate / to
    resampled: np.ndarray = np.interp(positions, np.arange(len(samples)), samples.astype(float))
    return resampled.astype(np.int16)


def tone(frequency: float, seconds: float, amplitude: int = 12_000) -> bytes:
    """A sine tone as 16-bit mono PCM at 48 kHz."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * math.pi * frequency * t) * amplitude).astype(np.int16).tobytes()


def mono(frame: AudioFrame) -> np.ndarray:
    """A decoded frame as int16 mono samples at its own rate."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if data.dtype != np.int16:
        data = (np.clip(data, -1.0, 1.0) * 32767).astype(np.int16)
    if frame.format.is_planar:
        samples = data.mean(axis=0) if channels > 1 else data[0]
    else:
        samples = data.reshape(-1, channels).mean(axis=1) if channels > 1 else data.reshape(-1)
    return resample(samples.astype(np.int16), frame.sample_rate)


@dataclass
class _Heard:
    """What one speaker's audio looked like to the ear: chunks placed on the timeline, and when
    frames arrived (the first one, the first with voice, the longest wait between two)."""

    chunks: list[tuple[int, np.ndarray]] = field(default_factory=list)
    cursor: int | None = None
    first_frame_at_ms: int | None = None
    first_voice_at_ms: int | None = None
    last_arrival: float | None = None
    max_gap_ms: float = 0.0
    # Stretches of voice [start_ms, end_ms], a new one after _TURN_GAP_MS of silence.
    turns: list[list[int]] = field(default_factory=list)

    def voiced(self, now_ms: int) -> None:
        if self.turns and now_ms - self.turns[-1][1] <= _TURN_GAP_MS:
            self.turns[-1][1] = now_ms
        else:
            self.turns.append([now_ms, now_ms])

    def view(self) -> dict[str, Any]:
        return {
            "first_frame_at_ms": self.first_frame_at_ms,
            "first_voice_at_ms": self.first_voice_at_ms,
            "max_gap_ms": round(self.max_gap_ms, 1),
            "frames": len(self.chunks),
            "turns": [list(t) for t in self.turns],
        }


class LiveMix:
    """What a person hears right now: every speaker's latest audio, mixed 20 ms at a time (what
    a SIP line sends back to the phone)."""

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}
        self._playing: set[str] = set()

    def add(self, speaker: str, samples: np.ndarray) -> None:
        """More of a speaker's audio (48 kHz int16)."""
        buffer = np.concatenate([self._buffers.get(speaker, np.zeros(0, np.int16)), samples])
        self._buffers[speaker] = buffer[-_MIX_MAX:]

    def pull(self, samples: int = SAMPLE_RATE // 50) -> np.ndarray:
        """The next `samples` of the mix (silence where nobody speaks)."""
        mix = np.zeros(samples, dtype=np.int32)
        for speaker, buffer in self._buffers.items():
            if speaker not in self._playing:
                if len(buffer) < _MIX_PREBUFFER:
                    continue
                self._playing.add(speaker)
            taken = buffer[:samples]
            mix[: len(taken)] += taken
            self._buffers[speaker] = buffer[samples:]
            if len(taken) < samples:
                self._playing.discard(speaker)
        clipped: np.ndarray = np.clip(mix, -32768, 32767).astype(np.int16)
        return clipped


class Ear:
    """Records what a person hears, per speaker, on the call's timeline (and, for a SIP line,
    mixes it live)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_at_ms = int(time.time() * 1000)
        self.heard_ms = 0.0
        self.first_heard_at_ms: int | None = None
        self.last_voice = 0.0  # monotonic time non-silent audio was last heard
        self._speakers: dict[str, _Heard] = {}
        self.voice_heard = asyncio.Event()
        self.live: LiveMix | None = None

    def listener(self, speaker: str) -> Callable[[AudioFrame], None]:
        """The frame listener for one speaker's track."""
        heard = self._speakers.setdefault(speaker, _Heard())

        def on_frame(frame: AudioFrame) -> None:
            samples = mono(frame)
            if self.live is not None:
                self.live.add(speaker, samples)
            now = time.monotonic()
            if heard.last_arrival is not None:
                heard.max_gap_ms = max(heard.max_gap_ms, (now - heard.last_arrival) * 1000)
            heard.last_arrival = now
            if heard.first_frame_at_ms is None:
                heard.first_frame_at_ms = int(time.time() * 1000)
            end = int((now - self.started) * SAMPLE_RATE)
            if heard.cursor is None or end - heard.cursor > _GAP_S * SAMPLE_RATE:
                heard.cursor = max(0, end - len(samples))
            heard.chunks.append((heard.cursor, samples))
            heard.cursor += len(samples)
            if len(samples) and float(np.sqrt(np.mean(samples.astype(float) ** 2))) > SILENCE_RMS:
                self.heard_ms += 1000 * len(samples) / SAMPLE_RATE
                now_ms = int(time.time() * 1000)
                heard.voiced(now_ms)
                if heard.first_voice_at_ms is None:
                    heard.first_voice_at_ms = now_ms
                if self.first_heard_at_ms is None:
                    self.first_heard_at_ms = int(time.time() * 1000)
                self.last_voice = now
                self.voice_heard.set()

        return on_frame

    def speakers(self) -> dict[str, dict[str, Any]]:
        """Per speaker: when their audio began, when their voice began, the longest gap."""
        return {name: heard.view() for name, heard in self._speakers.items()}

    def mark(self) -> None:
        """Start waiting for a new turn: voice heard before now does not count."""
        self.voice_heard.clear()

    def samples(self) -> np.ndarray:
        """Everything heard, every speaker mixed, as 48 kHz mono int16 samples."""
        length = max(
            (pos + len(s) for heard in self._speakers.values() for pos, s in heard.chunks),
            default=0,
        )
        mix = np.zeros(length, dtype=np.int32)
        for heard in self._speakers.values():
            for pos, samples in heard.chunks:
                mix[pos : pos + len(samples)] += samples
        clipped: np.ndarray = np.clip(mix, -32768, 32767).astype(np.int16)
        return clipped

    def wav(self) -> bytes:
        """Everything heard as a 48 kHz mono 16-bit WAV."""
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(self.samples().tobytes())
        return out.getvalue()


@dataclass
class StepRecord:
    """One script step and when it ran."""

    step: dict[str, Any]
    started_at_ms: int
    done_at_ms: int | None = None
    error: str | None = None


class Person:
    """The person on the phone end of one SIP call."""

    def __init__(
        self,
        hub: MediaHub,
        call: CallRecord,
        info: models.ParticipantInfo,
        script: Sequence[dict[str, Any]],
        answered_by: AnsweredBy = "human",
        line: RtpSession | None = None,
    ) -> None:
        self.hub = hub
        self.call = call
        self.info = info
        self.room_name = call.room_name
        self.answered_by = answered_by
        self.voice = PacedAudioSource()
        track = models.TrackInfo(
            sid=ids.new_id(ids.TRACK),
            type=models.TrackType.AUDIO,
            name="phone",
            source=models.TrackSource.MICROPHONE,
            mime_type="audio/opus",
        )
        self.published: dict[str, PublishedTrack] = {
            track.sid: PublishedTrack(info=track, fanout=TrackFanout(self.voice, info.identity))
        }
        self.ear = Ear()
        self.steps: list[StepRecord] = []
        self.said: list[str] = []
        self.dtmf_heard: list[str] = []
        self._stop_listening: list[Callable[[], None]] = []
        self._listening: set[str] = set()
        self.closed = False
        self._script = list(script)
        if answered_by == "machine":
            self._script = [
                {"say": VOICEMAIL_GREETING},
                {"tone_hz": BEEP_HZ, "tone_ms": int(BEEP_S * 1000)},
            ]
        self._task: asyncio.Task[None] | None = None
        # A real phone line (the SIP edge's RTP session): it speaks and keys for itself.
        self.line = line
        if line is not None:
            self._script = []
            self.ear.live = LiveMix()
            line.on_audio = self._from_line
            line.on_dtmf = self.press

    @property
    def identity(self) -> str:
        return self.info.identity

    def start(self) -> None:
        """Run the script (from now: the call was just answered), or carry the line."""
        if self.line is not None and self.ear.live is not None:
            self.line.start(self.ear.live.pull, self.call.sip_call_id)
        self._task = asyncio.get_running_loop().create_task(
            self._run_script(), name=f"script {self.call.sip_call_id}"
        )

    def hear(self, speaker: Publisher, track: PublishedTrack) -> None:
        """Listen to another participant's published track (the SIP bridge subscribes to it)."""
        if track.fanout is None or track.info.sid in self._listening or self.closed:
            return
        self._listening.add(track.info.sid)
        self._stop_listening.append(track.fanout.listen(self.ear.listener(speaker.identity)))
        self.hub.track_subscribed(speaker, track)

    def forget(self, tracks: dict[str, PublishedTrack]) -> None:
        """Those tracks ended (their publisher left): nothing more is heard from them."""
        self._listening.difference_update(tracks)

    def on_data(self, packet: models.DataPacket) -> None:
        """A data packet reached the phone: the bridge plays DTMF; the rest is not for phones."""
        if packet.HasField("sip_dtmf"):
            digit = packet.sip_dtmf.digit or _digit_for(packet.sip_dtmf.code)
            self.dtmf_heard.append(digit)
            if self.line is not None:
                self.line.send_dtmf(digit)

    def _from_line(self, samples: np.ndarray) -> None:
        """Audio from the phone (48 kHz): the participant's voice in the room."""
        if not self.closed:
            self.voice.push_pcm(samples.tobytes(), keep_s=LINE_QUEUE_S)

    async def say(self, text: str) -> float:
        """Speak `text` (queued after anything still being said); returns its length in s."""
        pcm = await asyncio.to_thread(synthesize, text)
        self.voice.push_pcm(pcm)
        self.said.append(text)
        self.ear.mark()
        return len(pcm) / 2 / SAMPLE_RATE

    def press(self, digits: str) -> None:
        """Press keys: each one a SIP DTMF data packet from this participant to the room."""
        for digit in digits:
            packet = models.DataPacket(
                kind=models.DataPacket.Kind.RELIABLE,
                participant_identity=self.identity,
                participant_sid=self.info.sid,
                sip_dtmf=models.SipDTMF(code=DTMF_CODES[digit], digit=digit),
            )
            self.hub.send_data(self.room_name, "_reliable", packet, exclude=self.identity)

    async def _run_script(self) -> None:
        for step in self._script:
            if self.closed:
                return
            record = StepRecord(step=dict(step), started_at_ms=int(time.time() * 1000))
            self.steps.append(record)
            try:
                await self._run_step(step)
            except SpeechUnavailable as exc:
                record.error = str(exc)
                log.error("script step failed", extra={"error": str(exc)})
                return
            record.done_at_ms = int(time.time() * 1000)

    async def _run_step(self, step: dict[str, Any]) -> None:
        if "say" in step:
            await self.say(str(step["say"]))
            await self.voice.drained()
        elif "tone_hz" in step:
            self.voice.push_pcm(tone(float(step["tone_hz"]), int(step["tone_ms"]) / 1000))
            await self.voice.drained()
        elif "wait_ms" in step:
            await asyncio.sleep(int(step["wait_ms"]) / 1000)
        elif "wait_for_silence_ms" in step:
            await self._wait_for_turn_end(int(step["wait_for_silence_ms"]) / 1000)
        elif "dtmf" in step:
            self.press(str(step["dtmf"]))
        elif step.get("hangup"):
            self.hub.emulator.calls.hangup(self.call.sip_call_id)

    async def _wait_for_turn_end(self, silence_s: float) -> None:
        """Wait until the other side has spoken since this person last did (or since the call
        began) and has then been silent for `silence_s`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SILENCE_WAIT_LIMIT_S):
                await self.ear.voice_heard.wait()
                while True:
                    quiet = time.monotonic() - self.ear.last_voice
                    if quiet >= silence_s:
                        return
                    await asyncio.sleep(silence_s - quiet)

    def view(self) -> dict[str, Any]:
        """What the control API says about this person."""
        return {
            "answered_by": self.answered_by,
            "heard_ms": round(self.ear.heard_ms),
            "first_heard_at_ms": self.ear.first_heard_at_ms,
            "said": list(self.said),
            "spoke": [list(t) for t in self.voice.spoke],
            "dtmf_heard": "".join(self.dtmf_heard),
            "speakers": self.ear.speakers(),
            "steps": [
                {
                    "step": s.step,
                    "started_at_ms": s.started_at_ms,
                    "done_at_ms": s.done_at_ms,
                    "error": s.error,
                }
                for s in self.steps
            ],
        }

    async def aclose(self) -> None:
        """The call ended: stop speaking and listening (what was heard is kept)."""
        self.closed = True
        if self.line is not None:
            self.line.stop()
        for stop in self._stop_listening:
            stop()
        self._stop_listening.clear()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self.voice.stop()
        for track in self.published.values():
            if track.fanout is not None:
                await track.fanout.aclose()


def _digit_for(code: int) -> str:
    return next((d for d, c in DTMF_CODES.items() if c == code), "?")
