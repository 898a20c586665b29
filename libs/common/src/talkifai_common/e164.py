"""E.164 phone numbers: accept the forms people type, store the one form LiveKit and carriers use.

The product's rule: a leading `+`, a first digit 1-9, and 10 to 15 digits after the `+`.
"""

from __future__ import annotations

import re
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, WithJsonSchema

MIN_DIGITS = 10
MAX_DIGITS = 15
# What people put between digits: spaces, dashes, dots, parentheses, and the slash some carriers use.
_SEPARATORS = re.compile(r"[\s\-.()/\u00a0]")


class InvalidPhoneNumber(ValueError):
    """The text is not an E.164 number; the message names the rule it broke."""


def normalize_e164(raw: str) -> str:
    """Return `raw` as E.164 (`+12025550123`), or raise InvalidPhoneNumber naming the rule."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("Phone number is required")
    if not text.startswith("+"):
        raise InvalidPhoneNumber("Phone number must be in E.164 format and start with +")
    digits = _SEPARATORS.sub("", text[1:])
    if not digits.isdigit() or not digits.isascii():
        raise InvalidPhoneNumber(
            "Phone number must contain only digits after +, optionally grouped with spaces, "
            "dashes, dots or parentheses"
        )
    if digits[0] == "0":
        raise InvalidPhoneNumber("Phone number must start with + followed by a digit from 1 to 9")
    if len(digits) < MIN_DIGITS:
        raise InvalidPhoneNumber(f"Phone number must have at least {MIN_DIGITS} digits after +")
    if len(digits) > MAX_DIGITS:
        raise InvalidPhoneNumber(f"Phone number must have at most {MAX_DIGITS} digits after +")
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("Phone number has no valid country calling code") from exc
    if phonenumbers.region_code_for_country_code(parsed.country_code or 0) == "ZZ":
        raise InvalidPhoneNumber("Phone number has no valid country calling code")
    # The digits as typed: formatting may drop significant leading zeros (Italy), which carriers need.
    return "+" + digits


def _validate(value: str) -> str:
    return normalize_e164(value)


E164_PATTERN = r"^\s{0,2}\+[\s\-.()/\u00a0]{0,2}[1-9](?:[\s\-.()/\u00a0]{0,2}[0-9]){9,14}[\s\-.()/\u00a0]{0,2}$"
"""What `normalize_e164` accepts, for OpenAPI documents: the form people type, with at most two
separators in a row (more pass too); the country code is checked besides."""

E164 = Annotated[
    str, AfterValidator(_validate), WithJsonSchema({"type": "string", "pattern": E164_PATTERN})
]
"""A pydantic field type that normalises to E.164 and fails with the rule that was broken."""


def digits_of(e164: str) -> str:
    """The number without its `+`, as used in LiveKit room names."""
    return e164.removeprefix("+")
