"""Who is calling: JWT verification with organization and role.

Tokens carry `sub`, `org_id`, `role` (owner | admin | member) and `exp`. HS256 with a shared secret,
or RS256 with keys from a JWKS URL (fetched and cached by PyJWT's client, off the event loop).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from enum import StrEnum
from typing import Any, Protocol

import jwt
import jwt.types
from pydantic import BaseModel, ConfigDict, ValidationError

from talkifai_common.errors import Forbidden, Unauthenticated


class Role(StrEnum):
    """What a user may do within an organization."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Principal(BaseModel):
    """The authenticated caller."""

    model_config = ConfigDict(frozen=True)

    sub: str
    org_id: str
    role: Role

    def require_manager(self) -> None:
        """Raise Forbidden unless the caller is an owner or admin."""
        if self.role not in MANAGER_ROLES:
            raise Forbidden("Only owners and admins can make this change; members have read access")


class TokenVerifier(Protocol):
    """Turns a bearer token into a Principal or raises Unauthenticated."""

    async def verify(self, token: str) -> Principal: ...


class _Claims(BaseModel):
    sub: str
    org_id: str
    role: Role


class _VerifiedTokens:
    """Remembers tokens already verified until they expire, so a hot client costs one decode.

    Keyed by the whole token string, so a different signature is a different entry; bounded, oldest
    entries dropped first.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._max_entries = max_entries

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, expires_at = entry
        if time.time() >= expires_at:
            del self._entries[token]
            return None
        return principal

    def put(self, token: str, principal: Principal, claims: dict[str, Any]) -> None:
        self._entries[token] = (principal, float(claims["exp"]))
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


def _principal_from(claims: dict[str, Any]) -> Principal:
    try:
        parsed = _Claims.model_validate(claims)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors())
        raise Unauthenticated(f"Token is missing or has invalid claims: {fields}") from exc
    if not parsed.org_id.strip():
        raise Unauthenticated("Token has an empty org_id")
    return Principal(sub=parsed.sub, org_id=parsed.org_id, role=parsed.role)


def _decode_options(audience: str | None) -> jwt.types.Options:
    return {"require": ["exp", "sub"], "verify_aud": audience is not None}


class _JWTVerifier:
    """Shared verification: signature, expiry, audience, issuer, claims; verified tokens cached."""

    algorithm: str

    def __init__(self, audience: str | None, issuer: str | None) -> None:
        self._audience = audience
        self._issuer = issuer
        self._verified = _VerifiedTokens()

    async def _key_for(self, token: str) -> Any:
        raise NotImplementedError

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; Unauthenticated saying why otherwise."""
        if cached := self._verified.get(token):
            return cached
        try:
            claims = jwt.decode(
                token,
                await self._key_for(token),
                algorithms=[self.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options=_decode_options(self._audience),
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid token: {exc}") from exc
        principal = _principal_from(claims)
        self._verified.put(token, principal, claims)
        return principal


class HS256Verifier(_JWTVerifier):
    """Verifies tokens signed with a shared secret."""

    algorithm = "HS256"

    def __init__(self, secret: str, audience: str | None = None, issuer: str | None = None) -> None:
        super().__init__(audience, issuer)
        self._secret = secret

    async def _key_for(self, token: str) -> Any:
        return self._secret


class JWKSVerifier(_JWTVerifier):
    """Verifies RS256 tokens against keys published at a JWKS URL."""

    algorithm = "RS256"

    def __init__(
        self, jwks_url: str, audience: str | None = None, issuer: str | None = None
    ) -> None:
        super().__init__(audience, issuer)
        self._client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    async def _key_for(self, token: str) -> Any:
        # The key is found by `kid`; the network is used only on a cache miss, off the loop.
        signing_key = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
        return signing_key.key


def issue_hs256_token(
    secret: str,
    *,
    sub: str,
    org_id: str,
    role: Role,
    ttl_s: int = 3600,
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """Sign a user token; for dev sign-in, tests and tools, never for production users."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "org_id": org_id,
        "role": role.value,
        "iat": now,
        "exp": now + ttl_s,
    }
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
