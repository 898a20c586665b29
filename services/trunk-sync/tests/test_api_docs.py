"""trunk-sync's documentation pages work without the internet."""

from __future__ import annotations

import httpx

from tests.support.api_docs import assert_docs_served_locally
from trunk_sync.config import Settings
from trunk_sync.main import create_app


async def test_docs_and_redoc_load_their_assets_from_the_service_itself() -> None:
    # The pages need no bus, numbers-api nor LiveKit: the app is not started (no lifespan).
    app = create_app(Settings(dev_mode=True))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://trunk-sync") as http:
        await assert_docs_served_locally(http)
