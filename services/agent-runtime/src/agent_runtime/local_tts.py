"""Speech synthesis that runs where agent-runtime runs, with no account: espeak-ng.

espeak-ng (a Debian package, in the agent-runtime image) is a formant synthesizer: robotic but
intelligible, instant, and offline. It is here so that an agent can speak with nothing configured
(tests, `make run`, air-gapped sites), not as a voice for production calls.

The text goes to espeak-ng on stdin (never on its command line), and it answers a 22,050 Hz mono
WAV on stdout, which livekit-agents' audio emitter decodes into frames.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from typing import Any

from livekit.agents import APIConnectionError, APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from agent_runtime.domain import EngineMissing
from talkifai_common.agent_capabilities import ESPEAK_NG

SAMPLE_RATE = 22_050  # espeak-ng's own rate
WORDS_PER_MINUTE = 165  # a little under espeak-ng's default of 175: easier on a phone line


def espeak_voice(language: str) -> str:
    """espeak-ng's voice for a BCP 47 language: `en-US` -> `en-us`, `de-DE` -> `de`."""
    lowered = language.lower()
    # espeak-ng has regional voices for a few languages only; the bare language for the rest.
    regional = {"en-us", "en-gb", "pt-br", "es-419", "fr-be", "zh-yue"}
    return lowered if lowered in regional else lowered.split("-")[0]


class EspeakTTS(tts.TTS[Any]):
    """livekit-agents TTS over the espeak-ng program (EngineMissing when it is not installed)."""

    def __init__(
        self,
        *,
        voice: str,
        words_per_minute: int = WORDS_PER_MINUTE,
        binary: str = ESPEAK_NG,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=1,
        )
        path = shutil.which(binary)
        if path is None:
            raise EngineMissing(ESPEAK_NG, "apt-get install espeak-ng")
        self._path = path
        self._voice = voice
        self._words_per_minute = words_per_minute

    @property
    def model(self) -> str:
        """The engine's name (livekit-agents reports it in metrics)."""
        return ESPEAK_NG

    @property
    def provider(self) -> str:
        """Who synthesizes: the local engine."""
        return ESPEAK_NG

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> tts.ChunkedStream:
        """One utterance, spoken whole."""
        return _EspeakStream(tts=self, input_text=text, conn_options=conn_options)

    def command(self) -> list[str]:
        """The espeak-ng command line (the text comes on stdin)."""
        return [
            self._path,
            "--stdin",
            "--stdout",
            "-v",
            self._voice,
            "-s",
            str(self._words_per_minute),
        ]


class _EspeakStream(tts.ChunkedStream):
    def __init__(self, *, tts: EspeakTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._engine = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._engine.command(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            wav, error = await process.communicate(self.input_text.encode())
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            raise
        if process.returncode != 0 or not wav:
            detail = error.decode(errors="replace").strip() or f"exit status {process.returncode}"
            raise APIConnectionError(f"espeak-ng failed: {detail}", retryable=False)
        output_emitter.initialize(
            request_id=uuid.uuid4().hex,
            sample_rate=SAMPLE_RATE,
            num_channels=1,
            mime_type="audio/wav",
        )
        output_emitter.push(wav)
        output_emitter.flush()
