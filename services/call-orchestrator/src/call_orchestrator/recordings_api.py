"""Routes of call recordings: fetch and delete a call's recording, the organization's retention
period (problem+json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from call_orchestrator.api import ContextDep, PrincipalDep, verifier
from call_orchestrator.handlers import recording_files
from call_orchestrator.schemas import RecordingRetention, RecordingRetentionUpdate
from talkifai_common.auth import Principal, TokenVerifier
from talkifai_common.errors import Unauthenticated
from talkifai_common.events import CallData
from talkifai_common.web import BearerCredentials, problem_responses
from talkifai_common.web_input import refuse_invalid_text

recordings = APIRouter(tags=["recordings"])
_AUDIO = {
    "content": {"audio/ogg": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The recording (Ogg/Opus), when it is served by this service.",
}
_REDIRECT = {
    "description": "With object storage: a presigned URL to download it from, valid for "
    "RECORDING_URL_TTL_S (300 s by default), in `Location`."
}


async def player_principal(
    v: Annotated[TokenVerifier, Depends(verifier)],
    credentials: BearerCredentials,
    access_token: Annotated[
        str | None,
        Query(
            description="The JWT, for an HTML `<audio>` element, which cannot send headers "
            "(`Authorization: Bearer` wins when both are sent)."
        ),
    ] = None,
) -> Principal:
    """The caller of the recording's download: the bearer header or, for a player, the
    `access_token` query; verified as every route's token is. The query (with the token) is
    never logged: uvicorn's access log is off (`configure_logging`) and no log line carries it."""
    header = credentials.credentials.strip() if credentials else ""
    token = header or (access_token or "").strip()
    if not token:
        raise Unauthenticated(
            "Missing bearer token: send `Authorization: Bearer <JWT>` or `?access_token=<JWT>`"
        )
    return await v.verify(token)


PlayerPrincipalDep = Annotated[Principal, Depends(player_principal)]


def _json(model: CallData | RecordingRetention) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@recordings.get(
    "/calls/{call_id}/recording",
    response_class=Response,
    responses={200: _AUDIO, 307: _REDIRECT, **problem_responses(401, 404, 422, 503)},
)
async def get_recording(ctx: ContextDep, principal: PlayerPrincipalDep, call_id: str) -> Response:
    """The call's recording (any role of its organization). The token may come as
    `?access_token=<JWT>` instead of the header, for an `<audio>` element's `src`. With object storage configured, a
    307 redirect to a short-lived presigned URL of the object; otherwise the file itself. 404 for
    a call of another organization, and when the call has no available recording (none, still
    `pending`, `failed` or `deleted`: `GET /calls/{id}` says which); 503 when the storage does
    not answer (nothing changed; try again)."""
    found = await recording_files.download(ctx, principal, call_id)
    headers = {"Cache-Control": "no-store"}
    if found.url is not None:
        return RedirectResponse(found.url, status_code=307, headers=headers)
    assert found.chunks is not None
    headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
    return StreamingResponse(found.chunks, media_type="audio/ogg", headers=headers)


@recordings.delete(
    "/calls/{call_id}/recording",
    response_model=CallData,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def delete_recording(ctx: ContextDep, principal: PrincipalDep, call_id: str) -> Response:
    """Delete the call's recording (owners and admins; members get 403): the stored file goes,
    the call stays with `recording.status` `deleted`, and `telephony.call.recording_deleted`
    is published. 200 with the call as it now is; 404 for a call of another organization or
    one without a recording (or already deleted); 409 while it is `pending` or when it `failed`;
    503 when the storage did not delete it (nothing changed; try again)."""
    return _json(await recording_files.delete(ctx, principal, call_id))


@recordings.get(
    "/recording-retention",
    response_model=RecordingRetention,
    responses=problem_responses(401, 422, 503),
)
async def get_retention(ctx: ContextDep, principal: PrincipalDep) -> Response:
    """How long the organization's recordings are kept (any role): its own period, else the
    service's default. Expired recordings are deleted by a periodic pass, each with
    `telephony.call.recording_deleted` (`deleted_by: retention`)."""
    return _json(await recording_files.retention(ctx, principal))


@recordings.put(
    "/recording-retention",
    response_model=RecordingRetention,
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def put_retention(
    ctx: ContextDep, principal: PrincipalDep, body: RecordingRetentionUpdate
) -> Response:
    """Set the organization's retention period in days (owners and admins; 0 keeps
    recordings)."""
    return _json(await recording_files.set_retention(ctx, principal, body.days))


def include_recording_routes(app: FastAPI) -> None:
    """Mount the recording routes."""
    app.include_router(recordings, dependencies=[Depends(refuse_invalid_text)])
