"""Participants of the unmodified LiveKit rtc SDK joining rooms of a LiveKit emulator."""

from __future__ import annotations

import asyncio

from livekit import api, rtc

from livekit_emulator.testing import RunningEmulator

JOIN_TIMEOUT_S = 20.0  # a guard against hanging, never an expectation of speed


def ws_url(lk: RunningEmulator) -> str:
    """The emulator's address for the SDK (`ws://`)."""
    return lk.url.replace("http://", "ws://")


async def join(
    lk: RunningEmulator,
    opened: list[rtc.Room],
    identity: str,
    room_name: str,
    *,
    kind: str = "",
    attributes: dict[str, str] | None = None,
) -> rtc.Room:
    """Connect an SDK participant (kept in `opened`, for the test to disconnect)."""
    token = (
        api.AccessToken(lk.api_key, lk.api_secret)
        .with_identity(identity)
        .with_grants(api.VideoGrants(room_join=True, room=room_name, can_update_own_metadata=True))
    )
    if kind:
        token = token.with_kind(kind)  # type: ignore[arg-type]
    if attributes:
        token = token.with_attributes(attributes)
    room = rtc.Room()
    opened.append(room)
    await asyncio.wait_for(room.connect(ws_url(lk), token.to_jwt()), JOIN_TIMEOUT_S)
    return room
