"""numbers-api's internal list of numbers, read with the internal token to fill the read model.

Events are the read model's main path; this list covers what the stream no longer holds (a
call-orchestrator deployed after the numbers, a restored database, recreated consumers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from opentelemetry import propagate
from pydantic import BaseModel

from talkifai_common.events import LiveKitResources, PhoneNumberData

PAGE_SIZE = 200  # numbers-api's largest page


class InternalNumber(PhoneNumberData):
    """A number as numbers-api shows internal callers: with its organization and the LiveKit
    resources of its last synced version."""

    org_id: str
    livekit: LiveKitResources = LiveKitResources()


class _Page(BaseModel):
    items: list[InternalNumber]
    next_cursor: str | None = None


class NumbersSource(Protocol):
    """Every number of every organization, a page at a time."""

    def pages(self) -> AsyncIterator[list[InternalNumber]]: ...

    async def exists(self, number_id: str) -> bool: ...


class NumbersApiClient:
    """`NumbersSource` over numbers-api's `GET /internal/phone-numbers`."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    async def pages(self) -> AsyncIterator[list[InternalNumber]]:
        """Pages in id order; raises `httpx.HTTPError` when numbers-api cannot answer."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            headers: dict[str, str] = {}
            propagate.inject(headers)
            response = await self._http.get(
                "/internal/phone-numbers", params=params, headers=headers
            )
            response.raise_for_status()
            page = _Page.model_validate_json(response.content)
            yield page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def exists(self, number_id: str) -> bool:
        """Whether numbers-api still has the number (raises `httpx.HTTPError` otherwise)."""
        headers: dict[str, str] = {}
        propagate.inject(headers)
        response = await self._http.get(f"/internal/phone-numbers/{number_id}", headers=headers)
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
