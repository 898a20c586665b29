"""Input checks shared by the FastAPI services, run before any route reads a value.

PostgreSQL refuses the NUL character in text and UTF-8 has no unpaired surrogates, so either one
reaching a query is a 500; JSON nested without bound costs recursion everywhere it is read. Both
are answered here as validation errors naming the field (problem+json 422, or the route's own
error body where it has one).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

MAX_JSON_DEPTH = 32
"""Arrays and objects nested deeper than this in a request body are refused (422)."""


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored as text (PostgreSQL refuses NUL; UTF-8 has no lone
    surrogates), or None."""
    if "\x00" in text:
        return "Must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no unpaired surrogates)"
    return None


def _json_problems(
    value: object, loc: tuple[str | int, ...], depth: int, out: list[dict[str, Any]]
) -> None:
    if isinstance(value, str):
        if problem := text_problem(value):
            out.append(_error(loc, problem))
        return
    if not isinstance(value, dict | list):
        return
    if depth >= MAX_JSON_DEPTH:
        message = f"Nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays and objects"
        out.append(_error(loc, message, "json_too_deep"))
        return
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(key, str) and (problem := text_problem(key)):
            out.append(_error((*loc, key), problem))
            continue
        _json_problems(item, (*loc, key), depth + 1, out)


def _error(
    loc: tuple[str | int, ...], message: str, kind: str = "string_invalid_text"
) -> dict[str, Any]:
    """One error in the shape of pydantic's, so the validation handlers answer it unchanged."""
    return {"type": kind, "loc": loc, "msg": message, "input": None}


async def refuse_invalid_text(request: Request) -> None:
    """A route dependency: NUL, unpaired surrogates or JSON nested too deeply in a path
    parameter, a query parameter or the JSON body is a validation error naming the field.

    Checked once here, before any route reads a value, instead of in each model and column.
    """
    errors: list[dict[str, Any]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and (problem := text_problem(value)):
            errors.append(_error(("path", name), problem))
    for name, value in request.query_params.multi_items():
        if problem := text_problem(value):
            errors.append(_error(("query", name), problem))
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is not None and await request.body():
        try:
            # FastAPI parsed a JSON body before the dependencies ran: this is its cached value.
            body = await request.json()
        except (ValueError, RecursionError):
            body = None  # not JSON: the route's own body validation answers
        _json_problems(body, ("body",), 0, errors)
    if errors:
        raise RequestValidationError(errors)
