"""call-orchestrator's HTTP routes: thin, each one a handler call.

`POST /telephony/outbound-call` answers in its own JSON (`{"success": false, "error", "message",
"sip_status_code"}`) for every failure, auth, validation, malformed JSON and 413 included: its
router's route class (`OutboundCallRoute`) owns that format; the other routes use problem+json.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from google.protobuf.json_format import ParseError
from livekit import api as lkapi
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from call_orchestrator.errors import CallError, InternalError
from call_orchestrator.handlers import (
    agent_failures,
    call_history,
    hangup,
    livekit_events,
    recording,
    transcripts,
)
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.idempotency import Replay, json_body, place_once
from call_orchestrator.handlers.timing import start_timings
from call_orchestrator.outbound_responses import (
    OUTBOUND_RESPONSES,
    body_of,
    error_body,
    error_response,
    status_of,
)
from call_orchestrator.schemas import (
    CallPage,
    CallReportEvent,
    CallTranscript,
    IsoDateTime,
    OutboundCallRequest,
    OutboundCallResponse,
    RecordingConsent,
    RecordingConsentResult,
)
from talkifai_common.auth import Principal, TokenVerifier
from talkifai_common.errors import Conflict, TalkifaiError, Unauthenticated, ValidationFailed
from talkifai_common.events import CallAgentFailedData, CallData, CallDirection, CallStatus
from talkifai_common.web import (
    BearerCredentials,
    bearer_token,
    check_internal_token,
    problem_responses,
)
from talkifai_common.web_input import refuse_invalid_text

OUTBOUND_PATH = "/telephony/outbound-call"
log = structlog.get_logger(__name__)


async def context(request: Request) -> Context:
    """The app's handler context."""
    ctx: Context = request.app.state.context
    return ctx


async def verifier(request: Request) -> TokenVerifier:
    """The app's JWT verifier."""
    v: TokenVerifier = request.app.state.verifier
    return v


ContextDep = Annotated[Context, Depends(context)]


async def current_principal(
    v: Annotated[TokenVerifier, Depends(verifier)], credentials: BearerCredentials
) -> Principal:
    """The caller, from `Authorization: Bearer <JWT>`; every role may place and read calls."""
    return await v.verify(bearer_token(credentials))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def _json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


class OutboundCallRoute(APIRoute):
    """A route answering every failure in the outbound call's own body, never problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, with each failure turned into the route's error body."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except CallError as exc:
                return error_response(exc)
            except (RequestValidationError, TalkifaiError, StarletteHTTPException) as exc:
                return _outbound_error(exc)

        return handle


outbound = APIRouter(tags=["calls"], route_class=OutboundCallRoute)
calls = APIRouter(tags=["calls"])
livekit = APIRouter(tags=["livekit"])
internal = APIRouter(prefix="/internal", tags=["internal"])


@outbound.post(
    OUTBOUND_PATH,
    response_model=OutboundCallResponse,
    responses=OUTBOUND_RESPONSES,
)
async def outbound_call(
    ctx: ContextDep,
    principal: PrincipalDep,
    body: OutboundCallRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=200,
            description="Retries with the same key and body get the first answer replayed.",
        ),
    ] = None,
) -> Response:
    """Place a call from one of your numbers with its outbound agent (the seed's API).

    Carrier outcomes by SIP status: 400, 404, 484, 485, 488, 604 -> 400 invalid_number;
    402 -> 402 insufficient_balance; 408, 480, 487 and the ringing timeout -> 408 no_answer;
    486, 600 -> 408 busy; 603 -> 408 declined; other refusals and carrier 5xx -> 502 with
    `sip_status_code`; LiveKit unreachable or slow -> 503 within 2 s; no agent-runtime running
    -> 503; no agent-runtime with the agent's provider keys -> 500 (nobody is rung); the agent
    failing while the caller waits -> 500 `agent_failed`; anything else 500.
    """
    try:
        return await _place(ctx, principal, body, idempotency_key)
    except (CallError, TalkifaiError):
        raise
    except Exception as exc:
        # A database outage, say: the route's own body still, never a bare 500 page.
        log.exception("outbound_call.failed", org_id=principal.org_id)
        raise InternalError() from exc


async def _place(
    ctx: Context, principal: Principal, body: OutboundCallRequest, idempotency_key: str | None
) -> Response:
    timings = start_timings()
    started = time.perf_counter()
    # 202: the caller does not wait; the outcome follows in events, webhooks and history.
    status = 200 if body.wait_until_answered else 202

    def answer_of(outcome: OutboundCallResponse | CallError) -> Replay:
        if isinstance(outcome, CallError):
            return Replay(status_of(outcome), body_of(outcome))
        return Replay(status, json_body(outcome))

    outcome = await place_once(ctx, principal, body, idempotency_key, answer_of)
    if isinstance(outcome, Replay):
        return JSONResponse(outcome.body, status_code=outcome.status_code)
    return _timed(_json(outcome, status), timings, started)


def _timed(response: Response, timings: dict[str, float], started: float) -> Response:
    """Add `Server-Timing` (ms): our database work, LiveKit's dispatch and dial, the total."""
    parts = [f"{name};dur={ms:.2f}" for name, ms in timings.items()]
    parts.append(f"total;dur={(time.perf_counter() - started) * 1000:.2f}")
    response.headers["Server-Timing"] = ", ".join(parts)
    return response


@calls.get("/calls", response_model=CallPage, responses=problem_responses(401, 422, 503))
async def list_calls(
    ctx: ContextDep,
    principal: PrincipalDep,
    phone_number: Annotated[
        str | None, Query(max_length=40, description="Calls from or to this number.")
    ] = None,
    direction: CallDirection | None = None,
    status: CallStatus | None = None,
    agent_id: Annotated[
        str | None, Query(max_length=64, description="Calls this agent took or placed.")
    ] = None,
    started_from: Annotated[
        IsoDateTime | None,
        Query(description="Calls that started at or after this time (ISO 8601; UTC if no zone)."),
    ] = None,
    started_before: Annotated[
        IsoDateTime | None,
        Query(description="Calls that started before this time (ISO 8601; UTC if no zone)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Call history of the organization, inbound and outbound, newest first; filters combine."""
    page = await call_history.list_calls(
        ctx.stores.calls,
        principal,
        phone_number=phone_number,
        direction=direction,
        status=status,
        limit=limit,
        cursor=cursor,
        agent_id=agent_id,
        started_from=started_from,
        started_before=started_before,
    )
    return _json(page)


@calls.get(
    "/calls/{call_id}", response_model=CallData, responses=problem_responses(401, 404, 422, 503)
)
async def get_call(ctx: ContextDep, principal: PrincipalDep, call_id: str) -> Response:
    """One call (kept after its number is deleted)."""
    return _json(await call_history.get_call(ctx.stores.calls, principal, call_id))


@calls.get(
    "/calls/{call_id}/transcript",
    response_model=CallTranscript,
    responses=problem_responses(401, 404, 422, 503),
)
async def get_transcript(ctx: ContextDep, principal: PrincipalDep, call_id: str) -> Response:
    """What was said on the call, in order: the caller's and the agent's turns and the agent's
    tool calls, as agent-runtime published them when the call ended (card numbers and the
    configured patterns masked). Any role. 404 for a call of another organization, and until the
    transcript is in (shortly after the call ends; never for a call no agent took)."""
    return _json(await transcripts.get_transcript(ctx.stores, principal, call_id))


@calls.post(
    "/calls/{call_id}/hangup",
    response_model=CallData,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def hang_up_call(ctx: ContextDep, principal: PrincipalDep, call_id: str) -> Response:
    """End a live call now (owners and admins; members get 403): LiveKit's room is deleted, so
    the caller or callee and the agent are disconnected. 200 with the call as it now is:
    `completed` with `end_reason` `hung_up_by_user` when it was answered, `failed` with that
    `failure_reason` when it was still ringing. 404 for a call of another organization, 409 when
    the call has already ended (completed or failed), 503 when LiveKit did not end it (try
    again)."""
    return _json(await hangup.hang_up(ctx, principal, call_id))


@livekit.post("/livekit/webhook", responses=problem_responses(400, 401, 503))
async def livekit_webhook(
    request: Request,
    ctx: ContextDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, str]:
    """LiveKit's signed webhooks (participant joined/left, room finished) drive call history."""
    receiver: lkapi.WebhookReceiver = request.app.state.webhook_receiver
    body = await request.body()
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise Unauthenticated("Webhook body is not UTF-8") from exc
    try:
        event = receiver.receive(text, authorization or "")
    except ParseError as exc:
        raise MalformedWebhook("Webhook body is not a LiveKit event") from exc
    except Exception as exc:
        raise Unauthenticated("Webhook signature is missing or invalid") from exc
    outcome = await livekit_events.on_livekit_event(ctx, event)
    log.info("livekit.webhook", kind=event.event, room=event.room.name, outcome=outcome)
    return {"status": outcome}


class MalformedWebhook(ValidationFailed):
    """A signed webhook whose body is not a LiveKit event."""

    status_code = 400
    title = "Malformed request"


async def internal_caller(request: Request, credentials: BearerCredentials) -> None:
    """Only the internal token passes; user JWTs never do."""
    ctx: Context = request.app.state.context
    check_internal_token(credentials, ctx.settings.internal_token())


@internal.post(
    "/agent-failures",
    response_model=CallData,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 422, 503),
)
async def agent_failure(ctx: ContextDep, body: CallAgentFailedData) -> Response:
    """For agent-runtime: the call's agent failed (by call id, else by room). The call ends as
    `failed` with reason `agent_failed` and the agent's error (history, `telephony.call.failed`,
    webhook; a caller still waiting gets 500 `agent_failed`). A call already over is answered as
    it ended."""
    return _json(await agent_failures.on_agent_failed(ctx.stores.calls, body))


@internal.post(
    "/calls/{call_id}/recording-consent",
    response_model=RecordingConsentResult,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def recording_consent(
    ctx: ContextDep, call_id: str, body: RecordingConsent | None = None
) -> Response:
    """For agent-runtime: the caller consented, so a `consent` number's call starts recording.

    Idempotent: a call already recording answers its egress id again. 409 when the number is not
    in `consent` mode or the call is not answered.
    """
    return _json(await recording.record_consent(ctx, call_id))


@internal.post(
    "/rooms/{room_name}/recording-consent",
    response_model=RecordingConsentResult,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def recording_consent_in_room(
    ctx: ContextDep, room_name: str, body: RecordingConsent | None = None
) -> Response:
    """The same report for a call agent-runtime knows only by its room (inbound calls: the
    dispatch rule's metadata cannot name a call id that does not exist yet). The room's live call,
    else its newest, is the one."""
    return _json(await recording.record_consent_in_room(ctx, room_name))


def _outbound_error(
    exc: TalkifaiError | RequestValidationError | StarletteHTTPException,
) -> JSONResponse:
    if isinstance(exc, RequestValidationError):
        parts = []
        for error in exc.errors():
            loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            loc = loc.encode("utf-8", "backslashreplace").decode("utf-8")
            kind = error.get("type", "")
            text = "Unknown field" if kind == "extra_forbidden" else str(error.get("msg", ""))
            if kind == "json_invalid":
                text, loc = "Request body is not valid JSON", "body"
            if kind == "missing" and loc == "body":
                text = "Request body is required"
            parts.append(f"{loc}: {text}")
        status, body = 400, error_body("invalid_request", "; ".join(parts) or "Invalid request")
    elif isinstance(exc, StarletteHTTPException):
        status, body = exc.status_code, _http_error(exc)
    elif isinstance(exc, Unauthenticated):
        status, body = 401, error_body("unauthenticated", exc.detail)
    elif isinstance(exc, Conflict):
        status, body = 409, error_body("conflict", exc.detail)
    else:
        status, body = exc.status_code, error_body(type(exc).__name__.lower(), exc.detail)
    headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
    return JSONResponse(body, status_code=status, headers=headers)


def _http_error(exc: StarletteHTTPException) -> dict[str, Any]:
    """An HTTP-level refusal (body too large, unparsable body) in the route's error body."""
    if exc.status_code == 413:
        return error_body("request_too_large", str(exc.detail))
    if exc.status_code == 400:
        return error_body("invalid_request", "body: Request body is not valid JSON")
    return error_body("http_error", str(exc.detail))


def include_routes(app: FastAPI) -> None:
    """Mount the routers; the internal ones stay out of the public OpenAPI."""
    guarded = [Depends(refuse_invalid_text)]
    for router in (outbound, calls, livekit):
        app.include_router(router, dependencies=guarded)
    app.include_router(internal, dependencies=guarded, include_in_schema=False)
    document_webhooks(app)


def document_webhooks(app: FastAPI) -> None:
    """What a number's `webhook_url` receives besides the call events (OpenAPI `webhooks`)."""

    @app.webhooks.post("call-report", tags=["webhooks"], status_code=204)
    async def call_report(body: CallReportEvent) -> None:
        """The end-of-call report, POSTed to the number's webhook once the call has ended and
        its transcript is in: the call (status, durations), its outcome, transcript and usage.
        Signed like every delivery (`X-TalkifAI-Signature: t=<unix seconds>,v1=<hex
        HMAC-SHA256(secret, "<t>.<body>")>`), with `X-TalkifAI-Event-Id` to deduplicate on and
        `X-TalkifAI-Event-Type: talkifai.telephony.call.report.v1`. Answer 2xx; 408, 425, 429
        and 5xx are retried with backoff for an hour."""
