"""Signed LiveKit request tokens are reused per grant set, for a bounded time and number."""

from __future__ import annotations

import jwt
from livekit import api

from talkifai_common.livekit_tokens import CachedAuthHeader, reuse_tokens


def claims(header: dict[str, str]) -> dict[str, object]:
    token = header["authorization"].removeprefix("Bearer ")
    decoded: dict[str, object] = jwt.decode(
        token, "secret-0123456789-0123456789-abcdef", algorithms=["HS256"]
    )
    return decoded


async def test_each_service_reuses_the_token_of_the_same_grants() -> None:
    lk = api.LiveKitAPI("http://127.0.0.1:1", "devkey", "secret-0123456789-0123456789-abcdef")
    try:
        reuse_tokens(lk)
        sip = lk.sip._auth_header(api.VideoGrants(), sip=api.SIPGrants(call=True))
        again = lk.sip._auth_header(api.VideoGrants(), sip=api.SIPGrants(call=True))
        room_a = lk.room._auth_header(api.VideoGrants(room_admin=True, room="a"))
        room_b = lk.room._auth_header(api.VideoGrants(room_admin=True, room="b"))
    finally:
        await lk.aclose()

    assert sip == again
    assert claims(sip)["sip"] == {"call": True, "admin": False}
    assert room_a != room_b
    assert claims(room_b)["video"]["room"] == "b"  # type: ignore[index]


def test_a_token_is_signed_again_after_its_age_and_the_cache_is_bounded() -> None:
    signed: list[str] = []

    def sign(grants: object, sip: object = None) -> dict[str, str]:
        signed.append(f"{grants}")
        return {"authorization": f"Bearer {len(signed)}"}

    cache = CachedAuthHeader(sign, max_age_s=0.0, size=2)
    assert cache("a") != cache("a")  # expired at once
    bounded = CachedAuthHeader(sign, max_age_s=60.0, size=2)
    first = bounded("a")
    bounded("b"), bounded("c")  # "a" is the least recently used: evicted
    assert bounded("c") == bounded("c")
    assert bounded("a") != first
