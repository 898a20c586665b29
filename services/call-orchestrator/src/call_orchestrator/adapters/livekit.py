"""LiveKit through livekit-api: agent dispatch (and its withdrawal), outbound dialing, call
status, audio egress (to a local file, or uploaded by egress to S3-compatible storage).

`LiveKitPort` is what the handlers use; `LiveKitAdapter` translates livekit-api's errors, as
`talkifai_common.livekit` classifies them, into `call_orchestrator.errors` (a carrier's refusal
through the SIP status table in `domain`). Every call has a deadline (`within_deadline`):
`timeout_s`, or for a dial the ringing timeout plus `DIAL_GRACE_S`; one run over is LiveKit being
unavailable (`LiveKitUnavailable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog
from livekit import api
from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest
from livekit.protocol.egress import (
    EncodedFileOutput,
    EncodedFileType,
    RoomCompositeEgressRequest,
    S3Upload,
)
from livekit.protocol.room import DeleteRoomRequest, ListRoomsRequest, RoomParticipantIdentity
from livekit.protocol.sip import CreateSIPParticipantRequest

from call_orchestrator.config import S3Settings
from call_orchestrator.domain import outcome_for_sip_status
from call_orchestrator.errors import (
    CallError,
    CarrierRefused,
    CarrierUnreachable,
    DispatchFailed,
    InternalError,
    LiveKitUnavailable,
    NotAnswered,
    TrunkNotSynced,
)
from talkifai_common.livekit import (
    LiveKitClient,
    is_not_found,
    is_unavailable,
    sip_status,
)
from talkifai_common.livekit_deadline import within_deadline

log = structlog.get_logger(__name__)
CALL_STATUS_ATTRIBUTE = "sip.callStatus"
# A dial waits for the answer up to the ringing timeout; LiveKit then needs a moment to say so.
DIAL_GRACE_S = 5.0


@dataclass(frozen=True)
class DialRequest:
    """One outbound call to place."""

    trunk_id: str
    to_number: str
    from_number: str
    room_name: str
    participant_identity: str
    ringing_timeout_s: int
    max_call_duration_s: int | None


@dataclass(frozen=True)
class Answered:
    """The callee answered."""

    sip_call_id: str
    participant_identity: str


class LiveKitPort(Protocol):
    """The LiveKit operations call-orchestrator needs."""

    async def dispatch_agent(self, room_name: str, agent_name: str, metadata: str) -> str: ...

    async def withdraw_dispatch(self, room_name: str, dispatch_id: str) -> None: ...

    async def dial(self, request: DialRequest) -> Answered: ...

    async def call_status(self, room_name: str, identity: str) -> str | None: ...

    async def start_audio_recording(self, room_name: str) -> str: ...

    async def delete_room(self, room_name: str) -> None: ...

    async def existing_rooms(self, room_names: Sequence[str]) -> set[str]: ...

    async def aclose(self) -> None: ...


def dial_error(exc: BaseException) -> CallError:
    """What a failed CreateSIPParticipant means."""
    status = sip_status(exc)
    if status is not None:
        return outcome_for_sip_status(status)
    if isinstance(exc, api.TwirpError):
        message = exc.message or ""
        if exc.code in ("canceled", "deadline_exceeded"):
            # The ringing timeout: LiveKit cancels the INVITE ("sip request timed out").
            return NotAnswered("no_answer")
        if exc.code == "unavailable" and ("INVITE" in message or "sip" in message.lower()):
            return CarrierUnreachable()
        if exc.code == "failed_precondition":
            return CarrierRefused(None, detail="authentication")
        if exc.code == "not_found":
            return TrunkNotSynced.in_livekit()
    if is_unavailable(exc):
        return LiveKitUnavailable()
    return InternalError()


class LiveKitAdapter:
    """LiveKitPort over livekit-api; create it inside the running event loop."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout_s: float,
        recording_filepath: str = "recordings/{room_name}-{time}.ogg",
        recording_s3: S3Settings | None = None,
    ) -> None:
        self._recording_filepath = recording_filepath
        self._recording_s3 = recording_s3
        self._timeout_s = timeout_s
        self._livekit = LiveKitClient(url, api_key, api_secret, timeout_s=timeout_s)

    async def dispatch_agent(self, room_name: str, agent_name: str, metadata: str) -> str:
        """Dispatch the agent to the room (creating it); CallError when LiveKit fails."""
        try:
            dispatch = await within_deadline(
                self._livekit.api(room_name).agent_dispatch.create_dispatch(
                    CreateAgentDispatchRequest(
                        agent_name=agent_name, room=room_name, metadata=metadata
                    )
                ),
                "CreateDispatch",
                self._timeout_s,
            )
        except Exception as exc:
            log.warning("livekit.dispatch_failed", room=room_name, error=str(exc))
            if is_unavailable(exc):
                raise LiveKitUnavailable() from exc
            raise DispatchFailed() from exc
        return str(dispatch.id)

    async def withdraw_dispatch(self, room_name: str, dispatch_id: str) -> None:
        """Delete a dispatch (LiveKit ends its agent's job); livekit-api's errors propagate."""
        await within_deadline(
            self._livekit.api(room_name).agent_dispatch.delete_dispatch(dispatch_id, room_name),
            "DeleteDispatch",
            self._timeout_s,
        )

    async def dial(self, request: DialRequest) -> Answered:
        """Call and wait for the answer; CallError with the carrier outcome otherwise."""
        create = CreateSIPParticipantRequest(
            sip_trunk_id=request.trunk_id,
            sip_call_to=request.to_number,
            sip_number=request.from_number,
            room_name=request.room_name,
            participant_identity=request.participant_identity,
            participant_name=request.to_number,
            wait_until_answered=True,
        )
        create.ringing_timeout.seconds = request.ringing_timeout_s
        if request.max_call_duration_s:
            create.max_call_duration.seconds = request.max_call_duration_s
        try:
            info = await within_deadline(
                self._livekit.api().sip.create_sip_participant(create),
                "CreateSIPParticipant",
                request.ringing_timeout_s + DIAL_GRACE_S,
            )
        except Exception as exc:
            outcome = dial_error(exc)
            log.info(
                "livekit.dial_failed",
                room=request.room_name,
                error=outcome.error,
                sip_status_code=outcome.sip_status,
                detail=str(exc),
            )
            raise outcome from exc
        return Answered(
            sip_call_id=info.sip_call_id, participant_identity=info.participant_identity
        )

    async def call_status(self, room_name: str, identity: str) -> str | None:
        """The participant's `sip.callStatus`, None when it is not in the room."""
        try:
            participant = await within_deadline(
                self._livekit.api(room_name).room.get_participant(
                    RoomParticipantIdentity(room=room_name, identity=identity)
                ),
                "GetParticipant",
                self._timeout_s,
            )
        except api.TwirpError as exc:
            if is_not_found(exc):
                return None
            raise
        return participant.attributes.get(CALL_STATUS_ATTRIBUTE)

    async def start_audio_recording(self, room_name: str) -> str:
        """Start an audio-only room composite egress (uploading to object storage when it is
        configured); its id."""
        # LiveKit fills in {room_name} and {time} itself.
        output = EncodedFileOutput(file_type=EncodedFileType.OGG, filepath=self._recording_filepath)
        if (s3 := self._recording_s3) is not None:
            output.filepath = s3.key(self._recording_filepath)
            output.s3.CopyFrom(
                S3Upload(
                    access_key=s3.access_key,
                    secret=s3.secret_key,
                    region=s3.region,
                    endpoint=s3.endpoint or "",
                    bucket=s3.bucket,
                    force_path_style=s3.force_path_style,
                )
            )
        request = RoomCompositeEgressRequest(
            room_name=room_name, audio_only=True, file_outputs=[output]
        )
        info = await within_deadline(
            self._livekit.api().egress.start_room_composite_egress(request),
            "StartRoomCompositeEgress",
            self._timeout_s,
        )
        return str(info.egress_id)

    async def delete_room(self, room_name: str) -> None:
        """Close a room (the dispatched agent leaves with it)."""
        try:
            await within_deadline(
                self._livekit.api(room_name).room.delete_room(DeleteRoomRequest(room=room_name)),
                "DeleteRoom",
                self._timeout_s,
            )
        except api.TwirpError as exc:
            if not is_not_found(exc):
                raise

    async def existing_rooms(self, room_names: Sequence[str]) -> set[str]:
        """Which of these rooms LiveKit still has."""
        response = await within_deadline(
            self._livekit.api().room.list_rooms(ListRoomsRequest(names=list(room_names))),
            "ListRooms",
            self._timeout_s,
        )
        return {room.name for room in response.rooms}

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._livekit.aclose()
