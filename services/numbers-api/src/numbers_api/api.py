"""numbers-api's HTTP routes: thin, each one a handler call."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from numbers_api import handlers
from numbers_api.adapters.postgres import Store
from numbers_api.config import Settings
from numbers_api.consumers import LiveEvents
from numbers_api.schemas import (
    AgentAssignment,
    AgentCreate,
    AgentUpdate,
    DevTokenRequest,
    NumbersForSyncRequest,
    Page,
    PhoneNumberCreate,
    PhoneNumberUpdate,
    TokenResponse,
)
from numbers_api.stream_slots import StreamSlots
from talkifai_common.auth import Principal, TokenVerifier, issue_hs256_token
from talkifai_common.crypto import SecretBox
from talkifai_common.errors import Unauthenticated
from talkifai_common.events import AgentData, PhoneNumberData
from talkifai_common.internal_api import (
    InternalAgent,
    InternalPhoneNumber,
    NumberForSync,
    NumbersForSync,
    OutboundCredentials,
    reveal_json,
)
from talkifai_common.web import (
    BearerCredentials,
    bearer_token,
    problem_responses,
)
from talkifai_common.web_input import refuse_invalid_text

DEV_TOKEN_TTL_S = 12 * 3600
SSE_HEARTBEAT_S = 15.0


@dataclass
class Services:
    """What the routes need, built once by `create_app`."""

    settings: Settings
    store: Store
    box: SecretBox
    verifier: TokenVerifier
    live: LiveEvents
    shutting_down: asyncio.Event


async def services(request: Request) -> Services:
    """The app's services."""
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]


async def current_principal(svc: ServicesDep, credentials: BearerCredentials) -> Principal:
    """The caller, from `Authorization: Bearer <JWT>`."""
    return await svc.verifier.verify(bearer_token(credentials))


PrincipalDep = Annotated[Principal, Depends(current_principal)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size, at most 200.")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
]


def _json(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize once with pydantic-core; FastAPI would validate the model again first."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


READ = problem_responses(401, 404, 422)
WRITE = problem_responses(400, 401, 403, 404, 409, 413, 422)

agents = APIRouter(prefix="/agents", tags=["agents"])
numbers = APIRouter(prefix="/phone-numbers", tags=["phone numbers"])
live = APIRouter(tags=["events"])
internal = APIRouter(prefix="/internal", tags=["internal"])
dev = APIRouter(prefix="/dev", tags=["dev"])


@agents.get("", response_model=Page[AgentData], responses=READ)
async def list_agents(
    svc: ServicesDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """The organization's agents, oldest first."""
    return _json(await handlers.list_agents(svc.store, principal, limit, cursor))


@agents.post("", status_code=201, response_model=AgentData, responses=WRITE)
async def create_agent(svc: ServicesDep, principal: PrincipalDep, body: AgentCreate) -> Response:
    """Create an agent; voice settings left out get sensible defaults."""
    return _json(await handlers.create_agent(svc.store, principal, body), 201)


@agents.get("/{agent_id}", response_model=AgentData, responses=READ)
async def get_agent(svc: ServicesDep, principal: PrincipalDep, agent_id: str) -> Response:
    """One agent."""
    return _json(await handlers.get_agent(svc.store, principal, agent_id))


@agents.patch("/{agent_id}", response_model=AgentData, responses=WRITE)
async def update_agent(
    svc: ServicesDep, principal: PrincipalDep, agent_id: str, body: AgentUpdate
) -> Response:
    """Change an agent; one assigned to a number cannot become text-only (409)."""
    return _json(await handlers.update_agent(svc.store, principal, agent_id, body))


@agents.delete("/{agent_id}", status_code=204, responses=WRITE)
async def delete_agent(svc: ServicesDep, principal: PrincipalDep, agent_id: str) -> Response:
    """Delete an agent; refused with 409 naming the numbers it is assigned to."""
    await handlers.delete_agent(svc.store, principal, agent_id)
    return Response(status_code=204)


@numbers.get("", response_model=Page[PhoneNumberData], responses=READ)
async def list_numbers(
    svc: ServicesDep,
    principal: PrincipalDep,
    search: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Case-insensitive substring of the number or an agent's name.",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """The organization's numbers in E.164 order."""
    return _json(await handlers.list_numbers(svc.store, principal, search, limit, cursor))


@numbers.post("", status_code=201, response_model=PhoneNumberData, responses=WRITE)
async def create_number(
    svc: ServicesDep, principal: PrincipalDep, body: PhoneNumberCreate
) -> Response:
    """Add a number from the customer's carrier; 409 if any organization has it already."""
    return _json(
        await handlers.create_number(
            svc.store,
            principal,
            body,
            svc.box,
            allow_private_webhooks=svc.settings.allows_private_webhooks,
            allow_private_sip=svc.settings.allows_private_sip_destinations,
        ),
        201,
    )


@numbers.put("/agent-assignments", response_model=PhoneNumberData, responses=WRITE)
async def assign_agents(
    svc: ServicesDep, principal: PrincipalDep, body: AgentAssignment
) -> Response:
    """Assign the inbound and outbound agents (null unassigns; at least one must remain)."""
    return _json(await handlers.assign_agents(svc.store, principal, body))


@numbers.get("/{number_id}", response_model=PhoneNumberData, responses=READ)
async def get_number(svc: ServicesDep, principal: PrincipalDep, number_id: str) -> Response:
    """One number."""
    return _json(await handlers.get_number(svc.store, principal, number_id))


@numbers.patch("/{number_id}", response_model=PhoneNumberData, responses=WRITE)
async def update_number(
    svc: ServicesDep, principal: PrincipalDep, number_id: str, body: PhoneNumberUpdate
) -> Response:
    """Change a number's details; fields left out stay, `null` clears."""
    return _json(
        await handlers.update_number(
            svc.store,
            principal,
            number_id,
            body,
            svc.box,
            allow_private_webhooks=svc.settings.allows_private_webhooks,
            allow_private_sip=svc.settings.allows_private_sip_destinations,
        )
    )


@numbers.delete("/{number_id}", status_code=204, responses=WRITE)
async def delete_number(svc: ServicesDep, principal: PrincipalDep, number_id: str) -> Response:
    """Delete a number; its LiveKit trunks and dispatch rule follow. Call history is kept."""
    await handlers.delete_number(svc.store, principal, number_id)
    return Response(status_code=204)


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


async def sse_principal(svc: ServicesDep, token: SseToken) -> Principal:
    """The caller of an event stream."""
    return await svc.verifier.verify(token)


SsePrincipal = Annotated[Principal, Depends(sse_principal)]


async def stream_slot(
    request: Request, token: SseToken, principal: SsePrincipal
) -> AsyncIterator[None]:
    """A slot among the token's and the organization's concurrent streams, held while the
    stream is open (429 when either cap is reached)."""
    slots: StreamSlots = request.app.state.event_streams
    with slots.hold(token, principal.org_id):
        yield


@live.get(
    "/events",
    response_class=EventSourceResponse,
    responses=problem_responses(401, 422, 429),
    dependencies=[Depends(stream_slot)],
)
async def stream_events(
    request: Request, svc: ServicesDep, principal: SsePrincipal
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: the organization's agent and phone number CloudEvents, live.

    Each message has the event id as `id`, the NATS subject as `event` and the CloudEvent as `data`.
    At most `EVENTS_STREAMS_PER_TOKEN` streams per token and `EVENTS_STREAMS_PER_ORG` per
    organization are open at once; one more is a 429.
    """
    with svc.live.connect(principal.org_id) as queue:
        yield ServerSentEvent(comment="connected", retry=2000)
        while not svc.shutting_down.is_set() and not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), SSE_HEARTBEAT_S)
            except TimeoutError:
                yield ServerSentEvent(comment="ping")
                continue
            if event is None:
                return
            yield ServerSentEvent(id=event.id, event=event.subject, raw_data=event.data)


def _json_revealing_secrets(model: BaseModel) -> Response:
    """An internal answer with the SIP password in clear (the internal token's holder only)."""
    return Response(reveal_json(model), media_type="application/json")


async def internal_caller(
    svc: ServicesDep,
    credentials: BearerCredentials,
) -> None:
    """Only the internal token passes; user JWTs never do."""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), svc.settings.internal_token().encode()):
        raise Unauthenticated("This endpoint is for internal services only")


@internal.get(
    "/phone-numbers/{number_id}/outbound-credentials",
    response_model=OutboundCredentials,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404),
)
async def outbound_credentials(svc: ServicesDep, number_id: str) -> Response:
    """For trunk-sync: a number's outbound trunk settings with its SIP password, in clear."""
    return _json_revealing_secrets(
        await handlers.outbound_credentials(svc.store, number_id, svc.box)
    )


@internal.get(
    "/phone-numbers/{number_id}/for-sync",
    response_model=NumberForSync,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404),
)
async def number_for_sync(svc: ServicesDep, number_id: str) -> Response:
    """For trunk-sync: the number and its outbound credentials (SIP password in clear) in one
    read, so both describe the same version and a sync costs one request."""
    number, credentials = await handlers.number_for_sync(svc.store, number_id, svc.box)
    return _json_revealing_secrets(NumberForSync(number=number, outbound_credentials=credentials))


@internal.post(
    "/phone-numbers/for-sync",
    response_model=NumbersForSync,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(400, 401, 413, 422),
)
async def numbers_for_sync(svc: ServicesDep, body: NumbersForSyncRequest) -> Response:
    """For trunk-sync: `GET .../{id}/for-sync` for up to 500 numbers in one request. A number
    that does not exist (deleted) is absent from `items`; the order is not the request's."""
    found = await handlers.numbers_for_sync(svc.store, list(dict.fromkeys(body.ids)), svc.box)
    return _json_revealing_secrets(
        NumbersForSync(
            items=[
                NumberForSync(number=number, outbound_credentials=credentials)
                for number, credentials in found
            ]
        )
    )


@internal.get(
    "/phone-numbers/{number_id}",
    response_model=InternalPhoneNumber,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404),
)
async def internal_number(svc: ServicesDep, number_id: str) -> Response:
    """For trunk-sync: one number's current state, whichever organization has it (no secrets)."""
    return _json(await handlers.internal_number(svc.store, number_id))


@internal.get(
    "/phone-numbers",
    response_model=Page[InternalPhoneNumber],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 422),
)
async def all_numbers(
    svc: ServicesDep, limit: Limit = 200, cursor: Cursor = None
) -> Page[InternalPhoneNumber]:
    """For trunk-sync's full reconcile: every organization's numbers, in id order (no secrets)."""
    numbers, next_cursor = await handlers.list_all_numbers(svc.store, limit, cursor)
    return Page[InternalPhoneNumber](items=numbers, next_cursor=next_cursor)


@internal.get(
    "/agents/{agent_id}",
    response_model=InternalAgent,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404),
)
async def internal_agent(svc: ServicesDep, agent_id: str) -> Response:
    """For agent-runtime: one agent's configuration, whichever organization has it."""
    org_id, agent = await handlers.internal_agent(svc.store, agent_id)
    return _json(InternalAgent(org_id=org_id, **agent.model_dump()))


@dev.post("/token", response_model=TokenResponse)
async def dev_token(svc: ServicesDep, body: DevTokenRequest) -> TokenResponse:
    """Dev mode only: a signed token for any organization and role."""
    token = issue_hs256_token(
        svc.settings.jwt_secret(),
        sub=body.sub,
        org_id=body.org_id,
        role=body.role,
        ttl_s=DEV_TOKEN_TTL_S,
        audience=svc.settings.auth_jwt_audience,
        issuer=svc.settings.auth_jwt_issuer,
    )
    return TokenResponse(access_token=token, expires_in=DEV_TOKEN_TTL_S)


def include_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the routers (internal ones left out of the public OpenAPI); dev only in dev mode."""
    app.state.event_streams = StreamSlots(
        settings.events_streams_per_token, settings.events_streams_per_org
    )
    guarded = [Depends(refuse_invalid_text)]
    for router in (agents, numbers, live):
        app.include_router(router, dependencies=guarded)
    app.include_router(internal, dependencies=guarded, include_in_schema=False)
    if settings.dev_mode:
        app.include_router(dev, dependencies=guarded)
