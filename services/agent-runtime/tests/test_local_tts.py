"""The built-in offline voice: the real espeak-ng program behind livekit-agents' TTS interface."""

from __future__ import annotations

import math
import shutil
from array import array

import pytest
from livekit import rtc

from agent_runtime.domain import EngineMissing
from agent_runtime.local_tts import SAMPLE_RATE, EspeakTTS, espeak_voice
from agent_runtime.sessions import build_components
from talkifai_common.agent_capabilities import present_keys, required_keys
from talkifai_common.voice import TTSConfig, TTSProvider
from tests.support.agent_fakes import agent_data

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def espeak_installed() -> None:
    """make test and make unit install it (tools/dev/system-packages.sh)."""
    assert shutil.which("espeak-ng"), "espeak-ng is not installed: run tools/dev/system-packages.sh"


async def spoken(engine: EspeakTTS, text: str) -> list[rtc.AudioFrame]:
    """Every frame the engine produced for `text`."""
    async with engine.synthesize(text) as stream:
        return [audio.frame async for audio in stream]


def seconds(frames: list[rtc.AudioFrame]) -> float:
    return sum(f.samples_per_channel for f in frames) / frames[0].sample_rate


def rms(frames: list[rtc.AudioFrame]) -> float:
    samples = array("h")
    for frame in frames:
        samples.frombytes(bytes(frame.data))
    return math.sqrt(sum(s * s for s in samples) / len(samples))


@pytest.mark.parametrize(
    ("language", "voice"),
    [("en-US", "en-us"), ("en-GB", "en-gb"), ("de-DE", "de"), ("pt-BR", "pt-br"), ("fr", "fr")],
)
def test_a_language_picks_espeaks_voice_for_it(language: str, voice: str) -> None:
    assert espeak_voice(language) == voice


async def test_a_sentence_is_spoken_as_audible_speech_of_a_plausible_length() -> None:
    engine = EspeakTTS(voice="en-us")
    frames = await spoken(engine, "Hello, thanks for calling Widgets. How can I help you today?")
    await engine.aclose()

    assert frames[0].sample_rate == SAMPLE_RATE and frames[0].num_channels == 1
    # Eleven words at 165 words a minute: about four seconds, pauses included.
    assert 2.5 < seconds(frames) < 7.0
    assert rms(frames) > 500  # speech, not silence


async def test_more_text_takes_longer_to_say() -> None:
    engine = EspeakTTS(voice="en-us")
    short = seconds(await spoken(engine, "Yes."))
    longer = seconds(await spoken(engine, "Yes, I can book a table for four people at eight."))
    await engine.aclose()
    assert longer > 3 * short


async def test_text_reaches_the_engine_as_text_never_as_a_command_line() -> None:
    engine = EspeakTTS(voice="en-us")
    frames = await spoken(engine, '--version "; rm -rf / $(reboot) -v xx')
    await engine.aclose()
    assert seconds(frames) > 1.0  # it read the words aloud instead of acting on them


async def test_another_language_is_spoken_in_its_voice() -> None:
    engine = EspeakTTS(voice=espeak_voice("de-DE"))
    frames = await spoken(engine, "Guten Tag, wie kann ich helfen?")
    await engine.aclose()
    assert seconds(frames) > 1.0 and rms(frames) > 500


def test_a_missing_engine_says_what_to_install() -> None:
    with pytest.raises(EngineMissing, match=r"espeak-ng is not installed .*apt-get install"):
        EspeakTTS(voice="en-us", binary="espeak-ng-not-installed-here")


def test_an_agent_with_the_espeak_voice_needs_the_program_not_a_key() -> None:
    agent = agent_data(language="en-GB", tts=TTSConfig(provider=TTSProvider.ESPEAK))
    assert required_keys(agent) == frozenset({"DEEPGRAM_API_KEY", "OPENAI_API_KEY", "espeak-ng"})
    # Advertised where it is installed, and only there.
    assert "espeak-ng" in present_keys({})
    assert "espeak-ng" not in present_keys({}, installed=lambda _: None)
    built = build_components(agent, {"DEEPGRAM_API_KEY": "k", "OPENAI_API_KEY": "k"})
    assert isinstance(built.tts, EspeakTTS)
    assert built.tts.command()[3:5] == ["-v", "en-gb"]
