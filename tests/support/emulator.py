"""The LiveKit emulator's tests: resource builders and a webhook sink."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livekit import api
from livekit.protocol import sip
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

WAIT_S = 5.0  # a guard against hanging, never an expectation of speed


@dataclass
class Delivery:
    """One webhook request as received."""

    body: str
    authorization: str
    content_type: str


@dataclass
class WebhookSink:
    """A tiny HTTP server that records webhook requests (optionally failing the first ones)."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0
    attempts: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: Request) -> Response:
        """Record a delivery, or fail it on purpose."""
        self.attempts += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return PlainTextResponse("try later", status_code=503)
        self.deliveries.append(
            Delivery(
                body=(await request.body()).decode(),
                authorization=request.headers.get("authorization", ""),
                content_type=request.headers.get("content-type", ""),
            )
        )
        self._arrived.set()
        return PlainTextResponse("ok")

    async def wait_for(self, predicate: Callable[[list[Delivery]], bool]) -> list[Delivery]:
        """Wait until the deliveries satisfy `predicate`."""
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.deliveries):
                self._arrived.clear()
                await self._arrived.wait()
        return self.deliveries


async def inbound_trunk(
    lkapi: api.LiveKitAPI, *numbers: str, **fields: Any
) -> sip.SIPInboundTrunkInfo:
    """Create an inbound trunk for these numbers."""
    info = sip.SIPInboundTrunkInfo(numbers=list(numbers), **fields)
    return await lkapi.sip.create_inbound_trunk(sip.CreateSIPInboundTrunkRequest(trunk=info))


async def outbound_trunk(
    lkapi: api.LiveKitAPI, number: str = "+15550100", **fields: Any
) -> sip.SIPOutboundTrunkInfo:
    """Create an outbound trunk with one number."""
    info = sip.SIPOutboundTrunkInfo(
        name="out", address="sip.example.com", numbers=[number], **fields
    )
    return await lkapi.sip.create_outbound_trunk(sip.CreateSIPOutboundTrunkRequest(trunk=info))


async def individual_rule(
    lkapi: api.LiveKitAPI,
    trunk_ids: list[str],
    prefix: str = "call",
    agent: str = "",
    name: str = "",
) -> sip.SIPDispatchRuleInfo:
    """Create an individual-room dispatch rule, optionally dispatching an agent."""
    rule = sip.SIPDispatchRuleInfo(
        name=name,
        trunk_ids=trunk_ids,
        rule=sip.SIPDispatchRule(
            dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix=prefix)
        ),
    )
    if agent:
        rule.room_config.agents.add(agent_name=agent, metadata='{"k": "v"}')
    return await lkapi.sip.create_dispatch_rule(
        sip.CreateSIPDispatchRuleRequest(dispatch_rule=rule)
    )
