"""A customer's webhook endpoint and agent-runtime's transcript of a call, for the tests of
transcripts and end-of-call reports."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from talkifai_common.events import (
    CallTranscriptData,
    CallUsageData,
    TranscriptItem,
    TranscriptRole,
)
from talkifai_common.voice import Architecture
from tests.support.call_orchestrator import Seeded
from tests.support.servers import serve_asgi

REPORT = "talkifai.telephony.call.report.v1"


@dataclass
class Hook:
    """A customer's webhook endpoint that accepts everything."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=204)

    async def reports(self) -> list[tuple[dict[str, str], dict[str, Any]]]:
        return [
            (headers, json.loads(body))
            for headers, body in self.received
            if headers["x-talkifai-event-type"] == REPORT
        ]


@contextlib.asynccontextmanager
async def customer_hook() -> AsyncIterator[Hook]:
    """A customer's webhook endpoint served on loopback."""
    rec = Hook()
    app = Starlette(routes=[Route("/hook", rec.endpoint, methods=["POST"])])
    async with serve_asgi(app) as base:
        rec.url = f"{base}/hook"
        yield rec


def transcript_items() -> list[TranscriptItem]:
    """A short conversation: greeting, a request with a masked card number, a tool call."""
    start = datetime.now(UTC)
    return [
        TranscriptItem(role=TranscriptRole.AGENT, text="Hello! How can I help?", at=start),
        TranscriptItem(
            role=TranscriptRole.USER,
            text="Book a table, my card is [redacted card number].",
            at=start + timedelta(seconds=3),
        ),
        TranscriptItem(
            role=TranscriptRole.AGENT, text="Booked. Goodbye!", at=start + timedelta(seconds=6)
        ),
        TranscriptItem(
            role=TranscriptRole.TOOL,
            text="The call has ended.",
            at=start + timedelta(seconds=8),
            tool_name="end_call",
            tool_arguments="{}",
        ),
    ]


def transcript_parts(call_id: str, seeded: Seeded, room: str) -> list[CallTranscriptData]:
    """The call's transcript in two parts, as agent-runtime cuts a long one, with its usage."""
    items = transcript_items()
    now = datetime.now(UTC)
    usage = CallUsageData(
        call_id=call_id,
        room_name=room,
        agent_id=seeded.agent.id,
        architecture=Architecture.PIPELINE,
        direction="outbound",
        phone_number=seeded.phone_number,
        llm_input_tokens=120,
        llm_output_tokens=30,
        tts_characters=38,
        stt_seconds=2.5,
        duration_s=9.0,
        end_reason="agent_ended",
        started_at=now - timedelta(seconds=9),
        ended_at=now,
    )
    return [
        CallTranscriptData(
            call_id=call_id,
            room_name=room,
            agent_id=seeded.agent.id,
            direction="outbound",
            phone_number=seeded.phone_number,
            part=number,
            parts=2,
            items=tuple(chunk),
            truncated=False,
            usage=usage,
            started_at=now - timedelta(seconds=9),
            ended_at=now,
        )
        for number, chunk in ((1, items[:2]), (2, items[2:]))
    ]
