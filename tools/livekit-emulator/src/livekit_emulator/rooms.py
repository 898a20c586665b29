"""Rooms and participants: their lifecycle, webhooks, and the `livekit.RoomService` methods."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from livekit.protocol.agent_dispatch import AgentDispatch, RoomAgentDispatch
from livekit.protocol.models import DisconnectReason, ParticipantInfo, Room
from livekit.protocol.room import (
    CreateRoomRequest,
    DeleteRoomRequest,
    DeleteRoomResponse,
    ListParticipantsRequest,
    ListParticipantsResponse,
    ListRoomsRequest,
    ListRoomsResponse,
    RemoveParticipantResponse,
    RoomParticipantIdentity,
    UpdateParticipantRequest,
)

from livekit_emulator import auth, errors, ids
from livekit_emulator.auth import Grants
from livekit_emulator.config import EmulatorConfig
from livekit_emulator.state import EmulatorState, RoomRecord
from livekit_emulator.twirp import Method
from livekit_emulator.webhooks import WebhookSender

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

# LiveKit's room defaults (config.RoomConfig): reported on every room the emulator creates.
DEFAULT_EMPTY_TIMEOUT_S = 300
DEFAULT_DEPARTURE_TIMEOUT_S = 20

log = logging.getLogger("livekit_emulator.rooms")

ParticipantJoinedHook = Callable[[RoomRecord, ParticipantInfo], None]
ParticipantUpdatedHook = Callable[[str, ParticipantInfo], None]
ParticipantLeftHook = Callable[[str, ParticipantInfo, int], None]
RoomClosedHook = Callable[[RoomRecord], None]
DispatchHook = Callable[[RoomRecord, AgentDispatch], None]


def _now_ms() -> int:
    return int(time.time() * 1000)


def is_dependent(participant: ParticipantInfo) -> bool:
    """An agent or a recorder: it does not keep a room open (livekit-server's IsDependent)."""
    return (
        participant.kind in (ParticipantInfo.Kind.AGENT, ParticipantInfo.Kind.EGRESS)
        or participant.permission.agent
        or participant.permission.recorder
    )


def _has_people(record: RoomRecord) -> bool:
    return any(not is_dependent(p) for p in record.participants.values())


class RoomManager:
    """Creates and closes rooms, adds and removes participants, and says so by webhook."""

    def __init__(
        self, config: EmulatorConfig, state: EmulatorState, webhooks: WebhookSender
    ) -> None:
        self._config = config
        self._state = state
        self._webhooks = webhooks
        self.participant_joined_hooks: list[ParticipantJoinedHook] = []
        self.participant_updated_hooks: list[ParticipantUpdatedHook] = []
        self.participant_left_hooks: list[ParticipantLeftHook] = []
        self.room_closed_hooks: list[RoomClosedHook] = []
        self.dispatch_hooks: list[DispatchHook] = []

    def get(self, name: str) -> RoomRecord | None:
        """The live room with this name, if any."""
        return self._state.rooms.get(name)

    def ensure_room(
        self,
        name: str,
        *,
        agents: Sequence[RoomAgentDispatch] = (),
        empty_timeout: int = 0,
        departure_timeout: int = 0,
        max_participants: int = 0,
        metadata: str = "",
    ) -> RoomRecord:
        """Return the room, creating it (room_started, agent dispatches) when absent."""
        existing = self._state.rooms.get(name)
        if existing is not None:
            return existing
        now_ms = _now_ms()
        info = Room(
            sid=ids.new_id(ids.ROOM),
            name=name,
            empty_timeout=empty_timeout or DEFAULT_EMPTY_TIMEOUT_S,
            departure_timeout=departure_timeout or DEFAULT_DEPARTURE_TIMEOUT_S,
            max_participants=max_participants,
            creation_time=now_ms // 1000,
            creation_time_ms=now_ms,
            metadata=metadata,
        )
        record = RoomRecord(info=info, explicit_departure_timeout=departure_timeout or None)
        self._state.rooms[name] = record
        log.info("room started", extra={"room": name, "room_sid": info.sid})
        self._webhooks.notify("room_started", room=info)
        # LiveKit dispatches an unnamed agent to a room created without agents (automatic dispatch).
        for agent in agents or [RoomAgentDispatch()]:
            self.add_dispatch(
                record,
                AgentDispatch(
                    id=ids.new_id(ids.AGENT_DISPATCH),
                    agent_name=agent.agent_name,
                    metadata=agent.metadata,
                    room=name,
                    attributes=dict(agent.attributes),
                ),
            )
        if empty_timeout:
            record.close_timer = asyncio.get_running_loop().call_later(
                empty_timeout, self._close_if_empty, name, info.sid
            )
        return record

    def add_dispatch(self, record: RoomRecord, dispatch: AgentDispatch) -> AgentDispatch:
        """Record an agent dispatch in the room; the hooks turn it into a job for a worker."""
        dispatch.room = record.info.name
        dispatch.state.created_at = time.time_ns()
        record.dispatches[dispatch.id] = dispatch
        self._state.agent_dispatches[dispatch.id] = dispatch
        for hook in list(self.dispatch_hooks):
            hook(record, dispatch)
        return dispatch

    def delete_dispatch(self, record: RoomRecord, dispatch_id: str) -> AgentDispatch | None:
        """Remove a dispatch from its room; it stays in the state view with deleted_at set."""
        dispatch = record.dispatches.pop(dispatch_id, None)
        if dispatch is not None:
            dispatch.state.deleted_at = time.time_ns()
        return dispatch

    def add_participant(self, record: RoomRecord, participant: ParticipantInfo) -> ParticipantInfo:
        """Join a participant (replacing one with the same identity) and send participant_joined."""
        if participant.identity in record.participants:
            self.remove_participant(
                record.info.name, participant.identity, DisconnectReason.DUPLICATE_IDENTITY
            )
        now_ms = _now_ms()
        participant.sid = participant.sid or ids.new_id(ids.PARTICIPANT)
        participant.state = ParticipantInfo.State.ACTIVE
        participant.joined_at = now_ms // 1000
        participant.joined_at_ms = now_ms
        if record.close_timer is not None and not is_dependent(participant):
            record.close_timer.cancel()
            record.close_timer = None
        record.participants[participant.identity] = participant
        record.info.num_participants = len(record.participants)
        log.info(
            "participant joined",
            extra={
                "room": record.info.name,
                "identity": participant.identity,
                "sid": participant.sid,
            },
        )
        self._webhooks.notify("participant_joined", room=record.info, participant=participant)
        for hook in list(self.participant_joined_hooks):
            hook(record, participant)
        return participant

    def set_attributes(self, room_name: str, identity: str, attributes: dict[str, str]) -> None:
        """Change attributes; LiveKit sends no webhook for this, only a signal update to clients."""
        record = self._state.rooms.get(room_name)
        participant = record.participants.get(identity) if record else None
        if participant is None:
            return
        for key, value in attributes.items():
            if value:
                participant.attributes[key] = value
            elif key in participant.attributes:
                del participant.attributes[key]
        self.participant_updated(room_name, participant)

    def participant_updated(self, room_name: str, participant: ParticipantInfo) -> None:
        """A participant's name, metadata, attributes or tracks changed: clients are told."""
        participant.version += 1
        for hook in list(self.participant_updated_hooks):
            hook(room_name, participant)

    def remove_participant(
        self, room_name: str, identity: str, reason: int
    ) -> ParticipantInfo | None:
        """Disconnect a participant, send participant_left, close the room once it is empty."""
        record = self._state.rooms.get(room_name)
        if record is None:
            return None
        participant = record.participants.pop(identity, None)
        if participant is None:
            return None
        participant.state = ParticipantInfo.State.DISCONNECTED
        participant.disconnect_reason = reason  # type: ignore[assignment]
        record.info.num_participants = len(record.participants)
        log.info(
            "participant left",
            extra={
                "room": room_name,
                "identity": identity,
                "reason": DisconnectReason.Name(reason),
            },
        )
        self._webhooks.notify("participant_left", room=record.info, participant=participant)
        for hook in list(self.participant_left_hooks):
            hook(room_name, participant, reason)
        # Only agents and recorders left: the room closes after its departure timeout.
        if not _has_people(record) and room_name in self._state.rooms:
            delay = record.explicit_departure_timeout
            delay_s = float(delay) if delay is not None else self._config.departure_timeout_s
            if record.close_timer is not None:
                record.close_timer.cancel()
            record.close_timer = asyncio.get_running_loop().call_later(
                delay_s, self._close_if_empty, room_name, record.info.sid
            )
        return participant

    def _close_if_empty(self, room_name: str, sid: str) -> None:
        record = self._state.rooms.get(room_name)
        if record is not None and record.info.sid == sid and not _has_people(record):
            self.close_room(room_name, DisconnectReason.ROOM_CLOSED)

    def close_room(self, room_name: str, reason: int = DisconnectReason.ROOM_DELETED) -> bool:
        """End the room: participants leave (deleted, or closed once idle), dispatches end,
        room_finished is sent."""
        record = self._state.rooms.get(room_name)
        if record is None:
            return False
        if record.close_timer is not None:
            record.close_timer.cancel()
            record.close_timer = None
        for identity in list(record.participants):
            self.remove_participant(room_name, identity, reason)
        if record.close_timer is not None:
            record.close_timer.cancel()
            record.close_timer = None
        for dispatch_id in list(record.dispatches):
            self.delete_dispatch(record, dispatch_id)
        del self._state.rooms[room_name]
        for hook in list(self.room_closed_hooks):
            hook(record)
        log.info("room finished", extra={"room": room_name})
        self._webhooks.notify("room_finished", room=record.info)
        return True

    def shutdown(self) -> None:
        """Cancel every timer (the server is stopping)."""
        for record in self._state.rooms.values():
            if record.close_timer is not None:
                record.close_timer.cancel()
                record.close_timer = None


async def create_room(emu: Emulator, grants: Grants | None, req: CreateRoomRequest) -> Room:
    """RoomService.CreateRoom: returns the existing room when the name is taken."""
    auth.ensure_room_create(grants)
    if not req.name:
        raise errors.from_psrpc("invalid_argument", "no room name")
    record = emu.rooms.ensure_room(
        req.name,
        agents=list(req.agents),
        empty_timeout=req.empty_timeout,
        departure_timeout=req.departure_timeout,
        max_participants=req.max_participants,
        metadata=req.metadata,
    )
    return record.info


async def list_rooms(
    emu: Emulator, grants: Grants | None, req: ListRoomsRequest
) -> ListRoomsResponse:
    """RoomService.ListRooms (needs roomList)."""
    auth.ensure_room_list(grants)
    names = set(req.names)
    rooms = [r.info for r in emu.state.rooms.values() if not names or r.info.name in names]
    return ListRoomsResponse(rooms=rooms)


async def delete_room(
    emu: Emulator, grants: Grants | None, req: DeleteRoomRequest
) -> DeleteRoomResponse:
    """RoomService.DeleteRoom: participants are disconnected and the room finishes."""
    auth.ensure_room_create(grants)
    if not emu.rooms.close_room(req.room):
        raise errors.from_psrpc("not_found", errors.ROOM_NOT_FOUND)
    return DeleteRoomResponse()


async def list_participants(
    emu: Emulator, grants: Grants | None, req: ListParticipantsRequest
) -> ListParticipantsResponse:
    """RoomService.ListParticipants (an unknown room lists nobody, as LiveKit's store answers)."""
    auth.ensure_room_admin(grants, req.room)
    record = emu.rooms.get(req.room)
    participants = list(record.participants.values()) if record else []
    return ListParticipantsResponse(participants=participants)


def _participant(emu: Emulator, room: str, identity: str) -> ParticipantInfo:
    record = emu.rooms.get(room)
    participant = record.participants.get(identity) if record else None
    if participant is None:
        raise errors.from_psrpc("not_found", errors.PARTICIPANT_NOT_FOUND)
    return participant


async def get_participant(
    emu: Emulator, grants: Grants | None, req: RoomParticipantIdentity
) -> ParticipantInfo:
    """RoomService.GetParticipant."""
    auth.ensure_room_admin(grants, req.room)
    return _participant(emu, req.room, req.identity)


async def remove_participant(
    emu: Emulator, grants: Grants | None, req: RoomParticipantIdentity
) -> RemoveParticipantResponse:
    """RoomService.RemoveParticipant: a SIP participant's call is hung up with it."""
    auth.ensure_room_admin(grants, req.room)
    _participant(emu, req.room, req.identity)
    emu.rooms.remove_participant(req.room, req.identity, DisconnectReason.PARTICIPANT_REMOVED)
    return RemoveParticipantResponse()


async def update_participant(
    emu: Emulator, grants: Grants | None, req: UpdateParticipantRequest
) -> ParticipantInfo:
    """RoomService.UpdateParticipant: metadata, name and attributes (an empty value deletes)."""
    auth.ensure_room_admin(grants, req.room)
    participant = _participant(emu, req.room, req.identity)
    if req.metadata:
        participant.metadata = req.metadata
    if req.name:
        participant.name = req.name
    if req.attributes:
        emu.rooms.set_attributes(req.room, req.identity, dict(req.attributes))
    elif req.metadata or req.name:
        emu.rooms.participant_updated(req.room, participant)
    return participant


METHODS: dict[str, Method] = {
    "CreateRoom": Method(CreateRoomRequest, create_room),
    "ListRooms": Method(ListRoomsRequest, list_rooms),
    "DeleteRoom": Method(DeleteRoomRequest, delete_room),
    "ListParticipants": Method(ListParticipantsRequest, list_participants),
    "GetParticipant": Method(RoomParticipantIdentity, get_participant),
    "RemoveParticipant": Method(RoomParticipantIdentity, remove_participant),
    "UpdateParticipant": Method(UpdateParticipantRequest, update_participant),
}
