"""The API's documentation pages work without the internet."""

from __future__ import annotations

from tests.support.api_docs import assert_docs_served_locally
from tests.support.call_orchestrator import Harness


async def test_docs_and_redoc_load_their_assets_from_the_service_itself(harness: Harness) -> None:
    await assert_docs_served_locally(harness.http)
