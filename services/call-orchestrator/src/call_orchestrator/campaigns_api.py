"""Routes of campaigns and the do-not-call list (problem+json).

`POST /campaigns` reads its own body (JSON rows or a multipart CSV upload) under its own size
limit (CAMPAIGN_MAX_UPLOAD_BYTES, not MAX_BODY_BYTES); its OpenAPI request body is written here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from call_orchestrator.adapters.postgres.call_rows import decode_cursor, encode_cursor
from call_orchestrator.api import ContextDep, PrincipalDep
from call_orchestrator.campaign_input import (
    BadFile,
    TooManyRows,
    csv_header,
    csv_rows,
    ensure_row_limit,
    json_rows,
)
from call_orchestrator.campaign_schemas import (
    CampaignCreate,
    CampaignCreated,
    CampaignDryRun,
    CampaignPage,
    CampaignSettings,
)
from call_orchestrator.handlers import campaigns as handlers
from talkifai_common.campaigns import CampaignData, CampaignStatus
from talkifai_common.errors import ValidationFailed
from talkifai_common.web import problem_responses
from talkifai_common.web_input import refuse_invalid_text

CAMPAIGNS_PATH = "/campaigns"
campaigns = APIRouter(tags=["campaigns"])
MAX_SETTINGS_PART = 64 * 1024

_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/CampaignCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "campaign"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "UTF-8 CSV with a header row: `to_number` "
                            "(required), `time_zone` and `metadata` (a JSON object) optional; "
                            "every other column goes into the row's metadata as a string.",
                        },
                        "campaign": {
                            "type": "string",
                            "description": "The campaign's settings as JSON "
                            "(`CampaignSettings`: the JSON body without `rows`).",
                        },
                    },
                }
            },
        },
    }
}


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """A model as a JSON response."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def _invalid(exc: ValidationError, *prefix: str) -> RequestValidationError:
    """pydantic's errors as the route's validation errors, each naming its field."""
    errors = [{**e, "loc": ("body", *prefix, *e["loc"])} for e in exc.errors(include_url=False)]
    return RequestValidationError(errors)


@campaigns.post(
    CAMPAIGNS_PATH,
    status_code=201,
    response_model=CampaignCreated,
    responses={
        200: {"model": CampaignDryRun, "description": "`dry_run=true`: nothing stored."},
        **problem_responses(400, 401, 403, 404, 413, 415, 422, 503),
    },
    openapi_extra=_CREATE_BODY,
)
async def create_campaign(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    dry_run: Annotated[
        bool, Query(description="Check everything and answer what would be stored; store nothing.")
    ] = False,
) -> Response:
    """Create a campaign (a draft: it dials after `start`) from JSON `rows` or a CSV upload
    (owners and admins).

    Valid rows are kept; each invalid one is listed in `rejected_rows` with its line and reason
    (invalid number, duplicate of line N, on the do-not-call list, unknown time zone, metadata
    not an object or too large). 404: the agent or a from-number is not the organization's.
    422 names the field (a from-number that cannot place calls, pacing above the organization's
    concurrent-call limit, no valid row). 413: more rows than CAMPAIGN_MAX_ROWS, or a body over
    CAMPAIGN_MAX_UPLOAD_BYTES.
    """
    settings = ctx.settings
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=1, max_part_size=MAX_SETTINGS_PART) as form:
            file, raw = form.get("file"), form.get("campaign")
            if not isinstance(file, UploadFile):
                raise ValidationFailed.for_field("file", "A CSV file part named file is required")
            if not isinstance(raw, str):
                raise ValidationFailed.for_field(
                    "campaign", "A part named campaign holding the settings as JSON is required"
                )
            try:
                body = CampaignSettings.model_validate_json(raw)
            except ValidationError as exc:
                if any(e["type"] == "json_invalid" for e in exc.errors()):
                    raise ValidationFailed.for_field(
                        "campaign", "The campaign part must hold the settings as a JSON object"
                    ) from exc
                raise _invalid(exc) from exc
            try:
                await asyncio.to_thread(ensure_row_limit, file.file, settings.campaign_max_rows)
            except TooManyRows as exc:
                raise handlers.PayloadTooLarge(str(exc)) from exc
            try:
                header, lines = csv_header(file.file)
                result = await handlers.create_campaign(
                    ctx.stores,
                    settings,
                    principal,
                    body,
                    csv_rows(header, lines),
                    csv_header=header,
                    dry_run=dry_run,
                )
            except BadFile as exc:
                raise ValidationFailed.for_field("file", str(exc)) from exc
    elif content_type.startswith("application/json") or not content_type:
        try:
            created = CampaignCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise _invalid(exc) from exc
        if len(created.rows) > settings.campaign_max_rows:
            raise handlers.PayloadTooLarge(
                f"A campaign holds at most {settings.campaign_max_rows} rows; "
                "split the list into campaigns"
            )
        result = await handlers.create_campaign(
            ctx.stores,
            settings,
            principal,
            created,
            json_rows(created.rows),
            csv_header=None,
            dry_run=dry_run,
        )
    else:
        raise ValidationFailed.for_field(
            "body", "Send JSON (application/json) or a CSV upload (multipart/form-data)"
        )
    return json_response(result, 200 if isinstance(result, CampaignDryRun) else 201)


@campaigns.get(CAMPAIGNS_PATH, response_model=CampaignPage, responses=problem_responses(401, 422))
async def list_campaigns(
    ctx: ContextDep,
    principal: PrincipalDep,
    status: CampaignStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """The organization's campaigns, newest first (any role)."""
    after = cursor_value(cursor, decode_cursor) if cursor else None
    page = await ctx.stores.campaigns.page(
        principal.org_id, status=status, limit=limit + 1, after=after, now=handlers.utcnow()
    )
    more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more else None
    return json_response(CampaignPage(campaigns=page, next_cursor=next_cursor))


CampaignId = Annotated[str, Path(max_length=64)]


@campaigns.get(
    CAMPAIGNS_PATH + "/{campaign_id}",
    response_model=CampaignData,
    responses=problem_responses(401, 404, 422),
)
async def get_campaign(
    ctx: ContextDep, principal: PrincipalDep, campaign_id: CampaignId
) -> Response:
    """A campaign: its settings, status, counts of rows by status, calls in progress, ETA."""
    return json_response(await handlers.get_campaign(ctx.stores, principal, campaign_id))


def _transition_route(action: str, doc: str) -> None:
    async def route(ctx: ContextDep, principal: PrincipalDep, campaign_id: CampaignId) -> Response:
        return json_response(
            await handlers.change_status(ctx.stores, principal, campaign_id, action)
        )

    route.__doc__ = doc
    route.__name__ = f"{action}_campaign"
    campaigns.post(
        f"{CAMPAIGNS_PATH}/{{campaign_id}}/{action}",
        response_model=CampaignData,
        responses=problem_responses(401, 403, 404, 409, 422),
    )(route)


_transition_route("start", "Start dialing a draft campaign (409 from any other status).")
_transition_route("pause", "Pause a running campaign: no new dial; live calls go on.")
_transition_route("resume", "Resume a paused campaign.")
_transition_route(
    "cancel",
    "Cancel a draft, running or paused campaign: rows not being dialed are cancelled; calls "
    "being placed finish.",
)


def cursor_value(cursor: str, decode: Callable[[str], Any]) -> Any:
    """A cursor decoded, or a 422 naming `cursor`."""
    try:
        return decode(cursor)
    except ValueError as exc:
        raise ValidationFailed.for_field("cursor", "cursor is not valid") from exc


def _with_create_schemas(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document with the schemas `POST /campaigns`'s body names."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (CampaignCreate, CampaignSettings):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, nested in schema.pop("$defs", {}).items():
                schemas.setdefault(name, nested)
            schemas[model.__name__] = schema
        return document

    return openapi


def include_campaign_routes(app: FastAPI) -> None:
    """Mount the campaign and do-not-call routes."""
    app.include_router(campaigns, dependencies=[Depends(refuse_invalid_text)])
    app.openapi = _with_create_schemas(app)  # type: ignore[method-assign]
