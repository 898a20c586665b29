"""LiveKit operations a call needs, behind a port: hang up, transfer, and DTMF.

Each API call has a deadline (`within_deadline`, as in every service): livekit-api's own timeout
is not enforced, and a hang-up must not hold the job for as long as LiveKit stays slow.
"""

from __future__ import annotations

from typing import Protocol

from livekit import api, rtc

from agent_runtime.domain import LiveKitFailure
from talkifai_common.livekit import is_not_found
from talkifai_common.livekit_deadline import LiveKitDeadlineExceeded, within_deadline

# Deadline of one LiveKit API call (hang-up, transfer).
LIVEKIT_TIMEOUT_S = 5.0


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

    def __init__(
        self, lkapi: api.LiveKitAPI, room: rtc.Room | None, *, timeout_s: float = LIVEKIT_TIMEOUT_S
    ) -> None:
        self._api = lkapi
        self._room = room
        self._timeout_s = timeout_s

    async def hang_up(self, room: str, identity: str | None) -> None:
        """Delete the room: every participant, the SIP caller included, is disconnected."""
        try:
            await delete_room(self._api, room, self._timeout_s)
        except api.TwirpError as exc:
            if is_not_found(exc):
                return  # already gone: the call is over either way
            raise LiveKitFailure("DeleteRoom", f"{exc.code}: {exc.message}") from exc
        except LiveKitDeadlineExceeded as exc:
            raise LiveKitFailure("DeleteRoom", str(exc), retryable=True) from exc

    async def transfer(self, room: str, identity: str, to: str) -> None:
        """`TransferSIPParticipant` to `tel:<number>` (a SIP REFER)."""
        target = to if to.startswith(("tel:", "sip:")) else f"tel:{to}"
        try:
            await within_deadline(
                self._api.sip.transfer_sip_participant(
                    api.TransferSIPParticipantRequest(
                        room_name=room,
                        participant_identity=identity,
                        transfer_to=target,
                        play_dialtone=False,
                    )
                ),
                "TransferSIPParticipant",
                self._timeout_s,
            )
        except api.TwirpError as exc:
            raise LiveKitFailure(
                "TransferSIPParticipant", f"{exc.code}: {exc.message}", retryable=exc.status >= 500
            ) from exc
        except LiveKitDeadlineExceeded as exc:
            raise LiveKitFailure("TransferSIPParticipant", str(exc), retryable=True) from exc

    async def send_dtmf(self, digits: str) -> None:
        """Publish RFC 4733 DTMF events into the room; LiveKit SIP plays them to the carrier."""
        if self._room is None or not self._room.isconnected():
            raise LiveKitFailure("publish_dtmf", "not connected to the room")
        for digit in digits:
            await self._room.local_participant.publish_dtmf(code=DTMF_CODES[digit], digit=digit)


async def delete_room(
    lkapi: api.LiveKitAPI, room: str, timeout_s: float = LIVEKIT_TIMEOUT_S
) -> None:
    """`DeleteRoom` within its deadline; livekit-api's errors and LiveKitDeadlineExceeded raise."""
    await within_deadline(
        lkapi.room.delete_room(api.DeleteRoomRequest(room=room)), "DeleteRoom", timeout_s
    )
