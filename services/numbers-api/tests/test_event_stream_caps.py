"""`GET /events`: concurrent streams are capped per token and per organization (429 beyond)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from numbers_api.config import Settings
from talkifai_common.auth import Role
from tests.support.numbers_api import Api


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Caps small enough to reach: two streams per token, three per organization."""
    return settings.model_copy(update={"events_streams_per_token": 2, "events_streams_per_org": 3})


async def _open(
    stack: contextlib.AsyncExitStack, client: httpx.AsyncClient, token: str
) -> httpx.Response:
    return await stack.enter_async_context(
        client.stream("GET", "/events", params={"access_token": token})
    )


async def test_streams_past_the_token_or_organization_cap_are_429(api: Api) -> None:
    first, second, third = (api.token("org_a", Role.MEMBER, sub=f"user-{i}") for i in range(3))
    async with (
        httpx.AsyncClient(base_url=api.base_url, timeout=10) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        held = [await _open(stack, client, first), await _open(stack, client, first)]
        over_token = await client.get("/events", params={"access_token": first})
        held.append(await _open(stack, client, second))
        over_org = await client.get("/events", params={"access_token": third})
        other_org = await _open(stack, client, api.token("org_b", Role.MEMBER))

        assert [r.status_code for r in held] == [200, 200, 200]
        for refused, cap in ((over_token, "This token"), (over_org, "Your organization")):
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["detail"].startswith(cap)
        assert other_org.status_code == 200


async def test_a_closed_stream_frees_its_slot(api: Api) -> None:
    token = api.token("org_a", Role.MEMBER)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=10) as client:
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(2):
                assert (await _open(stack, client, token)).status_code == 200
            assert (await client.get("/events", params={"access_token": token})).status_code == 429
        async with contextlib.AsyncExitStack() as stack:
            # The server sees the disconnect when it next looks; wait for that, not for a time.
            for _ in range(500):
                response = await _open(stack, client, token)
                if response.status_code == 200:
                    break
                await response.aclose()
                await asyncio.sleep(0.02)
            assert response.status_code == 200
