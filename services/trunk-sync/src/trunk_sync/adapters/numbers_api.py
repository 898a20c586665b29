"""numbers-api's internal endpoints through aiohttp, with the internal bearer token.

aiohttp rather than httpx: every sync makes two requests, and httpx's pool checks each kept
connection's socket on every request, which made the pool trunk-sync's busiest code under load.

Reads for syncs go in batches: the numbers asked for in one turn of the event loop (the messages
in flight reach their read together) are read with one `POST .../for-sync`. The batch's span
links the span of every sync waiting on it, so each sync's trace still shows its read.

The outbound credentials carry the SIP password: it goes to LiveKit and nowhere else
(`talkifai_common.internal_api.TrunkCredentials` holds it as a `SecretStr`, so no log line or
traceback can show it).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any, NamedTuple, Protocol

import aiohttp
from opentelemetry import propagate, trace
from pydantic import BaseModel

from talkifai_common.internal_api import (
    InternalPhoneNumber,
    NumberForSync,
    NumbersForSync,
    TrunkCredentials,
)
from trunk_sync.domain import NumbersApiUnavailable, TrunkSyncError

ForSync = tuple[InternalPhoneNumber, TrunkCredentials] | tuple[None, None]
MAX_BATCH = 500  # numbers-api's limit per read
MAX_READS_IN_FLIGHT = 2
tracer = trace.get_tracer("trunk_sync")


class _Page(BaseModel):
    items: list[InternalPhoneNumber]
    next_cursor: str | None


class NumbersPort(Protocol):
    """numbers-api as trunk-sync asks it."""

    async def number_for_sync(self, number_id: str) -> ForSync: ...

    def all_numbers(self, page_size: int = 200) -> AsyncIterator[list[InternalPhoneNumber]]: ...

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
        # Reads asked for in this turn of the loop, and the spans of the syncs asking.
        self._waiting: dict[str, list[asyncio.Future[ForSync]]] = {}
        self._links: list[trace.Link] = []
        self._scheduled = False
        self._batches: set[asyncio.Task[None]] = set()  # the batch requests in flight

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
        self,
        path: str,
        params: dict[str, str | int] | None = None,
        *,
        body: Any = None,
        traced: bool = True,
    ) -> _Response:
        headers: dict[str, str] = {}
        if traced:
            propagate.inject(headers)
        method = "GET" if body is None else "POST"
        try:
            async with self._http().request(
                method, f"{self._base_url}{path}", params=params, json=body, headers=headers
            ) as response:
                return _Response(response.status, await response.read())
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise NumbersApiUnavailable(f"numbers-api unreachable: {type(exc).__name__}") from exc

    async def _call(
        self, path: str, params: dict[str, str | int] | None = None, *, body: Any = None
    ) -> _Response:
        """A GET (a POST with `body`) whose answer trunk-sync can act on: 200, 404 or 405."""
        response = await self._request(path, params, body=body)
        if response.status_code >= 500:
            raise NumbersApiUnavailable(f"numbers-api answered {response.status_code}")
        if response.status_code not in (200, 404, 405):
            # 401 is a wrong INTERNAL_API_TOKEN: retrying lets an operator fix it without loss.
            raise NumbersApiUnavailable(f"numbers-api answered {response.status_code} on {path}")
        return response

    async def number_for_sync(self, number_id: str) -> ForSync:
        """The number's current state and its outbound settings with the SIP password, read
        together (same version); (None, None) when the number no longer exists.

        Batched with the other reads asked for in the same turn of the event loop.
        """
        waiter: asyncio.Future[ForSync] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(number_id, []).append(waiter)
        caller = trace.get_current_span().get_span_context()
        if caller.is_valid:
            self._links.append(trace.Link(caller))
        self._schedule_batch()
        return await waiter

    def _schedule_batch(self) -> None:
        """Send what is waiting on the next turn of the loop, if a request slot is free.

        Group commit: with every slot busy, reads wait for the next free slot and go together,
        so batches grow with the load and an idle service adds no delay.
        """
        if self._waiting and not self._scheduled and len(self._batches) < MAX_READS_IN_FLIGHT:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send_batch)

    def _send_batch(self) -> None:
        self._scheduled = False
        ids = list(self._waiting)[:MAX_BATCH]
        batch = {number_id: self._waiting.pop(number_id) for number_id in ids}
        links, self._links = self._links, []
        # A context of its own: the batch is no one sync's child, it links them all.
        task = asyncio.create_task(self._read_batch(batch, links), context=contextvars.Context())
        self._batches.add(task)
        task.add_done_callback(self._batch_done)
        self._schedule_batch()

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        self._batches.discard(task)
        self._schedule_batch()

    async def _read_batch(
        self, waiting: dict[str, list[asyncio.Future[ForSync]]], links: list[trace.Link]
    ) -> None:
        try:
            with tracer.start_as_current_span(
                "numbers_api.read_for_sync",
                kind=trace.SpanKind.CLIENT,
                links=links,
                attributes={"phone_number.count": len(waiting)},
            ):
                found = await self._read_many(list(waiting))
        except asyncio.CancelledError:
            for waiters in waiting.values():
                for waiter in waiters:
                    waiter.cancel()
            raise
        except Exception as exc:
            for waiters in waiting.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
            return
        for number_id, waiters in waiting.items():
            result = found.get(number_id, (None, None))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _read_many(self, ids: list[str]) -> dict[str, ForSync]:
        response = await self._call("/internal/phone-numbers/for-sync", body={"ids": ids})
        if response.status_code == 405:
            # A numbers-api older than batched reads (during a rolling upgrade): one by one.
            singles = await asyncio.gather(*(self._read_one(number_id) for number_id in ids))
            return dict(zip(ids, singles, strict=True))
        if response.status_code != 200:
            raise NumbersApiError(f"numbers-api answered {response.status_code} to a batch read")
        read = NumbersForSync.model_validate_json(response.content)
        return {item.number.id: (item.number, item.trunk_credentials) for item in read.items}

    async def _read_one(self, number_id: str) -> ForSync:
        response = await self._call(f"/internal/phone-numbers/{number_id}/for-sync")
        if response.status_code == 404:
            return None, None
        if response.status_code != 200:
            raise NumbersApiError(f"numbers-api answered {response.status_code} to a read")
        read = NumberForSync.model_validate_json(response.content)
        return read.number, read.trunk_credentials

    async def all_numbers(self, page_size: int = 200) -> AsyncIterator[list[InternalPhoneNumber]]:
        """Every number of every organization, a page at a time, in id order."""
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            response = await self._call("/internal/phone-numbers", params)
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
