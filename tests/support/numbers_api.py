"""Clients and recorders for tests that drive numbers-api and read the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import nats

from talkifai_common.auth import Role

TokenFactory = Callable[..., str]
# On the stream (telephony.>) but no service's subject: marks "everything before has arrived".
SENTINEL_SUBJECT = "telephony.test.sentinel"
INTERNAL_TOKEN = "test-internal-token-0123456789abcdef"


@dataclass
class Api:
    """A running numbers-api and clients for it."""

    base_url: str
    http: httpx.AsyncClient
    token: TokenFactory
    app: Any

    def as_(self, org_id: str = "org_a", role: Role = Role.OWNER) -> dict[str, str]:
        """Headers for a user of `org_id` with `role`."""
        return {"Authorization": f"Bearer {self.token(org_id, role)}"}

    async def request(
        self, method: str, path: str, org_id: str = "org_a", role: Role = Role.OWNER, **kwargs: Any
    ) -> httpx.Response:
        """Call the API as a user."""
        headers = {**self.as_(org_id, role), **kwargs.pop("headers", {})}
        return await self.http.request(method, path, headers=headers, **kwargs)

    async def agent(
        self, name: str = "Sales Agent", architecture: str = "pipeline", **kw: Any
    ) -> dict[str, Any]:
        """Create an agent and return it."""
        org_id = kw.pop("org_id", "org_a")
        response = await self.request(
            "POST", "/agents", org_id, json={"name": name, "architecture": architecture, **kw}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def number(self, phone_number: str = "+12025550123", **kw: Any) -> dict[str, Any]:
        """Create a phone number and return it: a Twilio number unless `carrier` says otherwise
        (Twilio's profile lists its signalling ranges, so an inbound agent may answer on it)."""
        org_id = kw.pop("org_id", "org_a")
        body = {"phone_number": phone_number, "carrier": "twilio", **kw}
        response = await self.request("POST", "/phone-numbers", org_id, json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def wait_bus_ready(self) -> None:
        """Wait until the service has connected to NATS (the relay starts then)."""
        for _ in range(500):
            response = await self.http.get("/readyz")
            if response.status_code == 200:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"numbers-api never became ready: {response.text}")


@dataclass
class BusRecorder:
    """Every event on the `TELEPHONY` stream since the test began, read from JetStream."""

    messages: list[Any] = field(default_factory=list)

    def events(self, subject_prefix: str = "telephony.") -> list[dict[str, Any]]:
        """Decoded CloudEvents whose subject starts with the prefix."""
        return [json.loads(m.data) for m in self.messages if m.subject.startswith(subject_prefix)]

    async def wait_for(
        self, count: int, subject_prefix: str = "telephony.", within_s: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until at least `count` matching events arrived."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            found = self.events(subject_prefix)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(
            f"expected {count} events on {subject_prefix}*, got {self.events(subject_prefix)}"
        )

    async def settled(
        self, nats_url: str, subject_prefix: str = "telephony.", within_s: float = 5.0
    ) -> list[dict[str, Any]]:
        """Every matching event published so far: a sentinel published after them is awaited,
        and the stream delivers in order, so nothing earlier is still on its way."""
        nc = await nats.connect(nats_url)
        try:
            return await self.settled_through(nc, subject_prefix, within_s)
        finally:
            await nc.close()

    async def settled_through(
        self, nc: Any, subject_prefix: str = "telephony.", within_s: float = 5.0
    ) -> list[dict[str, Any]]:
        """`settled`, publishing the sentinel through an open connection."""
        await nc.jetstream().publish(SENTINEL_SUBJECT, b"{}")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not any(m.subject == SENTINEL_SUBJECT for m in self.messages):
            if loop.time() > deadline:
                raise AssertionError("the sentinel event never came back from the stream")
            await asyncio.sleep(0.02)
        before = self.messages[: [m.subject for m in self.messages].index(SENTINEL_SUBJECT)]
        return [json.loads(m.data) for m in before if m.subject.startswith(subject_prefix)]
