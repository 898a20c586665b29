"""HTTP conventions shared by the FastAPI services.

Errors are `application/problem+json` with a human `detail` and, for field validation,
`errors: [{field, message}]`; a database that cannot be reached is a 503 with `Retry-After`;
nothing unexpected escapes as anything but a logged 500 problem.
Also: a request body size limit and `/healthz` + `/readyz`; `web_input` guards text and nesting.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from talkifai_common.api_docs import add_docs_routes
from talkifai_common.db import DATABASE_UNAVAILABLE
from talkifai_common.errors import FieldError, TalkifaiError, Unauthenticated, ValidationFailed

PROBLEM_JSON = "application/problem+json"
API_VERSION = "0.1.0"
log = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One field and the rule it broke."""

    field: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


def problem_response(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body = Problem(
        title=title,
        status=status,
        detail=detail,
        errors=[FieldProblem(field=e.field, message=e.message) for e in errors] if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting problem+json errors."""
    descriptions = {
        400: "Malformed request (bad JSON, missing body)",
        401: "Missing, expired or invalid bearer token",
        403: "The caller's role does not allow this",
        404: "Not found in the caller's organization",
        409: "Conflicts with the current state",
        413: "Request body too large",
        422: "A field broke a rule; `errors` names each field and rule",
        429: "Too many requests; try again later",
        503: "A dependency is unavailable; try again shortly",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, "Error"),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [_printable(str(p)) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _printable(text: str) -> str:
    """`text` with lone surrogates escaped, so an error naming it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "Unknown field"
    if kind == "missing":
        return "Field required"
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ")


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            return problem_response(400, "Malformed request", "Request body is not valid JSON")
        if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
            return problem_response(400, "Malformed request", "Request body is required")
    fields = [FieldError(_field_name(tuple(e.get("loc", ()))), _message(e)) for e in errors]
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return problem_response(422, "Validation failed", detail, fields)


async def _on_talkifai_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TalkifaiError)
    errors = exc.errors if isinstance(exc, ValidationFailed) else None
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return problem_response(exc.status_code, exc.title, exc.detail, errors, headers)


_HTTP_TITLES = {
    400: "Malformed request",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
}


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": allowed_methods(request)}
    return problem_response(exc.status_code, title, str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method the request's path has, for a 405's `Allow`.

    Starlette's own header names only the first route whose path matched, one method of several.
    The documented path that matches with the fewest parameters is the resource (so
    `/phone-numbers/agent-assignments` is not `/phone-numbers/{number_id}`); a path the public
    document leaves out is answered from the routes themselves.
    """
    path = request.scope["path"]
    documented = [
        (template.count("{"), sorted(m.upper() for m in operations if m.upper() in _METHODS))
        for template, operations in request.app.openapi().get("paths", {}).items()
        if _template_pattern(template).fullmatch(path)
    ]
    if documented:
        return ", ".join(min(documented)[1])
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


# Seconds a client should wait before retrying a request the database could not serve.
DATABASE_RETRY_AFTER_S = 1


async def _on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Expected during an outage and said once per request: a line, not a traceback.
    log.warning("http.database_unavailable", error_type=type(exc).__name__, error=str(exc))
    return problem_response(
        503,
        "Service unavailable",
        "The database is unavailable; try again shortly",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unhandled_error", error_type=type(exc).__name__)
    return problem_response(500, "Internal error", "An unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(TalkifaiError, _on_talkifai_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with a 413 problem, with or without Content-Length.

    FastAPI's own limit answers in plain text; the contract says every error is problem+json.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes whose bodies have their own ceiling (an upload), by exact path.
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope.get("path", ""), self.max_bytes)
        declared = 0
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit():
                declared = int(value)
        received = 0
        started = False

        async def counting_receive() -> Message:
            # Raised where the route reads its body, so a route with its own error body
            # (the outbound call) answers the 413 in it; FastAPI re-raises HTTP exceptions.
            nonlocal received
            if declared > limit:
                raise _BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413, "Payload too large", f"Request body must be at most {limit} bytes"
        )
        await response(scope, receive, send)


class _BodyTooLarge(StarletteHTTPException):
    """Raised inside the app's receive when the body passes the limit: an HTTP 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request body must be at most {max_bytes} bytes")


ReadinessCheck = Callable[[], Awaitable[None]]


def service_app(
    title: str,
    lifespan: Lifespan[FastAPI],
    *,
    description: str | None = None,
    max_body_bytes: int | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """A service's FastAPI app, the same in every service: problem+json errors, `/docs` and
    `/redoc` served offline, and with `max_body_bytes` the request body limit (`body_limits`:
    paths with their own, such as an upload's)."""
    app = FastAPI(
        title=f"TalkifAI {title}",
        version=API_VERSION,
        description=description or "",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    if max_body_bytes is not None:
        app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, path_limits=body_limits)
    install_error_handlers(app)
    add_docs_routes(app)
    return app


def pool_check(app: FastAPI) -> ReadinessCheck:
    """Readiness of the database: a `SELECT 1` through the pool the lifespan keeps in
    `app.state.pool`."""

    async def database_ready() -> None:
        async with app.state.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    return database_ready


def bus_check(app: FastAPI) -> ReadinessCheck:
    """Readiness of NATS: the broker the lifespan keeps in `app.state.broker` is connected and,
    when the lifespan keeps an `app.state.bus_started` event, its subscribers have started."""

    async def bus_ready() -> None:
        started = getattr(app.state, "bus_started", None)
        if started is not None and not started.is_set():
            raise ConnectionError("NATS subscribers have not started")
        if not app.state.broker.connection.is_connected:
            raise ConnectionError("NATS is not connected")

    return bus_ready


def add_health_routes(app: FastAPI, checks: Mapping[str, ReadinessCheck]) -> None:
    """`/healthz`: the process answers. `/readyz`: every dependency answers (503 otherwise)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:  # a failing dependency is the answer, not an error
                results[name] = f"unavailable: {type(exc).__name__}"
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )


bearer_scheme = HTTPBearer(auto_error=False, description="A JWT with `sub`, `org_id` and `role`.")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def check_internal_token(credentials: HTTPAuthorizationCredentials | None, expected: str) -> None:
    """For `/internal` routes: only the internal token passes (compared in constant time); user
    JWTs never do."""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthenticated("This endpoint is for internal services only")


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token, or Unauthenticated naming what to send."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("Missing bearer token: send `Authorization: Bearer <JWT>`")
    return credentials.credentials.strip()
