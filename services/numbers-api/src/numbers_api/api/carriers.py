"""Carrier profiles: what the Studio offers when a number names its carrier."""

from __future__ import annotations

from fastapi import APIRouter

from numbers_api.api.deps import READ, PrincipalDep
from talkifai_common import carriers

router = APIRouter(prefix="/carriers", tags=["carriers"])


@router.get("", response_model=list[carriers.CarrierProfile], responses=READ)
async def list_carriers(principal: PrincipalDep) -> list[carriers.CarrierProfile]:
    """Every carrier profile (custom last): signalling ranges, number format, headers,
    transport, SRTP and the setup steps in the carrier's console, each with its sources."""
    del principal  # any member of any organization may read them; the token is still required
    return list(carriers.profiles().values())
