"""HTTP conventions shared by the FastAPI services.

Errors are `application/problem+json` with a human `detail` and, for field validation,
`errors: [{field, message}]`; nothing unexpected escapes as anything but a logged 500 problem.
Also: bearer-token authentication and `/healthz` + `/readyz`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from talkifai_common.auth import Principal, TokenVerifier
from talkifai_common.errors import FieldError, TalkifaiError, Unauthenticated, ValidationFailed

PROBLEM_JSON = "application/problem+json"
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
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


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


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "HTTP error")
    return problem_response(exc.status_code, title, str(exc.detail), headers=exc.headers)


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("http.unhandled_error", error_type=type(exc).__name__)
    return problem_response(500, "Internal error", "An unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(TalkifaiError, _on_talkifai_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


ReadinessCheck = Callable[[], Awaitable[None]]


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


def bearer_token(request: Request) -> str:
    """The bearer token of the request, or Unauthenticated."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Missing bearer token: send `Authorization: Bearer <JWT>`")
    return token.strip()


def principal_dependency(
    get_verifier: Callable[[Request], TokenVerifier],
) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency resolving the caller from the bearer token."""

    async def current_principal(request: Request) -> Principal:
        return await get_verifier(request).verify(bearer_token(request))

    return current_principal
