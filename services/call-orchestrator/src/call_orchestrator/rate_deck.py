"""An organization's rate deck: carrier per-minute rates by destination prefix and direction,
and provider unit prices (LLM tokens, STT minutes, TTS characters), in one currency.

Prices are decimal strings (`"0.0140"`), never JSON numbers, so no float ever touches money. An
organization without a deck of its own is priced by `default_rate_deck()`, the example figures
in `data/default_rate_deck.json` (that file says where they come from).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from call_orchestrator.currencies import ISO_4217
from talkifai_common.events import CallDirection

MONEY_PATTERN = r"^[0-9]{1,9}(\.[0-9]{1,12})?$"
PREFIX_PATTERN = r"^\+?[0-9]{1,15}$"
MAX_CARRIER_RATES = 500  # with the model prices, well inside MAX_BODY_BYTES (64 KiB)
MAX_MODEL_PRICES = 100
_MONEY = re.compile(MONEY_PATTERN)


def _money(value: Any) -> Decimal:
    if isinstance(value, str) and _MONEY.fullmatch(value):
        return Decimal(value)
    raise ValueError(
        'must be a non-negative decimal string such as "0.0140" '
        "(up to 9 digits before the point and 12 after; not a JSON number)"
    )


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["0.0140"]}),
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BillingIncrement(_Strict):
    """How the carrier rounds talk time: a first block, then blocks of `next_s` (60/60, 1/1, 30/6)."""

    first_s: int = Field(default=60, ge=1, le=3600, strict=True)
    next_s: int = Field(default=60, ge=1, le=3600, strict=True)


class CarrierRate(_Strict):
    """The carrier's price per minute for calls in one direction to numbers under a prefix."""

    prefix: str = Field(
        description="E.164 digits the called number starts with, `+` optional (`+1`, `+44`, "
        "`1800`); the longest matching prefix wins.",
        examples=["+1"],
    )
    direction: CallDirection
    per_minute: Money
    increment: BillingIncrement | None = Field(
        default=None, description="Null: the carrier's `default_increment`."
    )

    @field_validator("prefix", mode="before")
    @classmethod
    def _prefix(cls, value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(PREFIX_PATTERN, value):
            raise ValueError("must be 1 to 15 digits with an optional leading +, e.g. +1 or +4420")
        return "+" + value.removeprefix("+")


class CarrierRates(_Strict):
    """Per-minute carrier rates: talk time (answered to ended), rounded up to the increment."""

    default_increment: BillingIncrement = BillingIncrement()
    rates: tuple[CarrierRate, ...] = Field(default=(), max_length=MAX_CARRIER_RATES)

    @model_validator(mode="after")
    def _one_rate_per_prefix(self) -> CarrierRates:
        seen: set[tuple[str, CallDirection]] = set()
        for i, rate in enumerate(self.rates):
            key = (rate.prefix, rate.direction)
            if key in seen:
                raise ValueError(
                    f"rates.{i}.prefix: {rate.prefix} is listed twice for {rate.direction.value}"
                )
            seen.add(key)
        return self


class ModelKey(_Strict):
    """Which provider (and model) a price is for."""

    provider: str = Field(min_length=1, max_length=100, examples=["openai"])
    model: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Null: every model of the provider without its own price.",
        examples=["gpt-4o-mini"],
    )


class LLMPrice(_Strict):
    """Per million tokens, input and output."""

    input_per_million_tokens: Money
    output_per_million_tokens: Money


class LLMModelPrice(LLMPrice, ModelKey):
    """An LLM price for one provider (and model)."""


class STTPrice(_Strict):
    """Per minute of audio sent to speech recognition."""

    per_minute: Money


class STTModelPrice(STTPrice, ModelKey):
    """An STT price for one provider (and model)."""


class TTSPrice(_Strict):
    """Per million characters synthesized."""

    per_million_characters: Money


class TTSModelPrice(TTSPrice, ModelKey):
    """A TTS price for one provider (and model)."""


def _unique_models(models: tuple[ModelKey, ...]) -> None:
    seen: set[tuple[str, str | None]] = set()
    for i, price in enumerate(models):
        key = (price.provider.lower(), price.model.lower() if price.model else None)
        if key in seen:
            raise ValueError(f"models.{i}: {price.provider}/{price.model} is listed twice")
        seen.add(key)


class LLMRates(_Strict):
    """LLM prices: by provider/model when listed, `default` otherwise."""

    default: LLMPrice
    models: tuple[LLMModelPrice, ...] = Field(default=(), max_length=MAX_MODEL_PRICES)

    @model_validator(mode="after")
    def _unique(self) -> LLMRates:
        _unique_models(self.models)
        return self


class STTRates(_Strict):
    """STT prices: by provider/model when listed, `default` otherwise."""

    default: STTPrice
    models: tuple[STTModelPrice, ...] = Field(default=(), max_length=MAX_MODEL_PRICES)

    @model_validator(mode="after")
    def _unique(self) -> STTRates:
        _unique_models(self.models)
        return self


class TTSRates(_Strict):
    """TTS prices: by provider/model when listed, `default` otherwise."""

    default: TTSPrice
    models: tuple[TTSModelPrice, ...] = Field(default=(), max_length=MAX_MODEL_PRICES)

    @model_validator(mode="after")
    def _unique(self) -> TTSRates:
        _unique_models(self.models)
        return self


class RateDeck(_Strict):
    """Everything a call's cost is computed from, in one currency."""

    currency: str = Field(description="ISO 4217 code.", examples=["USD"])
    carrier: CarrierRates
    llm: LLMRates
    stt: STTRates
    tts: TTSRates

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError("must be an ISO 4217 currency code in capitals, e.g. USD or EUR")
        return value


class StoredRateDeck(BaseModel):
    """The deck that prices the organization's calls now (`PUT /rate-deck` replaces it)."""

    version: int = Field(
        ge=0, description="Increases with every PUT; 0 is the default deck. Calls name it."
    )
    is_default: bool = Field(description="No deck of the organization's own: the defaults apply.")
    updated_at: datetime | None
    updated_by: str | None = Field(description="The `sub` of who set it.")
    deck: RateDeck


@cache
def default_rate_deck() -> RateDeck:
    """The example deck shipped with the service (read on first use, not at import)."""
    text = resources.files("call_orchestrator.data").joinpath("default_rate_deck.json").read_text()
    return RateDeck.model_validate(json.loads(text)["deck"])
