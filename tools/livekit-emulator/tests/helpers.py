"""Small builders shared by the emulator's tests."""

from __future__ import annotations

from typing import Any

from livekit import api
from livekit.protocol import sip


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
