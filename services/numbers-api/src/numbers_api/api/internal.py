"""Routes for trunk-sync and agent-runtime, behind the internal token (not in the OpenAPI)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from numbers_api import handlers
from numbers_api.api.deps import ContextDep, Cursor, Limit
from numbers_api.schemas import NumbersForSyncRequest, Page
from talkifai_common.internal_api import (
    InternalAgent,
    InternalPhoneNumber,
    NumberForSync,
    NumbersForSync,
    TrunkCredentials,
    reveal_json,
)
from talkifai_common.web import BearerCredentials, check_internal_token, problem_responses

router = APIRouter(prefix="/internal", tags=["internal"])


def _json_revealing_secrets(model: BaseModel) -> Response:
    """An internal answer with the SIP password in clear (the internal token's holder only)."""
    return Response(reveal_json(model), media_type="application/json")


async def internal_caller(
    ctx: ContextDep,
    credentials: BearerCredentials,
) -> None:
    """Only the internal token passes; user JWTs never do."""
    check_internal_token(credentials, ctx.settings.internal_token())


@router.get(
    "/phone-numbers/{number_id}/trunk-credentials",
    response_model=TrunkCredentials,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 503),
)
async def trunk_credentials(ctx: ContextDep, number_id: str) -> Response:
    """For trunk-sync: a number's outbound trunk settings with its SIP password, in clear."""
    return _json_revealing_secrets(await handlers.trunk_credentials(ctx.store, number_id, ctx.box))


@router.get(
    "/phone-numbers/{number_id}/for-sync",
    response_model=NumberForSync,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 503),
)
async def number_for_sync(ctx: ContextDep, number_id: str) -> Response:
    """For trunk-sync: the number and its outbound credentials (SIP password in clear) in one
    read, so both describe the same version and a sync costs one request."""
    number, credentials = await handlers.number_for_sync(ctx.store, number_id, ctx.box)
    return _json_revealing_secrets(NumberForSync(number=number, trunk_credentials=credentials))


@router.post(
    "/phone-numbers/for-sync",
    response_model=NumbersForSync,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(400, 401, 413, 422, 503),
)
async def numbers_for_sync(ctx: ContextDep, body: NumbersForSyncRequest) -> Response:
    """For trunk-sync: `GET .../{id}/for-sync` for up to 500 numbers in one request. A number
    that does not exist (deleted) is absent from `items`; the order is not the request's."""
    found = await handlers.numbers_for_sync(ctx.store, list(dict.fromkeys(body.ids)), ctx.box)
    return _json_revealing_secrets(
        NumbersForSync(
            items=[
                NumberForSync(number=number, trunk_credentials=credentials)
                for number, credentials in found
            ]
        )
    )


@router.get(
    "/phone-numbers/{number_id}",
    response_model=InternalPhoneNumber,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 503),
)
async def internal_number(ctx: ContextDep, number_id: str) -> InternalPhoneNumber:
    """For trunk-sync: one number's current state, whichever organization has it (no secrets)."""
    return await handlers.internal_number(ctx.store, number_id)


@router.get(
    "/phone-numbers",
    response_model=Page[InternalPhoneNumber],
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 422, 503),
)
async def all_numbers(
    ctx: ContextDep, limit: Limit = 200, cursor: Cursor = None
) -> Page[InternalPhoneNumber]:
    """For trunk-sync's full reconcile: every organization's numbers, in id order (no secrets)."""
    numbers, next_cursor = await handlers.list_all_numbers(ctx.store, limit, cursor)
    return Page[InternalPhoneNumber](items=numbers, next_cursor=next_cursor)


@router.get(
    "/agents/{agent_id}",
    response_model=InternalAgent,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 503),
)
async def internal_agent(ctx: ContextDep, agent_id: str) -> InternalAgent:
    """For agent-runtime: one agent's configuration, whichever organization has it."""
    org_id, agent = await handlers.internal_agent(ctx.store, agent_id)
    return InternalAgent(org_id=org_id, **agent.model_dump())
