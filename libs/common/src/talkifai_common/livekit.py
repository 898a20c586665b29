"""LiveKit's server API for every service: one client, cached tokens, errors classified once.

`LiveKitClient` holds one HTTP session and hands out livekit-api clients authenticated with a
pre-signed token (livekit-api's public `LiveKitAPI.with_token`), so a request is not signed again
each time: signing (claims to dict, JSON, HMAC) was a tenth of call-orchestrator's and trunk-sync's
time. A token carries every server grant the services use; room-scoped calls (room admin) need a
token naming the room, so tokens are cached per room, reused for `reuse_s` and valid for twice
that. The service holds the API secret anyway, so broad grants give it nothing it could not sign.

The error helpers read livekit-api's errors the same way everywhere (Twirp code and HTTP status,
the SIP status of a failed dial, transport errors, `LiveKitDeadlineExceeded`); each service's
adapter turns them into its own domain errors.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import timedelta

import aiohttp
from livekit import api
from livekit.protocol.room import ListRoomsRequest

from talkifai_common.livekit_deadline import within_deadline

# Twirp codes of a LiveKit that could not do the work now (retry), as opposed to refusing it.
TRANSIENT_CODES = frozenset(
    {"unavailable", "internal", "unknown", "deadline_exceeded", "canceled", "resource_exhausted"}
)
READINESS_ROOM = "talkifai-readiness"


def _grants(room: str) -> api.VideoGrants:
    return api.VideoGrants(
        room_admin=True,
        room=room,
        room_create=True,
        room_list=True,
        room_record=True,
        ingress_admin=True,
    )


class LiveKitClient:
    """livekit-api clients over one HTTP session; create it inside the running event loop."""

    def __init__(
        self,
        url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout_s: float,
        reuse_s: float = 300.0,
        size: int = 1024,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._key = api_key
        self._secret = api_secret
        self._reuse_s = reuse_s
        self._size = size
        # livekit-api does not enforce this timeout per request (see livekit_deadline); the
        # connect bound still applies to the session's connection pool.
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 1.0))
        )
        self._clients: OrderedDict[str, tuple[float, api.LiveKitAPI]] = OrderedDict()

    def api(self, room: str = "") -> api.LiveKitAPI:
        """A livekit-api client whose token grants everything, room admin of `room` included."""
        now = time.monotonic()
        cached = self._clients.get(room)
        if cached is not None and now - cached[0] < self._reuse_s:
            self._clients.move_to_end(room)
            return cached[1]
        token = (
            api.AccessToken(self._key, self._secret)
            .with_ttl(timedelta(seconds=2 * self._reuse_s))
            .with_grants(_grants(room))
            .with_sip_grants(api.SIPGrants(admin=True, call=True))
            .to_jwt()
        )
        client = api.LiveKitAPI.with_token(token, self.url, session=self._session, failover=False)
        self._clients[room] = (now, client)
        self._clients.move_to_end(room)
        while len(self._clients) > self._size:
            self._clients.popitem(last=False)
        return client

    async def ping(self) -> None:
        """Readiness: LiveKit answers an authenticated call within the deadline."""
        await within_deadline(
            self.api().room.list_rooms(ListRoomsRequest(names=[READINESS_ROOM])),
            "ListRooms",
            self.timeout_s,
        )

    async def aclose(self) -> None:
        """Close the HTTP session."""
        self._clients.clear()
        await self._session.close()


def is_not_found(exc: BaseException) -> bool:
    """LiveKit answered that the object does not exist."""
    return isinstance(exc, api.TwirpError) and exc.code == "not_found"


def sip_status(exc: BaseException) -> int | None:
    """The SIP status of a failed dial or transfer (486 Busy Here...), None when there is none."""
    if not isinstance(exc, api.TwirpError):
        return None
    code = exc.metadata.get("sip_status_code")
    return int(code) if code and code.isdigit() else None


def is_unavailable(exc: BaseException) -> bool:
    """LiveKit did not answer in time or at all (retry later), as opposed to refusing."""
    # LiveKitDeadlineExceeded is a TimeoutError; a refused connection an OSError.
    if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
        return True
    return isinstance(exc, api.TwirpError) and exc.status in (502, 503, 504)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: unavailable, a transient Twirp code, any 5xx, or a refused token (401)."""
    if is_unavailable(exc):
        return True
    return isinstance(exc, api.TwirpError) and (
        exc.code in TRANSIENT_CODES or exc.status >= 500 or exc.status == 401
    )
