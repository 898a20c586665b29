"""Bearer-token authentication and grant checks, as LiveKit's `APIKeyAuthMiddleware` does them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from livekit_emulator.errors import AuthError, permission_denied

BEARER = "Bearer "
TOKEN_LEEWAY_S = 60  # LiveKit's verifier allows one minute of clock skew.
_VERIFIED_CAPACITY = 4096


@dataclass(frozen=True)
class Grants:
    """The video and SIP grants of a verified token (keys lower-cased: Go matches them so)."""

    api_key: str
    video: Mapping[str, Any] = field(default_factory=dict)
    sip: Mapping[str, Any] = field(default_factory=dict)
    # Every claim of the token (`sub`, `name`, `metadata`, `attributes`, `kind`...): a participant
    # joining over /rtc takes its identity and initial state from them.
    claims: Mapping[str, Any] = field(default_factory=dict)

    def video_flag(self, name: str) -> bool:
        """A boolean video grant such as `roomAdmin`."""
        return self.video.get(name.lower()) is True

    def video_str(self, name: str) -> str:
        """A string video grant such as `room`."""
        value = self.video.get(name.lower(), "")
        return value if isinstance(value, str) else ""

    def video_permission(self, name: str) -> bool:
        """A publishing or subscribing grant, which LiveKit reads as allowed when absent."""
        value = self.video.get(name.lower())
        return value is not False

    def sip_flag(self, name: str) -> bool:
        """A boolean SIP grant (`admin` or `call`)."""
        return self.sip.get(name.lower()) is True


def authenticate(
    authorization: str | None, query_token: str | None, keys: Mapping[str, str]
) -> Grants | None:
    """Return the grants of the request's token, None without a token, or raise `AuthError`."""
    if authorization:
        if not authorization.startswith(BEARER):
            raise AuthError("invalid authorization header. Must start with " + BEARER)
        token = authorization[len(BEARER) :]
    else:
        token = query_token or ""
    if not token:
        # No token at all: the request goes on without grants and each method refuses it.
        return None
    known = _verified.get(token)
    if known is not None and keys.get(known.grants.api_key) == known.secret:
        # Clients reuse a token for many calls: its signature was checked once, its lifetime
        # is checked on every call (the answers are the same as a full verification's).
        now = time.time()
        if known.expires_at <= now - TOKEN_LEEWAY_S:  # PyJWT's comparisons
            raise AuthError(
                "invalid authorization token: " + _go_jwt_reason(jwt.ExpiredSignatureError())
            )
        if known.not_before > now + TOKEN_LEEWAY_S:
            raise AuthError(
                "invalid authorization token: " + _go_jwt_reason(jwt.ImmatureSignatureError())
            )
        return known.grants
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise AuthError("invalid authorization token") from exc
    api_key = unverified.get("iss", "")
    secret = keys.get(api_key, "") if isinstance(api_key, str) else ""
    if not secret:
        raise AuthError("invalid API key")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=api_key,
            leeway=TOKEN_LEEWAY_S,
            options={"require": ["exp"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"invalid authorization token: {_go_jwt_reason(exc)}") from exc
    grants = Grants(
        api_key=api_key,
        video=_lower_keys(claims.get("video")),
        sip=_lower_keys(claims.get("sip")),
        claims=claims,
    )
    if len(_verified) >= _VERIFIED_CAPACITY:
        _verified.clear()
    _verified[token] = _Verified(
        grants, secret, float(claims["exp"]), float(claims.get("nbf", 0) or 0)
    )
    return grants


@dataclass(frozen=True)
class _Verified:
    """A token whose signature and claims passed, with what must be checked again on reuse."""

    grants: Grants
    secret: str
    expires_at: float
    not_before: float


_verified: dict[str, _Verified] = {}


def _lower_keys(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items()}


def _go_jwt_reason(exc: jwt.PyJWTError) -> str:
    """The wording of golang-jwt v5, which LiveKit's 401 body repeats."""
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature is invalid: signature is invalid"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token has invalid claims: token is expired"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token has invalid claims: token is missing required claim: {exc.claim} claim is required"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "token has invalid claims: token is not valid yet"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "token is unverifiable: signing method is invalid"
    return f"token is malformed: {exc}"


def ensure_sip_admin(grants: Grants | None) -> None:
    """`EnsureSIPAdminPermission`."""
    if grants is None or not grants.sip_flag("admin"):
        raise permission_denied()


def ensure_sip_call(grants: Grants | None) -> None:
    """`EnsureSIPCallPermission`."""
    if grants is None or not grants.sip_flag("call"):
        raise permission_denied()


def ensure_room_admin(grants: Grants | None, room: str) -> None:
    """`EnsureAdminPermission`: roomAdmin for exactly this room."""
    if grants is None or not grants.video_flag("roomAdmin") or grants.video_str("room") != room:
        raise permission_denied()


def ensure_room_create(grants: Grants | None) -> None:
    """`EnsureCreatePermission`."""
    if grants is None or not grants.video_flag("roomCreate"):
        raise permission_denied()


def ensure_room_list(grants: Grants | None) -> None:
    """`EnsureListPermission`."""
    if grants is None or not grants.video_flag("roomList"):
        raise permission_denied()


def ensure_room_record(grants: Grants | None) -> None:
    """`EnsureRecordPermission`."""
    if grants is None or not grants.video_flag("roomRecord"):
        raise permission_denied()
