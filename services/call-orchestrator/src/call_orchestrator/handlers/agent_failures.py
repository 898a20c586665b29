"""Calls and the agents that run them: refuse a call no agent-runtime can run before anyone is
rung, and end a call whose agent failed as `failed` with reason `agent_failed` and its error."""

from __future__ import annotations

import asyncio

import structlog
from faststream.nats import NatsBroker

from call_orchestrator.adapters.postgres import CallChanges, CallStore
from call_orchestrator.errors import (
    AgentFailed,
    AgentProviderKeyMissing,
    AgentRuntimeUnavailable,
    CallError,
)
from talkifai_common.agent_capabilities import RuntimeBoard
from talkifai_common.errors import NotFound
from talkifai_common.events import CallAgentFailedData, CallData, CallStatus

log = structlog.get_logger(__name__)
AGENT_FAILED = "agent_failed"
MAX_DETAIL = 1000  # an agent's error is for people; a runaway one must not fill the history


def check_agent_can_run(
    runtimes: RuntimeBoard, agent_name: str, provider_keys: tuple[str, ...] | None
) -> None:
    """AgentRuntimeUnavailable when no agent-runtime runs, AgentProviderKeyMissing when none has
    every provider key the agent needs (keys not known yet: any live agent-runtime will do)."""
    missing = runtimes.missing_keys(agent_name, provider_keys or ())
    if missing is None:
        return
    if not runtimes.live(agent_name):
        raise AgentRuntimeUnavailable()
    raise AgentProviderKeyMissing(missing)


def failure_of(call: CallData) -> CallError | None:
    """AgentFailed for a call its agent failed (None for any other call)."""
    if call.status is CallStatus.FAILED and call.failure_reason == AGENT_FAILED:
        return AgentFailed(call.failure_detail)
    return None


async def on_agent_failed(store: CallStore, report: CallAgentFailedData) -> CallData:
    """agent-runtime's report: the call (by id, else the room's) ends as failed/agent_failed, with
    its event and customer webhook; a call already over stays as it ended."""
    call = (
        await store.get_call(report.call_id)
        if report.call_id
        else await store.call_in_room(report.room_name)
    )
    if call is None:
        raise NotFound(f"No call {report.call_id or 'in room ' + report.room_name}")
    failed = await store.transition(
        call.data.id,
        CallStatus.FAILED,
        CallChanges(failure_reason=AGENT_FAILED, failure_detail=report.error[:MAX_DETAIL]),
    )
    if failed is None:
        current = await store.get_call(call.data.id)
        return (current or call).data
    log.warning(
        "call.agent_failed",
        call_id=call.data.id,
        room=call.data.room_name,
        agent_reason=report.reason,
        error=report.error[:MAX_DETAIL],
    )
    return failed.data


async def watch_runtimes(
    runtimes: RuntimeBoard, broker: NatsBroker, started: asyncio.Event
) -> None:
    """Follow agent-runtime's advertisements once the bus is up, until cancelled."""
    await started.wait()
    await runtimes.watch(broker.connection.jetstream())
