"""numbers-api's internal representations (`/internal/*`, with the internal token only), shared
by numbers-api, which answers with them, and the services that read them; and the listing of
every number through an httpx client that carries the token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from opentelemetry import propagate
from pydantic import BaseModel, Field

from talkifai_common.events import AgentData, LiveKitResources, PhoneNumberData

PAGE_LIMIT = 200  # numbers-api's largest page


class InternalPhoneNumber(PhoneNumberData):
    """A number with its organization and LiveKit resources, for internal callers."""

    org_id: str
    livekit: LiveKitResources = Field(
        default_factory=LiveKitResources,
        description="The LiveKit resources of the number's last synced version, as trunk-sync "
        "reported them (ids stay when a later sync fails).",
    )


class InternalAgent(AgentData):
    """An agent with its organization, for internal callers."""

    org_id: str


class _NumberPage(BaseModel):
    items: list[InternalPhoneNumber]
    next_cursor: str | None = None


async def phone_number_pages(http: httpx.AsyncClient) -> AsyncIterator[list[InternalPhoneNumber]]:
    """Every number of every organization from `GET /internal/phone-numbers`, a page at a time in
    id order. `http` has numbers-api's base URL and the internal token; raises `httpx.HTTPError`
    (an `httpx.HTTPStatusError` for any answer but 200)."""
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        headers: dict[str, str] = {}
        propagate.inject(headers)
        response = await http.get("/internal/phone-numbers", params=params, headers=headers)
        response.raise_for_status()
        page = _NumberPage.model_validate_json(response.content)
        yield page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor
