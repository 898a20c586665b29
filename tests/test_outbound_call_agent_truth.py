"""Outbound calls never report success for an agent that cannot run or fails, end to end: numbers-api
-> NATS -> trunk-sync -> LiveKit (the emulator); call-orchestrator places the call, agent-runtime's
real worker advertises its provider keys, takes the job and reports its failure.

Without provider keys the call is refused before anyone is rung. With keys the agent is
dispatched and the room refuses its join (an injected fault): while the callee still rings, the
caller is told the agent failed, with its error, and so are history and the events. Calls that
talk end to end are in test_voice_call_end_to_end.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from talkifai_common.agent_capabilities import ALL_KEYS
from tests.support.databases import DatabaseFactory
from tests.support.full_stack import Stack, number_with_outbound_agent, running_stack
from tests.support.trunk_sync import eventually, token_factory

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

NUMBER = "+12025550177"
CALLEE = "+14155550123"
# The default pipeline's providers (Deepgram, OpenAI, Cartesia): keys are only read, never used.
PROVIDER_KEYS = {"OPENAI_API_KEY": "sk-test", "DEEPGRAM_API_KEY": "dg", "CARTESIA_API_KEY": "ca"}


@pytest.fixture
def provider_keys() -> dict[str, str]:
    """The provider keys set where agent-runtime runs (a test overrides it)."""
    return PROVIDER_KEYS


@pytest.fixture
async def stack(
    database_factory: DatabaseFactory,
    clean_stream: str,
    monkeypatch: pytest.MonkeyPatch,
    provider_keys: dict[str, str],
) -> AsyncIterator[Stack]:
    for name in ALL_KEYS:
        monkeypatch.delenv(name, raising=False)
    for name, value in provider_keys.items():
        monkeypatch.setenv(name, value)
    async with running_stack(database_factory, clean_stream) as running:
        yield running


async def _number_with_outbound_agent(stack: Stack) -> dict[str, Any]:
    """A synced number whose outbound agent call-orchestrator knows; the agent."""
    agent, _ = await number_with_outbound_agent(stack.api, stack.orchestrator_db, NUMBER)
    return agent


async def _call(stack: Stack) -> httpx.Response:
    return await stack.calls.post(
        "/telephony/outbound-call",
        json={"to_number": CALLEE, "from_number": NUMBER},
        headers={"Authorization": f"Bearer {token_factory()('org_a')}"},
    )


@pytest.mark.parametrize("provider_keys", [{}])
async def test_a_call_to_an_agent_without_provider_keys_is_refused_and_nobody_is_rung(
    stack: Stack,
) -> None:
    await _number_with_outbound_agent(stack)

    response = await _call(stack)

    assert response.status_code == 500, response.text
    assert response.json() == {
        "success": False,
        "error": "agent_provider_key_missing",
        "message": "Server error: the agent cannot run: no agent runtime has its providers' API "
        "keys (set CARTESIA_API_KEY, DEEPGRAM_API_KEY, OPENAI_API_KEY (or OPENAI_BASE_URL) where "
        "agent-runtime runs)",
    }
    state = await stack.lk.control.state()
    assert state["calls"] == []
    assert state["participants"] == []
    assert state["jobs"] == []


async def test_an_agent_failing_while_the_callee_rings_fails_the_call_with_the_agents_error(
    stack: Stack,
) -> None:
    agent = await _number_with_outbound_agent(stack)
    await stack.lk.control.set_outcome(CALLEE, ring_ms=30_000)
    # The room refuses the agent's join: the agent fails while the callee's phone rings.
    await stack.lk.control.set_faults(refuse_joins=True)

    response = await _call(stack)

    assert response.status_code == 500, response.text
    body = response.json()
    assert body["error"] == "agent_failed"
    assert body["message"].startswith("Server error: the agent failed: LiveKit join room failed")
    headers = {"Authorization": f"Bearer {token_factory()('org_a')}"}
    [call] = (await stack.calls.get("/calls", headers=headers)).json()["items"]
    assert (call["status"], call["failure_reason"]) == ("failed", "agent_failed")
    assert call["failure_detail"].startswith("LiveKit join room failed")

    async def failed_event() -> dict[str, Any] | None:
        return next((e for e in stack.events if e["type"].endswith("call.failed.v1")), None)

    event = await eventually(failed_event, within_s=10)
    assert event["subject"] == call["id"]
    assert event["data"]["failure_reason"] == "agent_failed"
    assert event["data"]["agent"]["id"] == agent["id"]
    # The callee's phone stopped ringing: the SIP participant left with the room.
    state = await stack.lk.control.state()
    assert all(p["room_name"] != call["room_name"] for p in state["participants"])
