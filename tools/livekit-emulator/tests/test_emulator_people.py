"""Emulated people on SIP calls, heard and answered by an unmodified SDK participant."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import av
import httpx
import numpy as np
import pytest
from livekit import api, rtc
from livekit.protocol import egress as egress_pb
from livekit.protocol import sip

from livekit_emulator.testing import ControlError, RunningEmulator
from tests.support.audio import (
    Recorder,
    dominant_frequency,
    publish_tone,
    record,
    rms,
    subscribed_audio,
)
from tests.support.emulator import inbound_trunk, individual_rule
from tests.support.sdk import join

T = TypeVar("T")
CALLER = "+15550142"
NUMBER = "+12025550123"


async def agent_in(lk: RunningEmulator, rooms: list[rtc.Room], room_name: str) -> rtc.Room:
    return await join(lk, rooms, "agent", room_name, kind="agent")


async def until(check: Callable[[], Awaitable[T]], within_s: float = 20.0) -> T:
    """Poll the control API until `check` returns something truthy."""
    async with asyncio.timeout(within_s):
        while not (result := await check()):  # noqa: ASYNC110 - polled over HTTP
            await asyncio.sleep(0.05)
        return result


def wav_samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (48_000, 1)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


async def test_a_scripted_caller_talks_with_an_sdk_participant(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, rooms: list[rtc.Room]
) -> None:
    trunk = await inbound_trunk(lkapi, NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    call = await lk.control.inbound_call(
        CALLER,
        NUMBER,
        script=[
            {"wait_for_silence_ms": 300},
            {"say": "Hello, I would like to book a table."},
            {"dtmf": "12#"},
        ],
    )
    room = await agent_in(lk, rooms, call.room_name)
    caller = room.remote_participants[call.participant_identity]
    assert caller.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP

    digits: list[str] = []
    room.on("sip_dtmf_received", lambda dtmf: digits.append(dtmf.digit))
    track = await subscribed_audio(room, call.participant_identity)

    # The agent speaks for a second (a tone stands in for its voice), then falls silent: the
    # caller's turn comes after 300 ms of silence.
    await publish_tone(room, 440.0, seconds=1.0)
    heard = await record(track, 4.0)
    assert rms(heard) > 500  # the caller's sentence

    async def pressed() -> bool:
        return "".join(digits) == "12#"

    await until(pressed)
    await room.local_participant.publish_dtmf(code=5, digit="5")

    async def done() -> dict[str, Any]:
        view = await lk.control.call(call.sip_call_id)
        person = view["person"]
        finished = all(s["done_at_ms"] for s in person["steps"]) and len(person["steps"]) == 3
        return view if finished and person["dtmf_heard"] == "5" else {}

    view = await until(done)
    person = view["person"]
    assert person["said"] == ["Hello, I would like to book a table."]
    assert 700 <= person["heard_ms"] <= 1500  # one second of tone
    assert person["first_heard_at_ms"] >= view["answered_at_ms"]

    audio = wav_samples(await lk.control.audio(call.sip_call_id))
    loud = audio[np.abs(audio) > 2000]
    assert len(loud) > 0
    start = int(np.argmax(np.abs(audio) > 2000))
    assert abs(dominant_frequency(audio[start : start + 24_000]) - 440.0) <= 5.0


async def test_a_machine_answers_with_a_greeting_and_a_beep(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, rooms: list[rtc.Room]
) -> None:
    await lk.control.set_outcome("+15550199", answered_by="machine")
    trunk = await lkapi.sip.create_outbound_trunk(
        sip.CreateSIPOutboundTrunkRequest(
            trunk=sip.SIPOutboundTrunkInfo(name="out", address="sip.example.com", numbers=[NUMBER])
        )
    )
    room = await agent_in(lk, rooms, "outbound-vm")
    info = await lkapi.sip.create_sip_participant(
        sip.CreateSIPParticipantRequest(
            sip_trunk_id=trunk.sip_trunk_id,
            sip_call_to="+15550199",
            room_name="outbound-vm",
            wait_until_answered=True,
        )
    )
    track = await subscribed_audio(room, info.participant_identity)

    async def beeped() -> dict[str, Any]:
        view = await lk.control.call(info.sip_call_id)
        steps = view["person"]["steps"]
        return view if len(steps) == 2 and steps[1]["done_at_ms"] else {}

    recorder = Recorder(track)
    view = await until(beeped)
    await asyncio.sleep(0.3)  # the beep's last frames in flight
    await recorder.aclose()
    assert view["person"]["answered_by"] == "machine"
    assert "voicemail" in view["person"]["steps"][0]["step"]["say"]
    heard = recorder.samples()
    loud = np.flatnonzero(np.abs(heard) > 2000)
    greeting, beep = heard[loud[0] : loud[-1] - 48_000], heard[loud[-1] - 12_000 : loud[-1]]
    assert len(greeting) > 48_000  # seconds of speech
    assert abs(dominant_frequency(beep) - 1000.0) <= 10.0


async def test_say_and_dtmf_need_a_live_answered_call(lk: RunningEmulator) -> None:
    with pytest.raises(ControlError) as caught:
        await lk.control.say("SCL_unknown", "hello")
    assert caught.value.status_code == 404
    with pytest.raises(ControlError) as caught:
        await lk.control.press("SCL_unknown", "12x")
    assert caught.value.status_code == 422


async def test_a_room_composite_recording_holds_both_voices(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, rooms: list[rtc.Room]
) -> None:
    trunk = await inbound_trunk(lkapi, NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    call = await lk.control.inbound_call(CALLER, NUMBER)
    room = await agent_in(lk, rooms, call.room_name)
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name=call.room_name,
            audio_only=True,
            file_outputs=[api.EncodedFileOutput(filepath="calls/{room_name}.ogg")],
        )
    )
    await publish_tone(room, 440.0, seconds=1.0)
    said = await lk.control.say(call.sip_call_id, "Yes, you may record this call.")
    await asyncio.sleep(said["duration_ms"] / 1000 + 1.5)
    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))

    async def written() -> Any:
        listed = await lkapi.egress.list_egress(api.ListEgressRequest(egress_id=started.egress_id))
        return listed.items[0] if listed.items[0].file_results else None

    info = await until(written)
    assert info.status == egress_pb.EgressStatus.EGRESS_COMPLETE
    result = info.file_results[0]
    assert result.filename == f"{call.room_name}.ogg"
    assert result.size > 0 and result.duration > 2 * 10**9
    with av.open(result.location) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        samples = np.concatenate(
            [f.to_ndarray().reshape(-1) for f in container.decode(stream)]
        ).astype(float)
    rate = 48_000
    # The agent's tone, then the caller's words: both in the file.
    tone = samples[int(0.2 * rate) : int(0.9 * rate)]
    assert abs(dominant_frequency(tone * 32767) - 440.0) <= 5.0
    words = samples[int(1.3 * rate) :]
    assert np.sqrt(np.mean(words**2)) * 32767 > 300


async def test_a_bad_script_is_refused_naming_the_step_and_places_no_call(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, NUMBER)
    await individual_rule(lkapi, [trunk.sip_trunk_id])
    async with httpx.AsyncClient(base_url=lk.url) as client:
        response = await client.post(
            "/emulator/inbound-calls",
            json={
                "from_number": CALLER,
                "to_number": NUMBER,
                "script": [{"say": "Hello"}, {"dtmf": "12x"}],
            },
        )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid request body"
    assert any(d["loc"][:2] == ["script", 1] for d in body["details"])
    state = await lk.control.state()
    assert (state["calls"], state["rooms"]) == ([], [])
