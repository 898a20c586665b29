"""A scripted OpenAI-compatible server, as self-hosted model servers (Ollama, vLLM, LocalAI,
Speaches, Kokoro-FastAPI) expose it: `POST /v1/chat/completions` (streamed, with tool calls),
`POST /v1/audio/transcriptions` and `POST /v1/audio/speech`.

An honest stand-in at the protocol level, as the emulator is for LiveKit: it answers what the
test scripted and records every request as it arrived.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import struct
import time
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support.servers import serve_asgi


@dataclass(frozen=True)
class ToolCall:
    """A function call the model makes instead of answering in text."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Recorded:
    """One request as the server received it."""

    path: str
    authorization: str
    body: dict[str, Any]
    # Wall-clock milliseconds: when the request arrived, when the answer's first bytes left.
    received_at_ms: float = 0.0
    answered_at_ms: float = 0.0


@dataclass
class OpenAICompatibleServer:
    """Answers in order from its scripts; `requests` holds what it was asked."""

    replies: list[str | ToolCall] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    speech_tone_hz: float = 440.0
    speech_seconds: float = 0.25
    requests: list[Recorded] = field(default_factory=list)

    def app(self) -> Starlette:
        """The ASGI app, to serve on loopback."""
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/audio/transcriptions", self._transcription, methods=["POST"]),
                Route("/v1/audio/speech", self._speech, methods=["POST"]),
            ]
        )

    def _record(self, request: Request, body: dict[str, Any]) -> Recorded:
        authorization = request.headers.get("authorization", "")
        recorded = Recorded(request.url.path, authorization, body, received_at_ms=_now_ms())
        self.requests.append(recorded)
        return recorded

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        recorded = self._record(request, body)
        if not self.replies:
            return JSONResponse({"error": {"message": "no scripted reply left"}}, 500)
        reply = self.replies.pop(0)
        chunks = _tool_call_chunks(reply) if isinstance(reply, ToolCall) else _text_chunks(reply)
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "this server only streams"}}, 400)
        return StreamingResponse(
            _sse(body["model"], chunks, recorded), media_type="text/event-stream"
        )

    async def _transcription(self, request: Request) -> Response:
        form = await request.form()
        upload: Any = form["file"]
        audio = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        recorded = self._record(
            request, {**fields, "file_bytes": len(audio), "file_head": audio[:4].hex()}
        )
        text = self.transcripts.pop(0) if self.transcripts else ""
        recorded.answered_at_ms = _now_ms()
        return JSONResponse({"text": text})

    async def _speech(self, request: Request) -> Response:
        body = await request.json()
        self._record(request, body)
        return Response(tone_wav(self.speech_tone_hz, self.speech_seconds), media_type="audio/wav")


@contextlib.asynccontextmanager
async def serving(server: OpenAICompatibleServer) -> AsyncIterator[str]:
    """Serve the scripted server on loopback; yields its base URL as OPENAI_BASE_URL is written
    (with `/v1`)."""
    async with serve_asgi(server.app()) as url:
        yield f"{url}/v1"


def tone_wav(frequency_hz: float, seconds: float, sample_rate: int = 24_000) -> bytes:
    """A mono 16-bit WAV of a sine tone (what the speech endpoint answers)."""
    count = int(sample_rate * seconds)
    samples = (
        int(12_000 * math.sin(2 * math.pi * frequency_hz * n / sample_rate)) for n in range(count)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def _text_chunks(text: str) -> list[dict[str, Any]]:
    words = text.split(" ")
    pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in pieces]
    return [_choice(delta) for delta in deltas] + [_choice({}, finish="stop")]


def _tool_call_chunks(call: ToolCall) -> list[dict[str, Any]]:
    arguments = json.dumps(call.arguments)
    half = len(arguments) // 2
    first = {"index": 0, "id": "call_1", "type": "function"}
    return [
        _choice({"role": "assistant", "content": None}),
        _choice({"tool_calls": [{**first, "function": {"name": call.name, "arguments": ""}}]}),
        _choice({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]}),
        _choice({"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}),
        _choice({}, finish="tool_calls"),
    ]


def _choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "finish_reason": finish}


def _now_ms() -> float:
    return time.time() * 1000


async def _sse(
    model: str, choices: list[dict[str, Any]], recorded: Recorded
) -> AsyncIterator[bytes]:
    recorded.answered_at_ms = _now_ms()
    for choice in choices:
        chunk = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [choice],
        }
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    usage = {"prompt_tokens": 12, "completion_tokens": len(choices), "total_tokens": 12}
    last = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [],
        "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
    }
    yield f"data: {json.dumps(last)}\n\n".encode()
    yield b"data: [DONE]\n\n"
