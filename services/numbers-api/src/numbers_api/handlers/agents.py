"""Agent use cases: create, read, list, change and delete an organization's agents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from numbers_api.adapters.postgres import Store, Tx, decode_cursor, encode_cursor
from numbers_api.domain import SOURCE, new_id
from numbers_api.errors import AgentInUse, AgentNotFound
from numbers_api.schemas import AgentCreate, AgentUpdate, Page
from talkifai_common.agent_capabilities import model_servers
from talkifai_common.auth import Principal
from talkifai_common.destinations import DestinationRefused, check_host, parse_destination_url
from talkifai_common.errors import ValidationFailed
from talkifai_common.events import AgentData, EventName, new_event
from talkifai_common.voice import (
    DEFAULT_GREETING,
    DEFAULT_INSTRUCTIONS,
    DEFAULT_LANGUAGE,
    MODEL_SERVER,
    Architecture,
    LLMConfig,
    RealtimeConfig,
    STTConfig,
    TTSConfig,
)

_SECTIONS = {
    Architecture.PIPELINE: ("stt", "llm", "tts"),
    Architecture.REALTIME: ("realtime",),
    Architecture.TEXT: ("llm",),
}
_DEFAULT_SECTIONS: dict[str, Any] = {
    "stt": STTConfig(),
    "llm": LLMConfig(),
    "tts": TTSConfig(),
    "realtime": RealtimeConfig(),
}


def _resolve_agent(
    agent_id: str,
    body: AgentCreate | AgentUpdate,
    existing: AgentData | None,
    now: datetime,
) -> AgentData:
    """Merge a body into an agent, filling defaults for the sections its architecture uses."""
    given = body.model_dump(exclude_unset=True)
    for key, value in list(given.items()):
        if value is None and key in ("name", "architecture"):
            raise ValidationFailed.for_field(key, "Field may not be null")
    architecture = body.architecture or (existing.architecture if existing else None)
    assert architecture is not None  # AgentCreate requires it
    wanted = _SECTIONS[architecture]
    errors = [
        key
        for key in ("stt", "llm", "tts", "realtime")
        if key in given and given[key] is not None and key not in wanted
    ]
    if errors:
        raise ValidationFailed.for_field(
            errors[0], f"{architecture} agents have no {errors[0]} configuration"
        )
    sections: dict[str, Any] = {}
    for key in ("stt", "llm", "tts", "realtime"):
        if key not in wanted:
            sections[key] = None
        elif getattr(body, key) is not None:
            sections[key] = getattr(body, key)
        elif existing is not None and getattr(existing, key) is not None:
            sections[key] = getattr(existing, key)
        else:
            sections[key] = _DEFAULT_SECTIONS[key]

    def pick(name: str, default: str) -> str:
        value = getattr(body, name)
        if value is not None:
            return str(value)
        return str(getattr(existing, name)) if existing else default

    return AgentData(
        id=agent_id,
        name=pick("name", ""),
        architecture=architecture,
        instructions=pick("instructions", DEFAULT_INSTRUCTIONS),
        greeting=pick("greeting", DEFAULT_GREETING),
        language=pick("language", DEFAULT_LANGUAGE),
        version=existing.version if existing else 1,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        **sections,
    )


def _check_model_servers(agent: AgentData, *, allow_private: bool) -> None:
    """ValidationFailed naming `<section>.base_url` for a model server the destination policy
    refuses (a literal non-public address unless private model servers are allowed)."""
    for section, base_url in model_servers(agent):
        try:
            host = parse_destination_url(base_url, what=MODEL_SERVER).host
            check_host(host, what=MODEL_SERVER, allow_private=allow_private)
        except DestinationRefused as exc:
            raise ValidationFailed.for_field(f"{section}.base_url", str(exc)) from exc


async def create_agent(
    store: Store,
    principal: Principal,
    body: AgentCreate,
    *,
    allow_private_model_servers: bool = False,
) -> AgentData:
    """Create an agent in the caller's organization."""
    principal.require_manager()
    agent = _resolve_agent(new_id("agent"), body, None, datetime.now(UTC))
    _check_model_servers(agent, allow_private=allow_private_model_servers)
    async with store.transaction() as tx:
        stored = await tx.insert_agent(principal.org_id, agent)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_CREATED, stored)
    return stored


async def get_agent(store: Store, principal: Principal, agent_id: str) -> AgentData:
    """One agent of the caller's organization."""
    async with store.reader() as tx:
        agent = await tx.get_agent(principal.org_id, agent_id)
    if agent is None:
        raise AgentNotFound(agent_id)
    return agent


async def list_agents(
    store: Store, principal: Principal, limit: int, cursor: str | None
) -> Page[AgentData]:
    """The caller's agents in creation order."""
    after = None
    if cursor:
        try:
            created, _, agent_id = decode_cursor(cursor).partition("|")
            after = (datetime.fromisoformat(created), agent_id)
        except ValueError as exc:
            raise ValidationFailed.for_field("cursor", "Invalid cursor") from exc
    async with store.reader() as tx:
        agents = await tx.list_agents(principal.org_id, limit + 1, after)
    next_cursor = None
    if len(agents) > limit:
        last = agents[limit - 1]
        next_cursor = encode_cursor(f"{last.created_at.isoformat()}|{last.id}")
    return Page[AgentData](items=agents[:limit], next_cursor=next_cursor)


async def update_agent(
    store: Store,
    principal: Principal,
    agent_id: str,
    body: AgentUpdate,
    *,
    allow_private_model_servers: bool = False,
) -> AgentData:
    """Change an agent; an agent on a phone number cannot become text-only."""
    principal.require_manager()
    async with store.transaction() as tx:
        existing = await tx.get_agent(principal.org_id, agent_id, lock="update")
        if existing is None:
            raise AgentNotFound(agent_id)
        agent = _resolve_agent(agent_id, body, existing, datetime.now(UTC))
        _check_model_servers(agent, allow_private=allow_private_model_servers)
        if not agent.architecture.is_voice:
            numbers = await tx.numbers_using_agent(agent_id)
            if numbers:
                raise AgentInUse("a text-only agent cannot make voice calls", numbers)
        stored = await tx.update_agent(principal.org_id, agent)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_UPDATED, stored)
    return stored


async def delete_agent(store: Store, principal: Principal, agent_id: str) -> None:
    """Delete an agent that no phone number uses."""
    principal.require_manager()
    async with store.transaction() as tx:
        agent = await tx.get_agent(principal.org_id, agent_id, lock="update")
        if agent is None:
            raise AgentNotFound(agent_id)
        numbers = await tx.numbers_using_agent(agent_id)
        if numbers:
            raise AgentInUse("unassign it before deleting it", numbers)
        await tx.delete_agent(principal.org_id, agent_id)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_DELETED, agent)


async def _emit_agent(tx: Tx, org_id: str, name: EventName, agent: AgentData) -> None:
    await tx.emit(new_event(name, source=SOURCE, subject=agent.id, orgid=org_id, data=agent))
