"""`make demo`: one scripted phone conversation end to end, offline, and where to listen to it.

An emulated caller (espeak-ng) dials a number routed to our agent; the real agent-runtime worker
joins the call's room over WebRTC through the LiveKit emulator, greets, hears the caller (Silero
VAD), has the words transcribed and answered by a model server, speaks its answers (espeak-ng),
and hangs up when the caller says goodbye. The whole call is recorded (room-composite egress).

The model server is a scripted OpenAI-compatible one on loopback (the test suite's: it answers
the lines below, whatever it hears), so the demo needs no account and no download; with
`--model-server http://127.0.0.1:8000/v1` the agent uses a real one instead (for STT it must have
`/v1/audio/transcriptions`, e.g. Speaches; Ollama serves chat only).

    uv run python tools/dev/demo.py [--out .run/demo] [--model-server URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from livekit import api

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.support

from agent_runtime.directory import KnownAgent, KnownNumber
from livekit_emulator.testing import running_emulator, test_config
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
from tests.support.openai_server import OpenAICompatibleServer, ToolCall, serving

NUMBER = "+12025550123"
CALLER = "+15550142"
GREETING = "Hello, thanks for calling Widgets. How can I help?"
CALLER_LINES = [
    "Hi, I would like to know when my order will arrive.",
    "It is order number four two.",
    "Great, thank you. Goodbye.",
]
AGENT_LINES = [
    "Of course. What is your order number?",
    "Order forty two ships today and arrives on Thursday.",
]


@contextlib.asynccontextmanager
async def model_server(url: str | None) -> AsyncIterator[str]:
    """The given model server, or the scripted one answering the demo's lines."""
    if url:
        yield url
        return
    scripted = OpenAICompatibleServer(
        transcripts=list(CALLER_LINES),
        replies=[*AGENT_LINES, ToolCall("end_call", {}), "Goodbye!"],
    )
    async with serving(scripted) as base_url:
        yield base_url


def timeline(view: dict[str, Any]) -> list[tuple[int, str, str]]:
    """Who spoke when, with what they said: the caller's lines, and the agent's answers (its
    stretches of voice between two of the caller's lines are one answer)."""
    person = view["person"]
    start = view["answered_at_ms"]
    caller = [t[0] for t in person["spoke"]]
    lines = [(at - start, "caller", text) for at, text in zip(caller, person["said"], strict=False)]
    agent = next((s for k, s in person["speakers"].items() if k.startswith("agent-")), None)
    answers = [GREETING, *AGENT_LINES, "Goodbye!"]
    seen: set[int] = set()
    for begin, _ in agent["turns"] if agent else []:
        answer = sum(1 for at in caller if at < begin)
        if answer not in seen:
            seen.add(answer)
            text = answers[answer] if answer < len(answers) else "..."
            lines.append((begin - start, "agent", text))
    return sorted(lines)


async def run(out: Path, model_url: str | None) -> None:
    agent = agent_data(
        "agent_demo",
        greeting=GREETING,
        instructions="You answer questions about orders for Widgets, briefly.",
        stt=STTConfig(provider=STTProvider.OPENAI, model="whisper-1"),
        llm=LLMConfig(provider=LLMProvider.OPENAI, model="llama3.2"),
        tts=TTSConfig(provider=TTSProvider.ESPEAK),
    )
    config = test_config(recordings_dir=str(out))
    async with (
        model_server(model_url) as base_url,
        running_emulator(config) as lk,
        registered_worker(
            lk,
            agents={"agent_demo": KnownAgent("o", agent)},
            numbers={"pn_1": KnownNumber("o", number_data())},
            env={"OPENAI_BASE_URL": base_url},
        ),
    ):
        await route_number(lk, NUMBER, agent_id="agent_demo", org_id="o")
        lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        script: list[dict[str, Any]] = []
        for line in CALLER_LINES:
            script += [{"wait_for_silence_ms": 1000}, {"say": line}]
        call = await lk.control.inbound_call(CALLER, NUMBER, script=script)
        print(f"calling {NUMBER} from {CALLER}: room {call.room_name}")
        egress = await lkapi.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(
                room_name=call.room_name,
                audio_only=True,
                file_outputs=[api.EncodedFileOutput(filepath="call-recording.ogg")],
            )
        )
        async with asyncio.timeout(180):
            while not (view := await lk.control.call(call.sip_call_id))["ended_at_ms"]:  # noqa: ASYNC110 - polled over HTTP
                await asyncio.sleep(0.2)
            while True:
                listed = await lkapi.egress.list_egress(
                    api.ListEgressRequest(egress_id=egress.egress_id)
                )
                if listed.items and listed.items[0].file_results:
                    recording = listed.items[0].file_results[0].location
                    break
                await asyncio.sleep(0.1)
        heard = out / "caller-heard.wav"
        audio = await lk.control.audio(call.sip_call_id)
        await asyncio.to_thread(heard.write_bytes, audio)
        await lkapi.aclose()
    print(f"the call lasted {(view['ended_at_ms'] - view['answered_at_ms']) / 1000:.1f} s:")
    for at_ms, who, text in timeline(view):
        print(f"  {at_ms / 1000:6.1f} s  {who:<6}  {text}")
    print(f"listen: {recording}  (the call, both voices)")
    print(f"        {heard}  (what the caller heard)")


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(".run/demo"))
    parser.add_argument("--model-server", default=None)
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.ERROR)
    for name in ("livekit", "livekit.agents"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    asyncio.run(run(args.out, args.model_server))


if __name__ == "__main__":
    main()
