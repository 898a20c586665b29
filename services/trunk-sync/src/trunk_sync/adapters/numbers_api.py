"""numbers-api's internal endpoints through aiohttp, with the internal bearer token.

aiohttp rather than httpx: every sync makes two requests, and httpx's pool checks each kept
connection's socket on every request, which made the pool trunk-sync's busiest code under load.

The outbound credentials carry the SIP password in clear: it goes to LiveKit and nowhere else
(`OutboundCredentials.__repr__` hides it, so no log line or traceback can show it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import NamedTuple, Protocol

import aiohttp
from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from talkifai_common.events import MediaEncryption, SipTransport
from trunk_sync.domain import InternalNumber, NumbersApiUnavailable, TrunkSyncError


class OutboundCredentials(BaseModel):
    """What numbers-api hands trunk-sync for a number's outbound trunk."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    phone_number_id: str
    phone_number: str
    org_id: str
    version: int
    termination_uri: str | None
    sip_username: str | None
    sip_password: SecretStr | None = Field(repr=False)
    sip_transport: SipTransport
    media_encryption: MediaEncryption


class _NumberForSync(BaseModel):
    number: InternalNumber
    outbound_credentials: OutboundCredentials


class _Page(BaseModel):
    items: list[InternalNumber]
    next_cursor: str | None


class NumbersPort(Protocol):
    """numbers-api as trunk-sync asks it."""

    async def number_for_sync(
        self, number_id: str
    ) -> tuple[InternalNumber, OutboundCredentials] | tuple[None, None]: ...

    def all_numbers(self, page_size: int = 200) -> AsyncIterator[list[InternalNumber]]: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


class NumbersApiError(TrunkSyncError):
    """numbers-api answered in a way trunk-sync cannot use (a bug or a misconfiguration)."""


class _Response(NamedTuple):
    status_code: int
    content: bytes


class NumbersApiClient:
    """NumbersPort over aiohttp (the session is opened on first use, inside the running loop)."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 1.0))
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=100),
                raise_for_status=False,
            )
        return self._session

    async def _request(
        self, path: str, params: dict[str, str | int] | None = None, *, traced: bool = True
    ) -> _Response:
        headers: dict[str, str] = {}
        if traced:
            propagate.inject(headers)
        try:
            async with self._http().get(
                f"{self._base_url}{path}", params=params, headers=headers
            ) as response:
                return _Response(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NumbersApiUnavailable(f"numbers-api unreachable: {type(exc).__name__}") from exc

    async def _get(self, path: str, params: dict[str, str | int] | None = None) -> _Response:
        response = await self._request(path, params)
        if response.status_code >= 500:
            raise NumbersApiUnavailable(f"numbers-api answered {response.status_code}")
        if response.status_code not in (200, 404):
            # 401 is a wrong INTERNAL_API_TOKEN: retrying lets an operator fix it without loss.
            raise NumbersApiUnavailable(f"numbers-api answered {response.status_code} on {path}")
        return response

    async def number_for_sync(
        self, number_id: str
    ) -> tuple[InternalNumber, OutboundCredentials] | tuple[None, None]:
        """The number's current state and its outbound settings with the SIP password, read
        together (same version); (None, None) when the number no longer exists."""
        response = await self._get(f"/internal/phone-numbers/{number_id}/for-sync")
        if response.status_code == 404:
            return None, None
        read = _NumberForSync.model_validate_json(response.content)
        return read.number, read.outbound_credentials

    async def all_numbers(self, page_size: int = 200) -> AsyncIterator[list[InternalNumber]]:
        """Every number of every organization, a page at a time, in id order."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = await self._get("/internal/phone-numbers", params)
            if response.status_code != 200:
                raise NumbersApiError(f"numbers-api answered {response.status_code} to a list")
            page = _Page.model_validate_json(response.content)
            yield page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def ping(self) -> None:
        """numbers-api answers its health check."""
        response = await self._request("/healthz", traced=False)
        if response.status_code != 200:
            raise NumbersApiUnavailable(f"numbers-api answered {response.status_code}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
