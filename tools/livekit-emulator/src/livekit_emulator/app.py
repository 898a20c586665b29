"""The ASGI application: Twirp routes, the agent worker WebSocket, the control API and health."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from livekit_emulator import control, twirp, workers
from livekit_emulator.config import EmulatorConfig
from livekit_emulator.logs import quiet_denial_responses
from livekit_emulator.runtime import Emulator

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


async def healthz(request: Request) -> Response:
    """`GET /healthz`: the process is up."""
    return JSONResponse({"status": "ok"})


async def root(request: Request) -> Response:
    """`GET /`: LiveKit's own health check answers "OK"."""
    return PlainTextResponse("OK")


async def rtc_socket(websocket: WebSocket) -> None:
    """`/rtc` (and `/rtc/v1`, refused with 404): a participant's signalling connection."""
    await websocket.app.state.emulator.media.serve(websocket)


async def rtc_http(request: Request) -> Response:
    """`/rtc/validate` checks a join's token (200 "success" or LiveKit's error); other plain
    requests to `/rtc` are 404, as livekit-server answers requests that are not WebSockets."""
    if request.url.path.rstrip("/") == "/rtc/validate":
        emulator = request.app.state.emulator
        _, status, text = emulator.media.validate(
            request.headers.get("authorization"), request.query_params
        )
        return PlainTextResponse(text, status_code=status)
    return PlainTextResponse("404 page not found", status_code=404)


def create_app(config: EmulatorConfig, emulator: Emulator | None = None) -> Starlette:
    """Build the app around a (new or given) emulator, reachable as `app.state.emulator`."""
    emu = emulator or Emulator(config)
    quiet_denial_responses()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await emu.start()
        yield
        await emu.aclose()

    app = Starlette(
        routes=[
            Route("/", root, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            *control.ROUTES,
            *workers.routes(),
            WebSocketRoute("/rtc", rtc_socket),
            WebSocketRoute("/rtc/{path:path}", rtc_socket),
            Route("/rtc", rtc_http, methods=["GET"]),
            Route("/rtc/{path:path}", rtc_http, methods=["GET"]),
            Route("/twirp/{path:path}", twirp.endpoint, methods=ALL_METHODS),
        ],
        lifespan=lifespan,
    )
    app.state.emulator = emu
    return app
