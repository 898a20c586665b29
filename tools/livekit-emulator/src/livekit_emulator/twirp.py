"""The Twirp wire protocol: routing, protobuf/JSON bodies and JSON errors, as LiveKit serves it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pool
from google.protobuf.json_format import MessageToJson, Parse, ParseError
from google.protobuf.message import DecodeError, Message
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from livekit_emulator.auth import Grants, authenticate
from livekit_emulator.errors import AuthError, TwirpError, go_quote

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

PREFIX = "/twirp"
PACKAGE = "livekit"

log = logging.getLogger("livekit_emulator.twirp")

Handler = Callable[[Any, Grants | None, Any], Awaitable[Message]]


@dataclass(frozen=True)
class Method:
    """One emulated Twirp method: its request message type and its handler."""

    request: type[Message]
    handler: Handler


def error_response(err: TwirpError) -> Response:
    """Twirp's JSON error body with the status of its code."""
    return JSONResponse(err.body(), status_code=err.status)


def bad_route(msg: str, method: str, path: str) -> TwirpError:
    """Twirp's `badRouteError`."""
    return TwirpError("bad_route", msg, {"twirp_invalid_route": f"{method} {path}"})


def known_methods(service: str) -> set[str]:
    """The methods LiveKit's protocol declares for a service (to tell unimplemented from unknown)."""
    try:
        descriptor = descriptor_pool.Default().FindServiceByName(f"{PACKAGE}.{service}")
    except KeyError:
        return set()
    return {m.name for m in descriptor.methods}


async def endpoint(request: Request) -> Response:
    """Serve every `/twirp/...` request."""
    emu: Emulator = request.app.state.emulator
    started = time.perf_counter()
    path: str = request.scope["path"]  # (request.url would build the whole URL)
    faults = emu.state.faults
    if faults.latency_ms:
        # A slow LiveKit has the request and acts on it late, even when its caller gave up.
        reset = emu.reset_signal
        await request.body()
        faults.held += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reset.wait(), faults.latency_ms / 1000)
        finally:
            faults.held -= 1
        if reset.is_set():
            # Reset meanwhile: the server that had the request is gone.
            err = TwirpError("unavailable", "livekit emulator: reset while the request waited")
            _log_call(path, err.status, err.code, started)
            return error_response(err)
    if faults.unavailable:
        faults.refused += 1
        # What a LiveKit behind a load balancer looks like while its pods are down.
        err = TwirpError("unavailable", "livekit emulator: server unavailable (injected fault)")
        _log_call(path, err.status, err.code, started)
        return error_response(err)
    response, code = await _serve(emu, request, path)
    _log_call(path, response.status_code, code, started)
    return response


async def _serve(emu: Emulator, request: Request, path: str) -> tuple[Response, str]:
    try:
        return await _serve_twirp(emu, request, path), ""
    except TwirpError as err:
        return error_response(err), err.code


async def _serve_twirp(emu: Emulator, request: Request, path: str) -> Response:
    # LiveKit authenticates in a middleware in front of every route, Twirp or not.
    try:
        authorization = request.headers.get("authorization")
        # The query's token counts only without the header; parse the query only then.
        query_token = None if authorization else request.query_params.get("access_token")
        grants = authenticate(authorization, query_token, emu.config.keys)
    except AuthError as exc:
        return PlainTextResponse(exc.text, status_code=401)

    rest = path[len(PREFIX) + 1 :]
    package_service, _, method_name = rest.rpartition("/")
    package, _, service = package_service.partition(".")
    services = emu.services
    if package != PACKAGE or service not in services or "/" in package_service:
        # Only registered services have a handler; the HTTP mux answers everything else.
        return PlainTextResponse("404 page not found\n", status_code=404)
    if request.method != "POST":
        msg = f"unsupported method {go_quote(request.method)} (only POST is allowed)"
        raise bad_route(msg, request.method, path)
    method = services[service].get(method_name)
    if method is None:
        if method_name in known_methods(service):
            msg = f"livekit emulator: {service}.{method_name} is not emulated"
            raise TwirpError("unimplemented", msg)
        raise bad_route(f"no handler for path {go_quote(path)}", request.method, path)

    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in ("application/json", "application/protobuf"):
        msg = f"unexpected Content-Type: {go_quote(content_type)}"
        raise bad_route(msg, request.method, path)

    body = await request.body()
    message = method.request()
    if kind == "application/json":
        try:
            Parse(body.decode(), message, ignore_unknown_fields=True)
        except (ParseError, UnicodeDecodeError, ValueError) as exc:
            raise TwirpError("malformed", "the json request could not be decoded") from exc
    else:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise TwirpError("malformed", "the protobuf request could not be decoded") from exc

    result = await method.handler(emu, grants, message)

    if kind == "application/json":
        text = MessageToJson(
            result,
            preserving_proto_field_name=True,
            always_print_fields_with_no_presence=True,
            indent=None,
        )
        return Response(text, media_type="application/json")
    return Response(result.SerializeToString(), media_type="application/protobuf")


def _log_call(path: str, status: int, code: str, started: float) -> None:
    # Debug: uvicorn's access log already gives each request its one line at info.
    log.debug(
        "twirp call",
        extra={
            "path": path,
            "status": status,
            "code": code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
