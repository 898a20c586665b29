"""Pricing a call without a server: prefix match, billing increments, provider prices, rounding,
Decimal exactness, and the rate deck's validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from call_orchestrator.pricing import (
    PricedCall,
    billed_seconds,
    match_rate,
    micros_text,
    price_call,
    talk_seconds,
    to_micros,
)
from call_orchestrator.rate_deck import BillingIncrement, RateDeck, default_rate_deck
from talkifai_common.events import (
    CallCost,
    CallDirection,
    CallUsageData,
    CostComponent,
    UsageModel,
)
from talkifai_common.voice import Architecture

pytestmark = pytest.mark.unit
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OUT, IN = CallDirection.OUTBOUND, CallDirection.INBOUND


def deck(**changes: Any) -> RateDeck:
    body: dict[str, Any] = {
        "currency": "USD",
        "carrier": {
            "default_increment": {"first_s": 60, "next_s": 60},
            "rates": [
                {"prefix": "+1", "direction": "outbound", "per_minute": "0.0140"},
                {"prefix": "1202", "direction": "outbound", "per_minute": "0.0100"},
                {"prefix": "+1", "direction": "inbound", "per_minute": "0.0085"},
                {
                    "prefix": "+44",
                    "direction": "outbound",
                    "per_minute": "0.0300",
                    "increment": {"first_s": 30, "next_s": 6},
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
                },
                {
                    "provider": "openai",
                    "input_per_million_tokens": "2.00",
                    "output_per_million_tokens": "8.00",
                },
            ],
        },
        "stt": {"default": {"per_minute": "0.0060"}},
        "tts": {"default": {"per_million_characters": "15.00"}},
    }
    body.update(changes)
    return RateDeck.model_validate(body)


def usage(**changes: Any) -> CallUsageData:
    values: dict[str, Any] = {
        "call_id": "call_1",
        "room_name": "room",
        "agent_id": "agent_1",
        "architecture": Architecture.PIPELINE,
        "direction": "outbound",
        "phone_number": "+12025550100",
        "llm_input_tokens": 0,
        "llm_output_tokens": 0,
        "tts_characters": 0,
        "stt_seconds": 0.0,
        "duration_s": 0.0,
        "end_reason": "agent_ended",
        "started_at": T0,
        "ended_at": T0,
    }
    values.update(changes)
    return CallUsageData(**values)


def call(to: str = "+13105550123", talk_s: float = 0, direction: CallDirection = OUT) -> PricedCall:
    return PricedCall(
        direction=direction,
        to_number=to,
        answered_at=T0,
        ended_at=T0 + timedelta(seconds=talk_s),
    )


def line(cost: CallCost, component: CostComponent) -> Any:
    return next(item for item in cost.breakdown if item.component is component)


def test_the_longest_prefix_of_the_called_number_wins_for_the_calls_direction() -> None:
    rates = deck().carrier.rates

    dc = match_rate(rates, OUT, "+12025550123")
    la = match_rate(rates, OUT, "+13105550123")
    inbound = match_rate(rates, IN, "+12025550123")
    uk_inbound = match_rate(rates, IN, "+442071234567")

    assert dc is not None and dc.prefix == "+1202" and dc.per_minute == Decimal("0.0100")
    assert la is not None and la.prefix == "+1"
    assert inbound is not None and inbound.per_minute == Decimal("0.0085")
    assert uk_inbound is None


@pytest.mark.parametrize(
    ("talk_s", "first", "following", "billed"),
    [
        (0, 60, 60, 0),
        (0.001, 60, 60, 60),
        (60, 60, 60, 60),
        (60.000001, 60, 60, 120),
        (125, 60, 60, 180),
        (0.2, 1, 1, 1),
        (61.2, 1, 1, 62),
        (61, 1, 1, 61),
        (10, 30, 6, 30),
        (31, 30, 6, 36),
        (36, 30, 6, 36),
        (36.5, 30, 6, 42),
    ],
)
def test_talk_time_is_rounded_up_to_the_billing_increment(
    talk_s: float, first: int, following: int, billed: int
) -> None:
    increment = BillingIncrement(first_s=first, next_s=following)
    assert billed_seconds(Decimal(str(talk_s)), increment) == billed


def test_talk_time_is_exact_to_the_microsecond_and_zero_without_an_answer() -> None:
    assert talk_seconds(T0, T0 + timedelta(seconds=60, microseconds=1)) == Decimal("60.000001")
    assert talk_seconds(None, T0) == 0
    assert talk_seconds(T0, T0 - timedelta(seconds=1)) == 0


def test_a_call_is_priced_by_carrier_minutes_and_each_providers_usage() -> None:
    cost = price_call(
        deck(),
        4,
        call("+12025550123", talk_s=125),
        usage(
            llm_input_tokens=12_345,
            llm_output_tokens=678,
            stt_seconds=90.5,
            tts_characters=2_000,
            llm=UsageModel(provider="openai", model="gpt-4o-mini"),
        ),
        now=T0,
    )

    carrier = line(cost, CostComponent.CARRIER)
    assert (carrier.quantity, carrier.unit, carrier.rate, carrier.rated_by) == (
        "3",
        "minute",
        "0.0100",
        "+1202",
    )
    assert carrier.amount_micros == 30_000  # 3 min x 0.0100
    llm_in = line(cost, CostComponent.LLM_INPUT)
    assert llm_in.rated_by == "openai/gpt-4o-mini"
    assert llm_in.amount_micros == 1852  # 12,345 x 0.15 / 1M = 0.00185175 -> half up
    assert line(cost, CostComponent.LLM_OUTPUT).amount_micros == 407  # 678 x 0.60 / 1M = 0.0004068
    stt = line(cost, CostComponent.STT)
    assert stt.quantity == "1.508333" and stt.amount_micros == 9050  # 90.5 s at 0.0060/min
    assert line(cost, CostComponent.TTS).amount_micros == 30_000  # 2,000 x 15 / 1M
    assert cost.billed_s == 180
    assert cost.destination_prefix == "+1202"
    assert cost.total_micros == 30_000 + 1852 + 407 + 9050 + 30_000
    assert cost.total == "0.071309"
    assert cost.currency == "USD"
    assert cost.rate_deck_version == 4


def test_a_provider_without_its_model_listed_gets_its_provider_price_else_the_default() -> None:
    heavy = usage(llm_input_tokens=1_000_000, llm=UsageModel(provider="OpenAI", model="gpt-4.1"))
    other = usage(llm_input_tokens=1_000_000, llm=UsageModel(provider="google", model="gemini"))
    unknown = usage(llm_input_tokens=1_000_000)

    by_provider = price_call(deck(), 1, call(), heavy, now=T0)
    by_default = price_call(deck(), 1, call(), other, now=T0)
    unnamed = price_call(deck(), 1, call(), unknown, now=T0)

    assert line(by_provider, CostComponent.LLM_INPUT).rated_by == "openai"
    assert line(by_provider, CostComponent.LLM_INPUT).amount == "2.000000"
    assert line(by_default, CostComponent.LLM_INPUT).rated_by == "default"
    assert line(by_default, CostComponent.LLM_INPUT).amount == "0.400000"
    assert line(unnamed, CostComponent.LLM_INPUT).amount == "0.400000"


def test_a_destination_without_a_rate_costs_nothing_on_the_carrier_line() -> None:
    cost = price_call(deck(), 1, call("+33612345678", talk_s=300), usage(), now=T0)

    carrier = line(cost, CostComponent.CARRIER)
    assert carrier.rate is None and carrier.rated_by is None and carrier.amount_micros == 0
    assert cost.destination_prefix is None
    assert cost.billed_s == 300  # still billed time, at the default increment
    assert cost.total_micros == 0


def test_a_rates_own_increment_replaces_the_default() -> None:
    cost = price_call(deck(), 1, call("+442071234567", talk_s=31), usage(), now=T0)

    assert cost.billed_s == 36
    assert line(cost, CostComponent.CARRIER).amount_micros == 18_000  # 36 s at 0.0300/min


def test_amounts_are_exact_decimals_rounded_half_up_once_per_line() -> None:
    # 1 s at 0.0001/min is 0.0000016666...; 3 s is 0.000005 exactly: floats would give 4.99...
    cheap = deck(
        carrier={
            "default_increment": {"first_s": 1, "next_s": 1},
            "rates": [{"prefix": "+1", "direction": "outbound", "per_minute": "0.0001"}],
        }
    )

    one = price_call(cheap, 1, call(talk_s=1), usage(), now=T0)
    three = price_call(cheap, 1, call(talk_s=3), usage(), now=T0)
    tenth = price_call(deck(), 1, call(), usage(tts_characters=7, stt_seconds=0.1), now=T0)

    assert line(one, CostComponent.CARRIER).amount_micros == 2  # 1.67 micros, half up
    assert line(three, CostComponent.CARRIER).amount_micros == 5
    assert line(tenth, CostComponent.STT).amount_micros == 10  # 0.1 s x 0.0060/60 = 0.00001
    assert line(tenth, CostComponent.TTS).amount_micros == 105  # 7 x 15 / 1M = 0.000105
    assert to_micros(Decimal("0.0000005")) == 1 and to_micros(Decimal("0.00000049")) == 0
    assert micros_text(1_234_567) == "1.234567" and micros_text(0) == "0.000000"


def test_the_same_inputs_always_give_the_same_cost() -> None:
    inputs = (deck(), 2, call(talk_s=61.5), usage(llm_input_tokens=333, stt_seconds=12.345))

    first = price_call(*inputs, now=T0)
    again = price_call(*inputs, now=T0)

    assert first == again
    assert first.model_dump() == CallCost.model_validate_json(first.model_dump_json()).model_dump()


def test_the_default_deck_loads_and_prices_a_us_call() -> None:
    cost = price_call(default_rate_deck(), 0, call("+12025550123", talk_s=59), usage(), now=T0)

    assert cost.currency == "USD"
    assert line(cost, CostComponent.CARRIER).amount == "0.014000"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"currency": "usd"}, "currency", "ISO 4217"),
        ({"currency": "XYZ"}, "currency", "ISO 4217"),
        (
            {"carrier": {"rates": [{"prefix": "+1a", "direction": "outbound", "per_minute": "1"}]}},
            "carrier.rates.0.prefix",
            "digits",
        ),
        (
            {"carrier": {"rates": [{"prefix": "+1", "direction": "outbound", "per_minute": "-1"}]}},
            "carrier.rates.0.per_minute",
            "non-negative",
        ),
        (
            {"carrier": {"rates": [{"prefix": "+1", "direction": "outbound", "per_minute": 0.1}]}},
            "carrier.rates.0.per_minute",
            "not a JSON number",
        ),
        (
            {"carrier": {"rates": [{"prefix": "1", "direction": "sideways", "per_minute": "1"}]}},
            "carrier.rates.0.direction",
            "",
        ),
        (
            {"carrier": {"default_increment": {"first_s": 0, "next_s": 60}}},
            "carrier.default_increment.first_s",
            "",
        ),
        ({"stt": {"default": {"per_minute": "1e-3"}}}, "stt.default.per_minute", "decimal"),
    ],
)
def test_a_deck_breaking_a_rule_names_the_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        deck(**changes)

    errors = caught.value.errors()
    assert [".".join(str(p) for p in e["loc"]) for e in errors] == [field]
    assert message in errors[0]["msg"]


def test_a_prefix_listed_twice_for_one_direction_is_refused_and_plus_is_optional() -> None:
    rates = [
        {"prefix": "+1", "direction": "outbound", "per_minute": "1"},
        {"prefix": "1", "direction": "outbound", "per_minute": "2"},
    ]
    with pytest.raises(ValidationError, match="listed twice"):
        deck(carrier={"rates": rates})
    assert deck(carrier={"rates": rates[:1]}).carrier.rates[0].prefix == "+1"
