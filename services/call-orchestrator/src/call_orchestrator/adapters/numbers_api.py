"""numbers-api's internal list of numbers, read with the internal token to fill the read model.

Events are the read model's main path; this list covers what the stream no longer holds (a
call-orchestrator deployed after the numbers, a restored database, recreated consumers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import httpx
from opentelemetry import propagate

from talkifai_common.internal_api import InternalPhoneNumber, phone_number_pages


class NumbersSource(Protocol):
    """Every number of every organization, a page at a time, and whether one still exists."""

    def pages(self) -> AsyncIterator[list[InternalPhoneNumber]]: ...

    async def exists(self, number_id: str) -> bool: ...


class NumbersApiClient:
    """`NumbersSource` over numbers-api's `/internal/phone-numbers` (raises `httpx.HTTPError`)."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )

    def pages(self) -> AsyncIterator[list[InternalPhoneNumber]]:
        """Pages in id order."""
        return phone_number_pages(self._http)

    async def exists(self, number_id: str) -> bool:
        """Whether numbers-api still has the number."""
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
