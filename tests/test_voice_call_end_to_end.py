"""A call that talks, end to end through every service: numbers-api -> NATS -> trunk-sync ->
LiveKit (the emulator); call-orchestrator places the call; agent-runtime's real worker joins the
room over WebRTC and talks with the emulated callee (espeak-ng both ways, Silero VAD, a scripted
OpenAI-compatible model server); the number records only with consent.

The callee answers and speaks first, the agent asks to record, the callee says yes, the agent
reports the consent and call-orchestrator starts the recording, the callee says goodbye, the agent
hangs up. History, the `telephony.call.*` events, the usage event, the transcript call-orchestrator
serves and the recording agree.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import av
import numpy as np
import pytest
from livekit import api

from talkifai_common.agent_capabilities import ALL_KEYS
from tests.support.databases import DatabaseFactory
from tests.support.full_stack import Stack, running_stack
from tests.support.openai_server import OpenAICompatibleServer, ToolCall, serving
from tests.support.trunk_sync import eventually, token_factory

pytestmark = [
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
    pytest.mark.slow,
]

NUMBER = "+12025550177"
CALLEE = "+14155550123"
CALL_TIMEOUT_S = 90.0  # a guard against hanging, never an expectation of speed


@pytest.fixture
async def model_server() -> AsyncIterator[tuple[OpenAICompatibleServer, str]]:
    scripted = OpenAICompatibleServer()
    async with serving(scripted) as base_url:
        yield scripted, base_url


@pytest.fixture
async def stack(
    database_factory: DatabaseFactory,
    clean_stream: str,
    monkeypatch: pytest.MonkeyPatch,
    model_server: tuple[OpenAICompatibleServer, str],
) -> AsyncIterator[Stack]:
    for name in ALL_KEYS:
        monkeypatch.delenv(name, raising=False)
    # No account anywhere: the OpenAI providers go to the local server, espeak-ng speaks.
    monkeypatch.setenv("OPENAI_BASE_URL", model_server[1])
    async with running_stack(database_factory, clean_stream) as running:
        yield running


async def consent_number_with_local_agent(stack: Stack) -> dict[str, Any]:
    agent = await stack.api.agent(
        "Sales",
        instructions="You call customers about their orders.",
        stt={"provider": "openai", "model": "whisper-1"},
        llm={"provider": "openai", "model": "llama3.2"},
        tts={"provider": "espeak"},
    )
    await stack.api.number(
        NUMBER,
        termination_uri="sip.example.com",
        sip_username="acme",
        sip_password="pa55-word-e2e",
        recording_mode="consent",
    )
    response = await stack.api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": NUMBER, "outbound_agent_id": agent["id"]},
    )
    assert response.status_code == 200, response.text

    async def ready() -> bool:
        # call-orchestrator knows the number and the agent can run somewhere.
        probe = await stack.calls.get(
            "/calls", headers={"Authorization": f"Bearer {token_factory()('org_a')}"}
        )
        runnable = stack.runtimes.live("talkifai-agent")
        return probe.status_code == 200 and bool(runnable)

    await eventually(ready, within_s=20)
    return agent


async def test_a_consented_outbound_call_talks_records_and_every_record_agrees(
    stack: Stack, model_server: tuple[OpenAICompatibleServer, str]
) -> None:
    scripted, _ = model_server
    scripted.transcripts += ["Hello?", "Yes, you may record.", "Goodbye."]
    scripted.replies += [
        "Hi, this is Sales about your order. May I record this call?",
        ToolCall("record_consent", {"consented": True}),
        "Thank you. Your order ships today.",
        ToolCall("end_call", {}),
        "Bye.",
    ]
    agent = await consent_number_with_local_agent(stack)
    await stack.lk.control.set_outcome(
        CALLEE,
        ring_ms=200,
        script=[
            {"wait_ms": 300},
            {"say": "Hello?"},
            {"wait_for_silence_ms": 1000},
            {"say": "Yes, you may record."},
            {"wait_for_silence_ms": 1000},
            {"say": "Goodbye."},
        ],
    )
    headers = {"Authorization": f"Bearer {token_factory()('org_a')}"}

    async def placed() -> Any:
        response = await stack.calls.post(
            "/telephony/outbound-call",
            json={"to_number": CALLEE, "from_number": NUMBER},
            headers=headers,
        )
        # The number may still be syncing: 409/503 until call-orchestrator can place it.
        return response if response.status_code == 200 else None

    response = await eventually(placed, within_s=20)
    body = response.json()
    assert body["success"] is True and body["agent"]["id"] == agent["id"]
    call_id = body["call_id"]

    async def finished() -> dict[str, Any] | None:
        call = (await stack.calls.get(f"/calls/{call_id}", headers=headers)).json()
        return call if call["status"] in ("completed", "failed") else None

    call = await eventually(finished, within_s=CALL_TIMEOUT_S)
    assert call["status"] == "completed", call
    assert call["recording_egress_id"]

    async def events_in() -> list[dict[str, Any]] | None:
        names = [e["type"].split(".")[-2] for e in stack.events if e["subject"] == call_id]
        return stack.events if "completed" in names and "usage" in names else None

    events = [e for e in await eventually(events_in, within_s=15) if e["subject"] == call_id]
    kinds = [e["type"].split(".")[-2] for e in events]
    assert kinds[0] == "initiated" and "answered" in kinds and "completed" in kinds
    completed = next(e for e in events if e["type"].endswith("call.completed.v1"))
    usage = next(e for e in events if e["type"].endswith("call.usage.v1"))
    assert usage["data"]["end_reason"] == "agent_ended"
    assert usage["data"]["stt_seconds"] > 1.0
    assert usage["data"]["tts_characters"] >= len("Hi, this is Sales about your order.")
    assert usage["data"]["llm_input_tokens"] > 0
    # History, the completion event and the agent's own clock tell the same duration.
    assert completed["data"]["duration_s"] == pytest.approx(call["duration_s"], abs=0.01)
    assert usage["data"]["duration_s"] == pytest.approx(call["duration_s"], abs=3.0)

    # agent-runtime's transcript went through the bus to call-orchestrator, which serves it.
    async def transcript_in() -> dict[str, Any] | None:
        response = await stack.calls.get(f"/calls/{call_id}/transcript", headers=headers)
        return dict(response.json()) if response.status_code == 200 else None

    items = (await eventually(transcript_in, within_s=15))["items"]
    assert [i["text"] for i in items if i["role"] == "user"] == [
        "Hello?",
        "Yes, you may record.",
        "Goodbye.",
    ]
    assert next(i["text"] for i in items if i["role"] == "agent") == (
        "Hi, this is Sales about your order. May I record this call?"
    )
    tools = [
        (i["tool_name"], json.loads(i["tool_arguments"])) for i in items if i["role"] == "tool"
    ]
    assert tools == [("record_consent", {"consented": True}), ("end_call", {})]
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)

    # The recording began after the yes: it holds the agent's thanks and the callee's goodbye.
    lkapi = api.LiveKitAPI(stack.lk.url, stack.lk.api_key, stack.lk.api_secret)
    try:

        async def written() -> Any:
            listed = await lkapi.egress.list_egress(
                api.ListEgressRequest(egress_id=call["recording_egress_id"])
            )
            return listed.items[0] if listed.items and listed.items[0].file_results else None

        egress = await eventually(written, within_s=15)
    finally:
        await lkapi.aclose()
    with av.open(egress.file_results[0].location) as container:
        stream = container.streams.audio[0]
        samples = np.concatenate(
            [frame.to_ndarray().reshape(-1) for frame in container.decode(stream)]
        )
    windows = samples[: len(samples) // 960 * 960].reshape(-1, 960)  # 20 ms each
    voiced = np.sqrt((windows**2).mean(axis=1)) > 0.01  # above -40 dBFS
    assert voiced.sum() * 0.02 > 1.5  # seconds of speech: both voices after the consent

    callee = await stack.lk.control.call(
        next(c["sip_call_id"] for c in (await stack.lk.control.state())["calls"])
    )
    person = callee["person"]
    assert person["said"] == ["Hello?", "Yes, you may record.", "Goodbye."]
    assert person["heard_ms"] > 2_000
