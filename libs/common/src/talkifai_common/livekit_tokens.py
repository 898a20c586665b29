"""Reuse livekit-api's signed request tokens instead of signing one per request.

livekit-api signs a fresh access token for every Twirp request; the signing (claims to dict, JSON,
HMAC) was a tenth of call-orchestrator's and trunk-sync's time. A token only depends on the grants
it carries (and, for room-scoped calls, the room), and stays valid for hours (livekit-api's default
TTL is six), so the same grants reuse one header for `max_age_s` (far below that TTL). The cache
is bounded: room-scoped grants differ per call.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

AuthHeader = Callable[..., dict[str, str]]


class CachedAuthHeader:
    """A memo of a livekit-api service's `_auth_header(grants, sip=None)`."""

    def __init__(self, sign: AuthHeader, *, max_age_s: float = 300.0, size: int = 4096) -> None:
        self._sign = sign
        self._max_age_s = max_age_s
        self._size = size
        self._headers: OrderedDict[str, tuple[float, dict[str, str]]] = OrderedDict()

    def __call__(self, grants: Any, sip: Any = None) -> dict[str, str]:
        key = f"{grants!r}|{sip!r}"
        now = time.monotonic()
        cached = self._headers.get(key)
        if cached is not None and now - cached[0] < self._max_age_s:
            self._headers.move_to_end(key)
            return dict(cached[1])
        header = self._sign(grants, sip)
        self._headers[key] = (now, header)
        self._headers.move_to_end(key)
        while len(self._headers) > self._size:
            self._headers.popitem(last=False)
        return dict(header)


def reuse_tokens(livekit_api: Any, *, max_age_s: float = 300.0) -> None:
    """Make every service of a `livekit.api.LiveKitAPI` reuse its signed tokens."""
    for name in ("room", "egress", "sip", "agent_dispatch", "ingress"):
        service = getattr(livekit_api, name, None)
        if service is not None and hasattr(service, "_auth_header"):
            service._auth_header = CachedAuthHeader(service._auth_header, max_age_s=max_age_s)
