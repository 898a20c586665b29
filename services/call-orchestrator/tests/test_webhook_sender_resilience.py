"""No single webhook delivery, and no failed claim, can stop customer webhooks for everyone."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from call_orchestrator.adapters.postgres import DeliveryStore
from call_orchestrator.adapters.webhooks import WebhookSender
from tests.support.call_orchestrator import SIGNING_SECRET, Harness, eventually
from tests.support.servers import serve_asgi

POISON_URLS = [
    "http://example.com:99999/",
    "http://exa\r\nmple.com/hook",
    "http://example.com/a\tb",
    "http://xn--a.com/hook",
    "http://\u2603.com/hook",
    "http://example.com:0/",
    "not a url at all",
]


@pytest.fixture
async def good_url() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A customer endpoint that accepts everything, and what it received."""
    received: list[bytes] = []

    async def endpoint(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=204)

    async with serve_asgi(Starlette(routes=[Route("/hook", endpoint, methods=["POST"])])) as base:
        yield f"{base}/hook", received


async def _queue(conn: asyncpg.Connection, org_id: str, url: str) -> int:
    """A delivery inserted straight into the queue, as an old or hostile row could be."""
    event_id = str(uuid.uuid4())
    payload = f'{{"id":"{event_id}","type":"talkifai.telephony.call.completed.v1"}}'
    delivery_id: int = await conn.fetchval(
        "INSERT INTO webhook_deliveries (event_id, call_id, org_id, url, payload, give_up_at) "
        "VALUES ($1, $2, $3, $4, $5, now() + interval '1 hour') RETURNING id",
        event_id,
        f"call_{event_id[:8]}",
        org_id,
        url,
        payload,
    )
    return delivery_id


async def _states(conn: asyncpg.Connection) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(
        "SELECT d.id, d.state, d.last_error, count(a.id) AS attempts FROM webhook_deliveries d "
        "LEFT JOIN webhook_attempts a ON a.delivery_id = d.id GROUP BY d.id"
    )
    return {r["id"]: r for r in rows}


async def test_poison_urls_of_one_org_do_not_stop_deliveries_to_another(
    harness: Harness, good_url: tuple[str, list[bytes]]
) -> None:
    url, received = good_url
    conn = await harness.db()
    poison = [await _queue(conn, "org_poison", u) for u in POISON_URLS]
    # Every poison row has been tried (and recorded) before the good one is queued, so a sender
    # that died on one of them would never deliver it.
    await eventually(
        lambda: _states(conn),
        lambda s: all(s[p]["attempts"] >= 1 for p in poison),
    )
    good = await _queue(conn, "org_good", url)

    states = await eventually(lambda: _states(conn), lambda s: s[good]["state"] == "delivered")

    assert len(received) == 1
    for delivery_id in poison:
        row = states[delivery_id]
        assert row["state"] == "failed", row
        assert row["last_error"].startswith("refused: Webhook URL"), row
        assert "\n" not in row["last_error"] and "\r" not in row["last_error"]
    ready = await harness.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["webhooks"] == "ok"


async def test_the_sender_restarts_after_a_failed_claim_and_shows_it_in_readyz(
    harness: Harness, good_url: tuple[str, list[bytes]]
) -> None:
    url, received = good_url
    conn = await harness.db()
    # A real fault in the real database: the queue's table is gone for a while.
    await conn.execute("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away")
    try:
        down = await eventually(
            lambda: harness.http.get("/readyz"), lambda r: r.status_code == 503, within_s=10
        )
        assert down.json()["checks"]["webhooks"].startswith("unavailable")
    finally:
        await conn.execute("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries")
    good = await _queue(conn, "org_good", url)

    await eventually(lambda: _states(conn), lambda s: s[good]["state"] == "delivered", within_s=10)
    await eventually(lambda: harness.http.get("/readyz"), lambda r: r.status_code == 200)
    assert len(received) == 1


async def _temporary_dns_failure(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


async def test_a_temporary_dns_failure_is_retried_not_the_end_of_the_delivery(
    database_url: str,
) -> None:
    pool: Any = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        store = DeliveryStore(pool)
        async with pool.acquire() as conn:
            delivery_id = await _queue(conn, "org_a", "https://hooks.example.org/calls")
        sender = WebhookSender(
            store,
            secret=SIGNING_SECRET,
            allow_private=False,
            timeout_s=1,
            retry_base_s=60,
            retry_max_s=60,
            poll_interval_s=1,
            resolver=_temporary_dns_failure,
        )
        [delivery] = await store.claim(10, 5)
        before = datetime.now(UTC)

        await sender.deliver(delivery)

        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT state, last_error, next_attempt_at FROM webhook_deliveries WHERE id = $1",
                delivery_id,
            )
            attempts = await conn.fetchval(
                "SELECT count(*) FROM webhook_attempts WHERE delivery_id = $1", delivery_id
            )
        assert row["state"] == "pending"
        assert "could not be resolved now" in row["last_error"]
        assert row["next_attempt_at"] > before + timedelta(seconds=30)
        assert attempts == 1
    finally:
        await pool.close()
