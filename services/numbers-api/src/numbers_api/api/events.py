"""The server-sent event stream of an organization's CloudEvents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from numbers_api.api.deps import ContextDep
from numbers_api.stream_slots import StreamSlots
from talkifai_common.auth import Principal
from talkifai_common.errors import Unauthenticated
from talkifai_common.web import BearerCredentials, problem_responses

SSE_HEARTBEAT_S = 15.0

router = APIRouter(tags=["events"])


async def sse_token(
    credentials: BearerCredentials,
    access_token: Annotated[
        str | None, Query(description="For EventSource, which cannot send headers.")
    ] = None,
) -> str:
    """The bearer token from the header or, for EventSource, the `access_token` query."""
    token = credentials.credentials if credentials else access_token
    if not token:
        raise Unauthenticated(
            "Missing bearer token: send `Authorization: Bearer <JWT>` or `?access_token=<JWT>`"
        )
    return token


SseToken = Annotated[str, Depends(sse_token)]


async def sse_principal(ctx: ContextDep, token: SseToken) -> Principal:
    """The caller of an event stream."""
    return await ctx.verifier.verify(token)


SsePrincipal = Annotated[Principal, Depends(sse_principal)]


async def stream_slot(
    request: Request, token: SseToken, principal: SsePrincipal
) -> AsyncIterator[None]:
    """A slot among the token's and the organization's concurrent streams, held while the
    stream is open (429 when either cap is reached)."""
    slots: StreamSlots = request.app.state.event_streams
    with slots.hold(token, principal.org_id):
        yield


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses=problem_responses(401, 422, 429, 503),
    dependencies=[Depends(stream_slot)],
)
async def stream_events(
    request: Request, ctx: ContextDep, principal: SsePrincipal
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: the organization's agent and phone number CloudEvents, live.

    Each message has the event id as `id`, the NATS subject as `event` and the CloudEvent as `data`.
    At most `EVENTS_STREAMS_PER_TOKEN` streams per token and `EVENTS_STREAMS_PER_ORG` per
    organization are open at once; one more is a 429.
    """
    with ctx.live.connect(principal.org_id) as queue:
        yield ServerSentEvent(comment="connected", retry=2000)
        while not ctx.shutting_down.is_set() and not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), SSE_HEARTBEAT_S)
            except TimeoutError:
                yield ServerSentEvent(comment="ping")
                continue
            if event is None:
                return
            yield ServerSentEvent(id=event.id, event=event.subject, raw_data=event.data)
