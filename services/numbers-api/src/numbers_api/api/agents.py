"""Agent routes: thin, each one a handler call."""

from __future__ import annotations

from fastapi import APIRouter, Response

from numbers_api import handlers
from numbers_api.api.deps import READ, WRITE, ContextDep, Cursor, Limit, PrincipalDep
from numbers_api.schemas import AgentCreate, AgentUpdate, Page
from talkifai_common.events import AgentData

router = APIRouter(prefix="/agents", tags=["agents"])


@router.get("", response_model=Page[AgentData], responses=READ)
async def list_agents(
    ctx: ContextDep, principal: PrincipalDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[AgentData]:
    """The organization's agents, oldest first."""
    return await handlers.list_agents(ctx.store, principal, limit, cursor)


@router.post("", status_code=201, response_model=AgentData, responses=WRITE)
async def create_agent(ctx: ContextDep, principal: PrincipalDep, body: AgentCreate) -> AgentData:
    """Create an agent; voice settings left out get sensible defaults."""
    return await handlers.create_agent(
        ctx.store,
        principal,
        body,
        allow_private_model_servers=ctx.settings.allows_private_model_servers,
    )


@router.get("/{agent_id}", response_model=AgentData, responses=READ)
async def get_agent(ctx: ContextDep, principal: PrincipalDep, agent_id: str) -> AgentData:
    """One agent."""
    return await handlers.get_agent(ctx.store, principal, agent_id)


@router.patch("/{agent_id}", response_model=AgentData, responses=WRITE)
async def update_agent(
    ctx: ContextDep, principal: PrincipalDep, agent_id: str, body: AgentUpdate
) -> AgentData:
    """Change an agent; one assigned to a number cannot become text-only (409)."""
    return await handlers.update_agent(
        ctx.store,
        principal,
        agent_id,
        body,
        allow_private_model_servers=ctx.settings.allows_private_model_servers,
    )


@router.delete("/{agent_id}", status_code=204, responses=WRITE)
async def delete_agent(ctx: ContextDep, principal: PrincipalDep, agent_id: str) -> Response:
    """Delete an agent; refused with 409 naming the numbers it is assigned to."""
    await handlers.delete_agent(ctx.store, principal, agent_id)
    return Response(status_code=204)
