"""numbers-api's HTTP routes, one router per resource: thin, each one a handler call."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from numbers_api.api import agents, carriers, dev, events, internal, phone_numbers
from numbers_api.api.deps import Context
from numbers_api.config import Settings
from numbers_api.stream_slots import StreamSlots
from talkifai_common.web_input import refuse_invalid_text

__all__ = ["Context", "include_routes"]


def include_routes(app: FastAPI, settings: Settings) -> None:
    """Mount the routers (internal ones left out of the public OpenAPI); dev only in dev mode."""
    app.state.event_streams = StreamSlots(
        settings.events_streams_per_token, settings.events_streams_per_org
    )
    guarded = [Depends(refuse_invalid_text)]
    for router in (agents.router, phone_numbers.router, carriers.router, events.router):
        app.include_router(router, dependencies=guarded)
    app.include_router(internal.router, dependencies=guarded, include_in_schema=False)
    if settings.dev_mode:
        app.include_router(dev.router, dependencies=guarded)
