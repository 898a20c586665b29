"""Benchmark voice calls end to end, offline: emulated callers talking with our real agent.

The LiveKit emulator runs as its own process (so its CPU is its own); agent-runtime's real worker
runs in this one, with an agent that needs no account: espeak-ng speaks (an instant TTS: a few ms
of synthesis), a scripted OpenAI-compatible server on loopback transcribes and answers. Three
parts, each printed with its figures:

1. Greeting latency, calls one after another: the emulated INVITE -> the caller hears the first
   audio frame of the greeting (target p50 <= 400 ms, p99 <= 1 s), broken down into dispatch
   (INVITE -> job offered), job accept, room join (-> the agent's /rtc join), publish (-> the
   agent's track's first frame at the emulator) and first TTS frame (-> the first frame with
   voice). The floor beside it: a bare SDK participant that joins the same way and publishes a
   tone at once, timed from its join to the caller hearing it.
2. Turn overhead: the caller's speech ends -> the agent's reply is heard, minus the providers' own
   time (transcription and LLM first token at the model server, espeak synthesis) and the VAD's
   configured silence and endpointing delay (target p50 <= 150 ms).
3. 10 simultaneous calls with audio: the longest gap between two frames any caller heard (target
   none over 100 ms), and CPU per call-minute for the emulator and agent-runtime.

    uv run python bench/voice.py [--calls 20] [--concurrent 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import structlog
from livekit import api, rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support

from agent_runtime.directory import KnownAgent, KnownNumber
from agent_runtime.local_tts import EspeakTTS
from livekit_emulator.main import bind
from livekit_emulator.testing import EmulatorControl, RunningEmulator
from talkifai_common.voice import (
    LLMConfig,
    LLMProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import agent_data, number_data
from tests.support.agent_worker import registered_worker, route_number
from tests.support.openai_server import OpenAICompatibleServer, serving

T = TypeVar("T")
NUMBER = "+12025550123"
GREETING = "Hello, thanks for calling."
REPLY = "Sure."
# livekit-agents' defaults with turn_detection="vad": Silero's min_silence_duration, and the
# session's endpointing min_delay, counted from the last speech too (the turn ends after the
# longer of the two).
VAD_SILENCE_S = 0.55
ENDPOINTING_S = 0.5
TURN_END_S = max(VAD_SILENCE_S, ENDPOINTING_S)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float], target: str = "") -> str:
    return (
        f"  {name:<34} p50 {statistics.median(values):7.1f} ms   p90 {pct(values, 0.9):7.1f} ms"
        f"   p99 {pct(values, 0.99):7.1f} ms   max {max(values):7.1f} ms   {target}"
    )


async def until(check: Callable[[], Awaitable[T]], within_s: float = 60.0) -> T:
    async with asyncio.timeout(within_s):
        while not (result := await check()):  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.05)
        return result


@contextlib.asynccontextmanager
async def emulator_process(recordings: str) -> AsyncIterator[tuple[RunningEmulator, int]]:
    """The emulator as its own process (its CPU measured apart from agent-runtime's)."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    proc = await asyncio.create_subprocess_exec(
        *[
            sys.executable,
            "-m",
            "livekit_emulator.main",
            "--port",
            str(port),
            "--recordings-dir",
            recordings,
            "--log-level",
            "WARNING",
            "--no-sip",
        ],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    control = EmulatorControl(url)
    try:

        async def up() -> bool:
            with contextlib.suppress(Exception):
                await control.state()
                return True
            return False

        await until(up, within_s=30)
        yield RunningEmulator(url, "devkey", "secret", control), proc.pid
    finally:
        await control.aclose()
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10)


async def ended(lk: RunningEmulator, call_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        view = await lk.control.call(call_id)
        return view if view["ended_at_ms"] else {}

    return await until(check)


async def agent_job(lk: RunningEmulator, room: str) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        jobs = (await lk.control.state())["jobs"]
        return next((j for j in jobs if j["room"] == room and j["joined_at_ms"]), {})

    return await until(check)


async def greeting_latency(lk: RunningEmulator, calls: int) -> dict[str, list[float]]:
    parts: dict[str, list[float]] = {
        k: [] for k in ("total", "dispatch", "accept", "join", "publish", "first voice")
    }
    for i in range(calls + 2):
        t0 = time.time() * 1000
        call = await lk.control.inbound_call(
            f"+1555011{i:04d}", NUMBER, script=[{"wait_ms": 2500}, {"hangup": True}]
        )
        view = await ended(lk, call.sip_call_id)
        job = await agent_job(lk, call.room_name)
        agent = next(v for k, v in view["person"]["speakers"].items() if k.startswith("agent-"))
        heard = view["person"]["first_heard_at_ms"]
        if i < 2 or heard is None:
            continue  # the first calls warm the job threads up
        parts["total"].append(heard - t0)
        parts["dispatch"].append(job["offered_at_ms"] - t0)
        parts["accept"].append(job["accepted_at_ms"] - job["offered_at_ms"])
        parts["join"].append(job["joined_at_ms"] - job["accepted_at_ms"])
        parts["publish"].append(agent["first_frame_at_ms"] - job["joined_at_ms"])
        parts["first voice"].append(agent["first_voice_at_ms"] - agent["first_frame_at_ms"])
    return parts


async def floor_latency(lk: RunningEmulator, calls: int) -> list[float]:
    """A bare SDK participant joining a caller's room and playing a tone at once."""
    await route_number(lk, "+12025550999", phone_number_id="pn_floor")
    results: list[float] = []
    for i in range(calls):
        call = await lk.control.inbound_call(f"+1555012{i:04d}", "+12025550999")
        token = (
            api.AccessToken(lk.api_key, lk.api_secret)
            .with_identity("reference")
            .with_grants(api.VideoGrants(room_join=True, room=call.room_name))
            .to_jwt()
        )
        room = rtc.Room()
        t0 = time.time() * 1000
        await room.connect(lk.url.replace("http", "ws"), token)
        source = rtc.AudioSource(48_000, 1)
        track = rtc.LocalAudioTrack.create_audio_track("tone", source)
        await room.local_participant.publish_track(track)
        frame = rtc.AudioFrame(
            bytes(b"\x10\x27" * 480), sample_rate=48_000, num_channels=1, samples_per_channel=480
        )

        async def heard(
            source: rtc.AudioSource = source,
            frame: rtc.AudioFrame = frame,
            call_id: str = call.sip_call_id,
        ) -> int:
            for _ in range(5):
                await source.capture_frame(frame)
            view = await lk.control.call(call_id)
            return int(view["person"]["first_heard_at_ms"] or 0)

        results.append(await until(heard) - t0)
        await room.disconnect()
        await lk.control.hangup(call.sip_call_id)
    return results


async def turn_overhead(
    lk: RunningEmulator, scripted: OpenAICompatibleServer, calls: int
) -> dict[str, list[float]]:
    tts = EspeakTTS(voice="en-us")
    out: dict[str, list[float]] = {k: [] for k in ("turn", "providers", "overhead")}
    for i in range(calls):
        scripted.transcripts.append("I need help.")
        scripted.replies.append(REPLY)
        before = len(scripted.requests)
        call = await lk.control.inbound_call(
            f"+1555013{i:04d}",
            NUMBER,
            script=[
                {"wait_for_silence_ms": 600},
                {"say": "I need help."},
                {"wait_for_silence_ms": 600},
                {"hangup": True},
            ],
        )
        view = await ended(lk, call.sip_call_id)
        speech_end = view["person"]["spoke"][0][1]
        new = scripted.requests[before:]
        stt = next(r for r in new if r.path.endswith("/transcriptions"))
        chat = next(r for r in new if r.path.endswith("/chat/completions"))
        agent = next(v for k, v in view["person"]["speakers"].items() if k.startswith("agent-"))
        replied = next(start for start, _ in agent["turns"] if start > speech_end)
        synth_start = time.perf_counter()
        async with tts.synthesize(REPLY) as stream:
            async for _ in stream:
                break
        synth_ms = (time.perf_counter() - synth_start) * 1000
        providers = (
            (stt.answered_at_ms - stt.received_at_ms)
            + (chat.answered_at_ms - chat.received_at_ms)
            + synth_ms
        )
        turn = replied - speech_end
        out["turn"].append(turn)
        out["providers"].append(providers)
        out["overhead"].append(turn - providers - TURN_END_S * 1000)
    await tts.aclose()
    return out


async def concurrent_calls(
    lk: RunningEmulator, scripted: OpenAICompatibleServer, emulator_pid: int, n: int
) -> None:
    emulator = psutil.Process(emulator_pid)
    me = psutil.Process(os.getpid())
    cpu0 = (sum(emulator.cpu_times()[:2]), sum(me.cpu_times()[:2]))
    wall0 = time.monotonic()
    sentence = "I am calling to ask about the opening hours of your shop on Saturday."
    scripted.transcripts += [sentence] * n
    scripted.replies += ["We are open from nine to five on Saturdays."] * n
    calls = await asyncio.gather(
        *(
            lk.control.inbound_call(
                f"+1555014{i:04d}",
                NUMBER,
                script=[
                    {"wait_for_silence_ms": 800},
                    {"say": sentence},
                    {"wait_for_silence_ms": 800},
                    {"hangup": True},
                ],
            )
            for i in range(n)
        )
    )
    views = [await ended(lk, c.sip_call_id) for c in calls]
    wall = time.monotonic() - wall0
    cpu1 = (sum(emulator.cpu_times()[:2]), sum(me.cpu_times()[:2]))
    gaps = [
        s["max_gap_ms"]
        for v in views
        for name, s in v["person"]["speakers"].items()
        if name.startswith("agent-") and s["frames"]
    ]
    call_minutes = sum((v["ended_at_ms"] - v["answered_at_ms"]) / 60_000 for v in views)
    print(f"{n} simultaneous calls with audio ({wall:.1f} s wall, {call_minutes:.2f} call-minutes)")
    print(
        f"  longest gap a caller heard        max {max(gaps):7.1f} ms   p50 of calls "
        f"{statistics.median(gaps):6.1f} ms   calls over 100 ms: {sum(g > 100 for g in gaps)}/{len(gaps)}"
        "   (target: none)"
    )
    print(
        f"  CPU per call-minute               emulator {(cpu1[0] - cpu0[0]) / call_minutes:6.2f} s"
        f"   agent-runtime {(cpu1[1] - cpu0[1]) / call_minutes:6.2f} s   ({psutil.cpu_count()} cores)"
    )


async def run(calls: int, concurrent: int) -> None:
    scripted = OpenAICompatibleServer()
    agent = agent_data(
        "agent_1",
        greeting=GREETING,
        stt=STTConfig(provider=STTProvider.OPENAI, model="whisper"),
        llm=LLMConfig(provider=LLMProvider.OPENAI, model="llama3.2"),
        tts=TTSConfig(provider=TTSProvider.ESPEAK),
    )
    with tempfile.TemporaryDirectory() as recordings:
        async with (
            serving(scripted) as model_url,
            emulator_process(recordings) as (lk, emulator_pid),
            registered_worker(
                lk,
                agents={"agent_1": KnownAgent("org_a", agent)},
                numbers={"pn_1": KnownNumber("org_a", number_data())},
                env={"OPENAI_BASE_URL": model_url},
            ),
        ):
            await route_number(lk, NUMBER, agent_id="agent_1")
            parts = await greeting_latency(lk, calls)
            floor = await floor_latency(lk, calls)
            print(f"greeting latency over {len(parts['total'])} inbound calls, one at a time")
            print(
                line(
                    "INVITE -> caller hears greeting",
                    parts["total"],
                    "(target p50 <= 400, p99 <= 1000)",
                )
            )
            for name in ("dispatch", "accept", "join", "publish", "first voice"):
                print(line(f"  {name}", parts[name]))
            print(line("floor: SDK join -> caller hears", floor, "(a bare participant, same path)"))
            turns = await turn_overhead(lk, scripted, calls)
            print(
                f"turn overhead over {calls} calls (the turn's end, max(VAD silence "
                f"{VAD_SILENCE_S * 1000:.0f} ms, endpointing {ENDPOINTING_S * 1000:.0f} ms), "
                "subtracted)"
            )
            print(line("speech end -> reply heard", turns["turn"]))
            print(line("  providers (STT + LLM TTFT + TTS)", turns["providers"]))
            print(line("  overhead", turns["overhead"], "(target p50 <= 150)"))
            await concurrent_calls(lk, scripted, emulator_pid, concurrent)


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for name in ("livekit", "livekit.agents", "httpx"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    asyncio.run(run(args.calls, args.concurrent))


if __name__ == "__main__":
    main()
