"""Routes of each organization's do-not-call list (problem+json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Response

from call_orchestrator.api import ContextDep, PrincipalDep
from call_orchestrator.campaign_schemas import (
    DoNotCallAdd,
    DoNotCallAdded,
    DoNotCallEntry,
    DoNotCallPage,
)
from call_orchestrator.campaigns_api import json_response
from call_orchestrator.handlers.campaigns import utcnow
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.errors import NotFound, ValidationFailed
from talkifai_common.web import problem_responses
from talkifai_common.web_input import refuse_invalid_text

do_not_call = APIRouter(tags=["campaigns"])


@do_not_call.get(
    "/do-not-call", response_model=DoNotCallPage, responses=problem_responses(401, 422)
)
async def list_do_not_call(
    ctx: ContextDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The organization's do-not-call list, in number order (any role)."""
    page = await ctx.stores.do_not_call.page(principal.org_id, after=cursor, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return json_response(
        DoNotCallPage(
            numbers=[DoNotCallEntry(**n.__dict__) for n in page],
            next_cursor=page[-1].number if more else None,
        )
    )


@do_not_call.post(
    "/do-not-call",
    response_model=DoNotCallAdded,
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def add_do_not_call(ctx: ContextDep, principal: PrincipalDep, body: DoNotCallAdd) -> Response:
    """Put numbers on the list (owners and admins): campaigns skip them at upload and at dial
    time. `added` counts the numbers that were not on it yet."""
    principal.require_manager()
    numbers = [_e164(f"numbers[{i}]", n) for i, n in enumerate(body.numbers)]
    added = await ctx.stores.do_not_call.add(
        principal.org_id, numbers, body.reason, principal.sub, utcnow()
    )
    return json_response(DoNotCallAdded(added=added))


@do_not_call.delete(
    "/do-not-call/{number}", status_code=204, responses=problem_responses(401, 403, 404, 422)
)
async def remove_do_not_call(
    ctx: ContextDep, principal: PrincipalDep, number: Annotated[str, Path(max_length=40)]
) -> Response:
    """Take a number off the list (owners and admins); 404 when it is not on it."""
    principal.require_manager()
    try:
        e164 = normalize_e164(number)
    except InvalidPhoneNumber as exc:
        raise NotFound("Number not on the do-not-call list") from exc
    if not await ctx.stores.do_not_call.remove(principal.org_id, e164):
        raise NotFound("Number not on the do-not-call list")
    return Response(status_code=204)


def _e164(field: str, raw: str) -> str:
    try:
        return normalize_e164(raw)
    except InvalidPhoneNumber as exc:
        raise ValidationFailed.for_field(field, str(exc)) from exc


def include_do_not_call_routes(app: FastAPI) -> None:
    """Mount the do-not-call routes."""
    app.include_router(do_not_call, dependencies=[Depends(refuse_invalid_text)])
