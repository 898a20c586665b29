"""`livekit.AgentDispatchService`: explicit agent dispatches, kept per room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from livekit.protocol.agent_dispatch import (
    AgentDispatch,
    CreateAgentDispatchRequest,
    DeleteAgentDispatchRequest,
    ListAgentDispatchRequest,
    ListAgentDispatchResponse,
)

from livekit_emulator import auth, errors, ids
from livekit_emulator.auth import Grants
from livekit_emulator.twirp import Method

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator


async def create_dispatch(
    emu: Emulator, grants: Grants | None, req: CreateAgentDispatchRequest
) -> AgentDispatch:
    """AgentDispatchService.CreateDispatch: creates the room when absent (auto-create)."""
    auth.ensure_room_admin(grants, req.room)
    record = emu.rooms.ensure_room(req.room)
    dispatch = AgentDispatch(
        id=ids.new_id(ids.AGENT_DISPATCH),
        agent_name=req.agent_name,
        room=req.room,
        metadata=req.metadata,
        attributes=dict(req.attributes),
    )
    return emu.rooms.add_dispatch(record, dispatch)


async def delete_dispatch(
    emu: Emulator, grants: Grants | None, req: DeleteAgentDispatchRequest
) -> AgentDispatch:
    """AgentDispatchService.DeleteDispatch."""
    auth.ensure_room_admin(grants, req.room)
    record = emu.rooms.get(req.room)
    if record is None:
        raise errors.from_psrpc("not_found", errors.ROOM_NOT_FOUND)
    dispatch = emu.rooms.delete_dispatch(record, req.dispatch_id)
    if dispatch is None:
        raise errors.from_psrpc("not_found", "dispatch ID not found")
    return dispatch


async def list_dispatch(
    emu: Emulator, grants: Grants | None, req: ListAgentDispatchRequest
) -> ListAgentDispatchResponse:
    """AgentDispatchService.ListDispatch: the room's dispatches, or the one with dispatch_id."""
    auth.ensure_room_admin(grants, req.room)
    record = emu.rooms.get(req.room)
    if record is None:
        raise errors.from_psrpc("not_found", errors.ROOM_NOT_FOUND)
    found = [
        d for d in record.dispatches.values() if not req.dispatch_id or d.id == req.dispatch_id
    ]
    return ListAgentDispatchResponse(agent_dispatches=found)


METHODS: dict[str, Method] = {
    "CreateDispatch": Method(CreateAgentDispatchRequest, create_dispatch),
    "DeleteDispatch": Method(DeleteAgentDispatchRequest, delete_dispatch),
    "ListDispatch": Method(ListAgentDispatchRequest, list_dispatch),
}
