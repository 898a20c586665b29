"""`livekit.Egress`: recordings are only bookkeeping here (no media is ever written)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from livekit.protocol.egress import (
    EgressInfo,
    EgressSourceType,
    EgressStatus,
    ListEgressRequest,
    ListEgressResponse,
    ParticipantEgressRequest,
    RoomCompositeEgressRequest,
    StopEgressRequest,
)

from livekit_emulator import auth, errors, ids
from livekit_emulator.auth import Grants
from livekit_emulator.state import RoomRecord
from livekit_emulator.twirp import Method

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

ACTIVE = (EgressStatus.EGRESS_STARTING, EgressStatus.EGRESS_ACTIVE)


def _start(emu: Emulator, room_name: str) -> EgressInfo:
    record = emu.rooms.get(room_name) if room_name else None
    if record is None:
        raise errors.from_psrpc("not_found", errors.ROOM_NOT_FOUND)
    now = time.time_ns()
    info = EgressInfo(
        egress_id=ids.new_id(ids.EGRESS),
        room_id=record.info.sid,
        room_name=room_name,
        status=EgressStatus.EGRESS_STARTING,
        started_at=now,
        updated_at=now,
    )
    emu.state.egresses[info.egress_id] = info
    emu.webhooks.notify("egress_started", egress_info=info)
    # The egress worker reports it active right away; there is no media pipeline to wait for.
    info.status = EgressStatus.EGRESS_ACTIVE
    record.info.active_recording = True
    return info


async def start_room_composite(
    emu: Emulator, grants: Grants | None, req: RoomCompositeEgressRequest
) -> EgressInfo:
    """Egress.StartRoomCompositeEgress (needs roomRecord)."""
    auth.ensure_room_record(grants)
    info = _start(emu, req.room_name)
    info.source_type = EgressSourceType.EGRESS_SOURCE_TYPE_WEB
    info.room_composite.CopyFrom(req)
    return info


async def start_participant(
    emu: Emulator, grants: Grants | None, req: ParticipantEgressRequest
) -> EgressInfo:
    """Egress.StartParticipantEgress (needs roomRecord)."""
    auth.ensure_room_record(grants)
    info = _start(emu, req.room_name)
    info.source_type = EgressSourceType.EGRESS_SOURCE_TYPE_SDK
    info.participant.CopyFrom(req)
    return info


async def list_egress(
    emu: Emulator, grants: Grants | None, req: ListEgressRequest
) -> ListEgressResponse:
    """Egress.ListEgress, filtered by room, id and activity."""
    auth.ensure_room_record(grants)
    items = [
        e
        for e in emu.state.egresses.values()
        if (not req.room_name or e.room_name == req.room_name)
        and (not req.egress_id or e.egress_id == req.egress_id)
        and (not req.active or e.status in ACTIVE)
    ]
    return ListEgressResponse(items=items)


def end_egress(emu: Emulator, info: EgressInfo) -> None:
    """Finish an egress: complete, ended_at set, egress_ended sent."""
    now = time.time_ns()
    info.status = EgressStatus.EGRESS_COMPLETE
    info.ended_at = now
    info.updated_at = now
    emu.webhooks.notify("egress_ended", egress_info=info)


async def stop_egress(emu: Emulator, grants: Grants | None, req: StopEgressRequest) -> EgressInfo:
    """Egress.StopEgress: an egress that is no longer running cannot be stopped."""
    auth.ensure_room_record(grants)
    info = emu.state.egresses.get(req.egress_id)
    if info is None:
        raise errors.from_psrpc("not_found", errors.EGRESS_NOT_FOUND)
    if info.status not in ACTIVE:
        name = EgressStatus.Name(info.status)
        raise errors.TwirpError(
            "failed_precondition", f"egress with status {name} cannot be stopped"
        )
    info.status = EgressStatus.EGRESS_ENDING
    info.updated_at = time.time_ns()
    answer = EgressInfo()
    answer.CopyFrom(info)
    end_egress(emu, info)
    return answer


def on_room_closed(emu: Emulator, record: RoomRecord) -> None:
    """Egresses of a closed room end with it."""
    for info in emu.state.egresses.values():
        if info.room_name == record.info.name and info.status in ACTIVE:
            end_egress(emu, info)


METHODS: dict[str, Method] = {
    "StartRoomCompositeEgress": Method(RoomCompositeEgressRequest, start_room_composite),
    "StartParticipantEgress": Method(ParticipantEgressRequest, start_participant),
    "ListEgress": Method(ListEgressRequest, list_egress),
    "StopEgress": Method(StopEgressRequest, stop_egress),
}
