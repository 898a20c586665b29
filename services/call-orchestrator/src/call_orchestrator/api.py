"""call-orchestrator's HTTP routes: thin, each one a handler call.

`POST /telephony/outbound-call` answers in its own JSON (`{"success": false, "error", "message",
"sip_status_code"}`) for every failure, auth, validation, malformed JSON and 413 included: its
router's route class (`OutboundCallRoute`) owns that format; the other routes use problem+json.
"""

from __future__ import annotations

import hmac
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

from call_orchestrator import agent_failures, handlers
from call_orchestrator.domain import CallError, internal_error
from call_orchestrator.handlers import Context
from call_orchestrator.schemas import (
    CallPage,
    OutboundCallErrorBody,
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


def _error_example(status: int, error: str, message: str, sip: int | None = None) -> Any:
    body: dict[str, Any] = {"success": False, "error": error, "message": message}
    if sip is not None:
        body["sip_status_code"] = sip
    return {"summary": f"{status} {error}", "value": body}


def _error_response(description: str, *examples: Any) -> dict[str, Any]:
    return {
        "model": OutboundCallErrorBody,
        "description": description,
        "content": {
            "application/json": {"examples": {e["summary"]: e for e in examples}},
        },
    }


OUTBOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Answered (wait_until_answered true, the default)."},
    202: {
        "model": OutboundCallResponse,
        "description": "wait_until_answered false: the call is being placed; the outcome follows "
        "in `telephony.call.*` events, the number's webhook and `GET /calls/{call_id}`.",
    },
    400: _error_response(
        "Invalid number (format, or carrier SIP 400, 404, 484, 485, 488, 604); text-only agent; "
        "invalid body.",
        _error_example(
            400,
            "invalid_number",
            "Invalid number: to_number: Phone number must be in E.164 format and start with +",
        ),
        _error_example(
            400, "invalid_number", "Invalid number: the carrier refused the destination", 404
        ),
        _error_example(400, "text_agent", "Agent is a text-only agent and cannot make voice calls"),
        _error_example(
            400,
            "invalid_request",
            "body.ringing_timeout_s: Input should be less than or equal to 120",
        ),
    ),
    401: _error_response(
        "Missing or invalid bearer token.",
        _error_example(401, "unauthenticated", "Missing bearer token"),
    ),
    402: _error_response(
        "Insufficient balance (carrier SIP 402).",
        _error_example(
            402,
            "insufficient_balance",
            "Insufficient balance: the carrier account has insufficient funds",
            402,
        ),
    ),
    404: _error_response(
        "from_number is not a number of your organization with an outbound agent, or it is "
        "inactive (not fully configured: no termination URI or SIP credentials).",
        _error_example(404, "phone_number_not_found", "Phone number not found"),
        _error_example(
            404,
            "phone_number_inactive",
            "Phone number +1234567890 is inactive: it is not fully configured to place calls "
            "(it needs a termination URI and SIP credentials); complete it and try again",
        ),
    ),
    408: _error_response(
        "Not answered: no_answer (SIP 408, 480, 487, ringing timeout), busy (486, 600), "
        "declined (603).",
        _error_example(408, "busy", "Call was not answered: the callee is busy", 486),
        _error_example(408, "no_answer", "Call was not answered"),
        _error_example(408, "declined", "Call was not answered: the callee declined", 603),
    ),
    409: _error_response(
        "A call between the same two numbers is in progress, the outbound trunk is not synced, "
        "or a request with this Idempotency-Key is still running.",
        _error_example(
            409,
            "call_in_progress",
            "A call from +1234567890 to +12025550123 is already in progress",
        ),
        _error_example(
            409,
            "trunk_not_synced",
            "The outbound SIP trunk of +1234567890 is not "
            "synced with LiveKit yet; check the number's sync status and try again "
            "shortly",
        ),
    ),
    422: _error_response(
        "The Idempotency-Key was used before with a different body.",
        _error_example(
            422, "idempotency_key_reused", "This Idempotency-Key was used with a different request"
        ),
    ),
    413: _error_response(
        "Request body too large.",
        _error_example(413, "request_too_large", "Request body must be at most 65536 bytes"),
    ),
    429: _error_response(
        "Your organization's concurrent call limit is reached.",
        _error_example(
            429,
            "too_many_calls",
            "Your organization already has 50 calls in progress; try again when one ends",
        ),
    ),
    500: _error_response(
        "Server error: internal; the agent cannot run (no agent-runtime has its providers' API "
        "keys: refused before anyone is rung); the agent failed during the call.",
        _error_example(500, "internal", "Server error: internal error initiating the call"),
        _error_example(
            500,
            "agent_provider_key_missing",
            "Server error: the agent cannot run: no agent runtime has its providers' API keys "
            "(set CARTESIA_API_KEY, DEEPGRAM_API_KEY, OPENAI_API_KEY where agent-runtime runs)",
        ),
        _error_example(
            500,
            "agent_failed",
            "Server error: the agent failed: No API key for provider openai: set OPENAI_API_KEY",
        ),
    ),
    502: _error_response(
        "The carrier refused the call with another status, failed (5xx) or was unreachable.",
        _error_example(502, "carrier_error", "The carrier refused the call (SIP 503)", 503),
    ),
    503: _error_response(
        "LiveKit is unavailable or slow (answered within 2 s), or no agent-runtime is running.",
        _error_example(
            503,
            "livekit_unavailable",
            "The call service (LiveKit) is unavailable; try again shortly",
        ),
        _error_example(
            503,
            "agent_runtime_unavailable",
            "No agent runtime is running to take the call; try again shortly",
        ),
    ),
}

# Outcomes a retry with the same Idempotency-Key should try again rather than replay.
_NOT_REPLAYED = frozenset({429, 500, 503})


class OutboundCallRoute(APIRoute):
    """A route answering every failure in the outbound call's own body, never problem+json."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The default handler, with each failure turned into the route's error body."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except CallError as exc:
                return JSONResponse(exc.body(), status_code=exc.status_code)
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
        raise internal_error() from exc


async def _place(
    ctx: Context, principal: Principal, body: OutboundCallRequest, idempotency_key: str | None
) -> Response:
    timings = handlers.start_timings()
    started = time.perf_counter()
    if idempotency_key is None:
        status, result = await handlers.place_outbound_call(ctx, principal, body)
        return _timed(_json(result, status), timings, started)
    key_hash = handlers.request_hash(body)
    state, stored_status, stored_body = await ctx.store.claim_idempotency_key(
        principal.org_id, idempotency_key, key_hash
    )
    if state == "replay":
        assert stored_status is not None
        return JSONResponse(stored_body, status_code=stored_status)
    if state == "in_progress":
        raise CallError(
            409, "idempotency_key_in_progress", "A request with this Idempotency-Key is running"
        )
    if state == "mismatch":
        raise CallError(
            422, "idempotency_key_reused", "This Idempotency-Key was used with a different request"
        )
    try:
        status, result = await handlers.place_outbound_call(ctx, principal, body)
    except CallError as exc:
        if exc.status_code in _NOT_REPLAYED or exc.error == "call_in_progress":
            await ctx.store.release_idempotency_key(principal.org_id, idempotency_key)
        else:
            await ctx.store.finish_idempotency_key(
                principal.org_id, idempotency_key, exc.status_code, exc.body()
            )
        raise
    except BaseException:
        await ctx.store.release_idempotency_key(principal.org_id, idempotency_key)
        raise
    await ctx.store.finish_idempotency_key(
        principal.org_id, idempotency_key, status, handlers.json_body(result)
    )
    return _timed(_json(result, status), timings, started)


def _timed(response: Response, timings: dict[str, float], started: float) -> Response:
    """Add `Server-Timing` (ms): our database work, LiveKit's dispatch and dial, the total."""
    parts = [f"{name};dur={ms:.2f}" for name, ms in timings.items()]
    parts.append(f"total;dur={(time.perf_counter() - started) * 1000:.2f}")
    response.headers["Server-Timing"] = ", ".join(parts)
    return response


@calls.get("/calls", response_model=CallPage, responses=problem_responses(401, 422))
async def list_calls(
    ctx: ContextDep,
    principal: PrincipalDep,
    phone_number: Annotated[
        str | None, Query(max_length=40, description="Calls from or to this number.")
    ] = None,
    direction: CallDirection | None = None,
    status: CallStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Call history of the organization, inbound and outbound, newest first."""
    page = await handlers.list_calls(
        ctx.store,
        principal,
        phone_number=phone_number,
        direction=direction,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return _json(page)


@calls.get("/calls/{call_id}", response_model=CallData, responses=problem_responses(401, 404, 422))
async def get_call(ctx: ContextDep, principal: PrincipalDep, call_id: str) -> Response:
    """One call (kept after its number is deleted)."""
    return _json(await handlers.get_call(ctx.store, principal, call_id))


@livekit.post("/livekit/webhook", responses=problem_responses(400, 401))
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
    outcome = await handlers.on_livekit_event(ctx, event)
    log.info("livekit.webhook", kind=event.event, room=event.room.name, outcome=outcome)
    return {"status": outcome}


class MalformedWebhook(ValidationFailed):
    """A signed webhook whose body is not a LiveKit event."""

    status_code = 400
    title = "Malformed request"


async def internal_caller(request: Request, credentials: BearerCredentials) -> None:
    """Only the internal token passes; user JWTs never do."""
    ctx: Context = request.app.state.context
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), ctx.settings.internal_token().encode()):
        raise Unauthenticated("This endpoint is for internal services only")


@internal.post(
    "/agent-failures",
    response_model=CallData,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 422),
)
async def agent_failure(ctx: ContextDep, body: CallAgentFailedData) -> Response:
    """For agent-runtime: the call's agent failed (by call id, else by room). The call ends as
    `failed` with reason `agent_failed` and the agent's error (history, `telephony.call.failed`,
    webhook; a caller still waiting gets 500 `agent_failed`). A call already over is answered as
    it ended."""
    return _json(await agent_failures.on_agent_failed(ctx.store, body))


@internal.post(
    "/calls/{call_id}/recording-consent",
    response_model=RecordingConsentResult,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 409, 422),
)
async def recording_consent(
    ctx: ContextDep, call_id: str, body: RecordingConsent | None = None
) -> Response:
    """For agent-runtime: the caller consented, so a `consent` number's call starts recording.

    Idempotent: a call already recording answers its egress id again. 409 when the number is not
    in `consent` mode or the call is not answered.
    """
    return _json(await handlers.record_consent(ctx, call_id))


@internal.post(
    "/rooms/{room_name}/recording-consent",
    response_model=RecordingConsentResult,
    dependencies=[Depends(internal_caller)],
    responses=problem_responses(401, 404, 409, 422),
)
async def recording_consent_in_room(
    ctx: ContextDep, room_name: str, body: RecordingConsent | None = None
) -> Response:
    """The same report for a call agent-runtime knows only by its room (inbound calls: the
    dispatch rule's metadata cannot name a call id that does not exist yet). The room's live call,
    else its newest, is the one."""
    return _json(await handlers.record_consent_in_room(ctx, room_name))


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
        error = CallError(400, "invalid_request", "; ".join(parts) or "Invalid request")
    elif isinstance(exc, StarletteHTTPException):
        error = _http_error(exc)
    elif isinstance(exc, Unauthenticated):
        error = CallError(401, "unauthenticated", exc.detail)
    elif isinstance(exc, Conflict):
        error = CallError(409, "conflict", exc.detail)
    else:
        error = CallError(exc.status_code, type(exc).__name__.lower(), exc.detail)
    headers = exc.headers if isinstance(exc, StarletteHTTPException) else None
    return JSONResponse(error.body(), status_code=error.status_code, headers=headers)


def _http_error(exc: StarletteHTTPException) -> CallError:
    """An HTTP-level refusal (body too large, unparsable body) as the route's error."""
    if exc.status_code == 413:
        return CallError(413, "request_too_large", str(exc.detail))
    if exc.status_code == 400:
        return CallError(400, "invalid_request", "body: Request body is not valid JSON")
    return CallError(exc.status_code, "http_error", str(exc.detail))


def include_routes(app: FastAPI) -> None:
    """Mount the routers; the internal ones stay out of the public OpenAPI."""
    guarded = [Depends(refuse_invalid_text)]
    for router in (outbound, calls, livekit):
        app.include_router(router, dependencies=guarded)
    app.include_router(internal, dependencies=guarded, include_in_schema=False)
