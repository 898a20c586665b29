"""A call's cost from its times, its called number, its usage and a rate deck (no I/O).

Carrier: talk time (answered to ended, exact to the microsecond) rounded up to the rate's
increment (a first block, then blocks: 60/60, 1/1, 30/6), at the per-minute rate of the longest
prefix of the called number (`to_number`, in both directions: the number dialled decides the
carrier's price) for the call's direction; no matching prefix costs nothing. Providers: LLM input
and output tokens, STT seconds and TTS characters at the price of their provider/model, else
their provider, else the kind's default. Every amount is computed in `Decimal` and rounded half
up to micro-units once, per line; the total is the exact sum of the lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from typing import TypeVar

from call_orchestrator.rate_deck import (
    BillingIncrement,
    CarrierRate,
    ModelKey,
    RateDeck,
)
from talkifai_common.events import (
    MICROS_PER_UNIT,
    CallCost,
    CallDirection,
    CallUsageData,
    CostComponent,
    CostLine,
    UsageModel,
)

P = TypeVar("P", bound=ModelKey)
_MICRO = Decimal(1).scaleb(-6)
_MILLION = Decimal(1_000_000)
_MINUTE = Decimal(60)
_PRECISION = 60  # digits: every product and quotient here is exact or far past the micro-unit


@dataclass(frozen=True)
class PricedCall:
    """What pricing needs of a call."""

    direction: CallDirection
    to_number: str
    answered_at: datetime | None
    ended_at: datetime | None


def talk_seconds(answered_at: datetime | None, ended_at: datetime | None) -> Decimal:
    """Answered to ended, exact (microseconds), 0 for a call never answered."""
    if answered_at is None or ended_at is None or ended_at <= answered_at:
        return Decimal(0)
    return Decimal((ended_at - answered_at) // timedelta(microseconds=1)).scaleb(-6)


def billed_seconds(talk_s: Decimal, increment: BillingIncrement) -> int:
    """Talk time rounded up: nothing for no talk, else the first block and whole next blocks."""
    if talk_s <= 0:
        return 0
    if talk_s <= increment.first_s:
        return increment.first_s
    blocks = ((talk_s - increment.first_s) / increment.next_s).to_integral_value(ROUND_CEILING)
    return increment.first_s + int(blocks) * increment.next_s


def match_rate(
    rates: tuple[CarrierRate, ...], direction: CallDirection, number: str
) -> CarrierRate | None:
    """The rate of the longest prefix of `number` for `direction` (None when none matches)."""
    digits = "+" + number.removeprefix("+")
    best: CarrierRate | None = None
    for rate in rates:
        if (
            rate.direction is direction
            and digits.startswith(rate.prefix)
            and (best is None or len(rate.prefix) > len(best.prefix))
        ):
            best = rate
    return best


def to_micros(amount: Decimal) -> int:
    """An amount in micro-units, rounded half up."""
    return int((amount * MICROS_PER_UNIT).to_integral_value(ROUND_HALF_UP))


def micros_text(micros: int) -> str:
    """Micro-units as a decimal string with six places (`28000` -> `"0.028000"`)."""
    return format(Decimal(micros).scaleb(-6).quantize(_MICRO), "f")


def _text(value: Decimal) -> str:
    """A quantity for people: exact when it has at most six decimals, else rounded to six."""
    rounded = value.quantize(_MICRO, ROUND_HALF_UP)
    return format((value if rounded == value else rounded).normalize(), "f")


def _line(
    component: CostComponent,
    quantity: Decimal,
    unit: str,
    rate: Decimal | None,
    rated_by: str | None,
) -> CostLine:
    micros = to_micros(quantity * rate) if rate is not None else 0
    return CostLine(
        component=component,
        quantity=_text(quantity),
        unit=unit,
        rate=format(rate, "f") if rate is not None else None,
        rated_by=rated_by,
        amount=micros_text(micros),
        amount_micros=micros,
    )


def _pick(models: tuple[P, ...], used: UsageModel | None) -> tuple[P | None, str]:
    """The price of the provider/model that served the usage, else of its provider, else none
    (the default), with the name of the entry that matched."""
    if used is None:
        return None, "default"
    provider = used.provider.lower()
    model = used.model.lower() if used.model else None
    exact = [p for p in models if p.provider.lower() == provider and p.model is not None]
    for price in exact:
        if model is not None and price.model is not None and price.model.lower() == model:
            return price, f"{price.provider}/{price.model}"
    for price in models:
        if price.provider.lower() == provider and price.model is None:
            return price, price.provider
    return None, "default"


def price_call(
    deck: RateDeck,
    deck_version: int,
    call: PricedCall,
    usage: CallUsageData,
    *,
    now: datetime,
) -> CallCost:
    """The call's cost: the same inputs always give the same lines and total."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rate = match_rate(deck.carrier.rates, call.direction, call.to_number)
        increment = (rate.increment if rate else None) or deck.carrier.default_increment
        billed = billed_seconds(talk_seconds(call.answered_at, call.ended_at), increment)
        carrier = _line(
            CostComponent.CARRIER,
            Decimal(billed) / _MINUTE,
            "minute",
            rate.per_minute if rate else None,
            rate.prefix if rate else None,
        )
        llm, llm_by = _pick(deck.llm.models, usage.llm)
        llm_price = llm or deck.llm.default
        stt, stt_by = _pick(deck.stt.models, usage.stt)
        tts, tts_by = _pick(deck.tts.models, usage.tts)
        lines = (
            carrier,
            _line(
                CostComponent.LLM_INPUT,
                Decimal(usage.llm_input_tokens) / _MILLION,
                "million_tokens",
                llm_price.input_per_million_tokens,
                llm_by,
            ),
            _line(
                CostComponent.LLM_OUTPUT,
                Decimal(usage.llm_output_tokens) / _MILLION,
                "million_tokens",
                llm_price.output_per_million_tokens,
                llm_by,
            ),
            # The event carries seconds as a JSON number: its shortest decimal form is the value.
            _line(
                CostComponent.STT,
                Decimal(repr(usage.stt_seconds)) / _MINUTE,
                "minute",
                (stt or deck.stt.default).per_minute,
                stt_by,
            ),
            _line(
                CostComponent.TTS,
                Decimal(usage.tts_characters) / _MILLION,
                "million_characters",
                (tts or deck.tts.default).per_million_characters,
                tts_by,
            ),
        )
    total = sum(line.amount_micros for line in lines)
    return CallCost(
        currency=deck.currency,
        total=micros_text(total),
        total_micros=total,
        billed_s=billed,
        destination_prefix=rate.prefix if rate else None,
        breakdown=lines,
        rate_deck_version=deck_version,
        computed_at=now,
    )


def component_micros(cost: CallCost) -> dict[str, int]:
    """The cost by reported component (carrier, llm, stt, tts), in micro-units."""
    by = {line.component: line.amount_micros for line in cost.breakdown}
    return {
        "carrier": by.get(CostComponent.CARRIER, 0),
        "llm": by.get(CostComponent.LLM_INPUT, 0) + by.get(CostComponent.LLM_OUTPUT, 0),
        "stt": by.get(CostComponent.STT, 0),
        "tts": by.get(CostComponent.TTS, 0),
    }
