"""LiveKit operations a call needs, behind a port: hang up, transfer, and DTMF."""

from __future__ import annotations

from typing import Protocol

from livekit import api, rtc

from agent_runtime.domain import LiveKitFailure


class CallControl(Protocol):
    """What the agent's tools do to the call."""

    async def hang_up(self, room: str, identity: str | None) -> None: ...

    async def transfer(self, room: str, identity: str, to: str) -> None: ...

    async def send_dtmf(self, digits: str) -> None: ...


# RFC 4733 event codes of the keypad.
DTMF_CODES = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    "A": 12,
    "B": 13,
    "C": 14,
    "D": 15,
}


class LiveKitCallControl:
    """CallControl over livekit-api (Twirp) and the joined room (DTMF)."""

    def __init__(self, lkapi: api.LiveKitAPI, room: rtc.Room | None) -> None:
        self._api = lkapi
        self._room = room

    async def hang_up(self, room: str, identity: str | None) -> None:
        """Delete the room: every participant, the SIP caller included, is disconnected."""
        try:
            await self._api.room.delete_room(api.DeleteRoomRequest(room=room))
        except api.TwirpError as exc:
            if exc.code == "not_found":
                return  # already gone: the call is over either way
            raise LiveKitFailure("DeleteRoom", f"{exc.code}: {exc.message}") from exc

    async def transfer(self, room: str, identity: str, to: str) -> None:
        """`TransferSIPParticipant` to `tel:<number>` (a SIP REFER)."""
        target = to if to.startswith(("tel:", "sip:")) else f"tel:{to}"
        try:
            await self._api.sip.transfer_sip_participant(
                api.TransferSIPParticipantRequest(
                    room_name=room,
                    participant_identity=identity,
                    transfer_to=target,
                    play_dialtone=False,
                )
            )
        except api.TwirpError as exc:
            raise LiveKitFailure(
                "TransferSIPParticipant", f"{exc.code}: {exc.message}", retryable=exc.status >= 500
            ) from exc

    async def send_dtmf(self, digits: str) -> None:
        """Publish RFC 4733 DTMF events into the room; LiveKit SIP plays them to the carrier."""
        if self._room is None or not self._room.isconnected():
            raise LiveKitFailure("publish_dtmf", "not connected to the room")
        for digit in digits:
            await self._room.local_participant.publish_dtmf(code=DTMF_CODES[digit], digit=digit)
