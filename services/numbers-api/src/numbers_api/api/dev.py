"""Dev mode only: tokens for any organization and role."""

from __future__ import annotations

from fastapi import APIRouter

from numbers_api.api.deps import ContextDep
from numbers_api.schemas import DevTokenRequest, TokenResponse
from talkifai_common.auth import issue_hs256_token

DEV_TOKEN_TTL_S = 12 * 3600

router = APIRouter(prefix="/dev", tags=["dev"])


@router.post("/token", response_model=TokenResponse)
async def dev_token(ctx: ContextDep, body: DevTokenRequest) -> TokenResponse:
    """Dev mode only: a signed token for any organization and role."""
    token = issue_hs256_token(
        ctx.settings.jwt_secret(),
        sub=body.sub,
        org_id=body.org_id,
        role=body.role,
        ttl_s=DEV_TOKEN_TTL_S,
        audience=ctx.settings.auth_jwt_audience,
        issuer=ctx.settings.auth_jwt_issuer,
    )
    return TokenResponse(access_token=token, expires_in=DEV_TOKEN_TTL_S)
