"""Routes of cost per call: the organization's rate deck and its usage totals (problem+json)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Response

from call_orchestrator.adapters.postgres import GroupBy
from call_orchestrator.api import ContextDep, PrincipalDep
from call_orchestrator.handlers import rate_decks, usage_report
from call_orchestrator.rate_deck import RateDeck, StoredRateDeck
from call_orchestrator.schemas import IsoDateTime, UsageReport
from talkifai_common.web import problem_responses
from talkifai_common.web_input import refuse_invalid_text

costs = APIRouter(tags=["costs"])

_DECK_EXAMPLE: dict[str, Any] = {
    "currency": "USD",
    "carrier": {
        "default_increment": {"first_s": 60, "next_s": 60},
        "rates": [
            {"prefix": "+1", "direction": "outbound", "per_minute": "0.0140"},
            {"prefix": "+1", "direction": "inbound", "per_minute": "0.0085"},
            {"prefix": "+1800", "direction": "inbound", "per_minute": "0.0220"},
            {
                "prefix": "+44",
                "direction": "outbound",
                "per_minute": "0.0200",
                "increment": {"first_s": 1, "next_s": 1},
            },
        ],
    },
    "llm": {
        "default": {"input_per_million_tokens": "0.40", "output_per_million_tokens": "1.60"},
        "models": [
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "input_per_million_tokens": "0.15",
                "output_per_million_tokens": "0.60",
            }
        ],
    },
    "stt": {"default": {"per_minute": "0.0077"}, "models": []},
    "tts": {
        "default": {"per_million_characters": "15.00"},
        "models": [{"provider": "espeak", "per_million_characters": "0"}],
    },
}


def _json(model: StoredRateDeck | UsageReport) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@costs.get("/rate-deck", response_model=StoredRateDeck, responses=problem_responses(401, 422, 503))
async def get_rate_deck(ctx: ContextDep, principal: PrincipalDep) -> Response:
    """The rate deck that prices the organization's calls (any role). Until an owner or admin
    sets one, the service's example defaults (`version` 0, `is_default` true)."""
    return _json(await rate_decks.get_rate_deck(ctx.stores.rate_decks, principal))


@costs.put(
    "/rate-deck",
    response_model=StoredRateDeck,
    responses=problem_responses(400, 401, 403, 409, 413, 422, 503),
)
async def put_rate_deck(
    ctx: ContextDep,
    principal: PrincipalDep,
    deck: Annotated[RateDeck, Body(examples=[_DECK_EXAMPLE])],
) -> Response:
    """Replace the organization's rate deck (owners and admins; members get 403).

    Carrier rates: per minute, by destination prefix (digits with an optional leading `+`; the
    longest prefix of the called number wins) and direction, talk time rounded up to the
    increment (`first_s`/`next_s`: 60/60, 1/1, 30/6). Providers: LLM per million input and output
    tokens, STT per minute, TTS per million characters; a `models` entry (provider, optional
    model) overrides the kind's `default`. Prices are decimal strings, never JSON numbers;
    `currency` is ISO 4217. 422 names the field that broke a rule. Each PUT is a new `version`;
    calls priced before keep the version that priced them.
    """
    return _json(await rate_decks.put_rate_deck(ctx.stores.rate_decks, principal, deck))


@costs.get("/usage", response_model=UsageReport, responses=problem_responses(401, 422, 503))
async def get_usage(
    ctx: ContextDep,
    principal: PrincipalDep,
    start: Annotated[
        IsoDateTime,
        Query(
            alias="from",
            description="ISO 8601, inclusive; a time without a zone is UTC.",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ],
    end: Annotated[
        IsoDateTime,
        Query(
            alias="to",
            description="ISO 8601, exclusive; after `from`, at most 366 days later.",
            examples=["2027-01-01T00:00:00Z"],
        ),
    ],
    group_by: Annotated[GroupBy, Query(description="number, agent or day (UTC).")] = (
        GroupBy.NUMBER
    ),
) -> Response:
    """The organization's calls started in [from, to) per number, agent or day: how many, how
    many are priced, carrier-billed minutes and the cost by component (carrier, llm, stt, tts)
    and in total, as decimal strings and integer micro-units. A group whose calls were priced in
    several currencies has one line per currency."""
    report = await usage_report.usage_report(ctx.stores.costs, principal, start, end, group_by)
    return _json(report)


def include_cost_routes(app: FastAPI) -> None:
    """Mount the cost routes."""
    app.include_router(costs, dependencies=[Depends(refuse_invalid_text)])
