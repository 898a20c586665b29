"""E.164: the seed's rule, with the forms people type."""

import pytest

from talkifai_common.e164 import InvalidPhoneNumber, digits_of, normalize_e164

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (202) 555-0123", "+12025550123"),
        ("  +1.202.555.0123 ", "+12025550123"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+39 06 1234 5678", "+390612345678"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_accepted_forms_normalise(raw: str, expected: str) -> None:
    assert normalize_e164(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2025550123", "start with +"),
        ("+1 202 555", "at least 10 digits"),
        ("+1234567890123456", "at most 15 digits"),
        ("+0123456789", "digit from 1 to 9"),
        ("+1 800 FLOWERS", "only digits"),
        ("+٣٣٣٣٣٣٣٣٣٣", "only digits"),
        ("+999 1234567890", "country calling code"),
        ("   ", "required"),
    ],
)
def test_rejections_name_the_rule(raw: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=message):
        normalize_e164(raw)


def test_digits_of_strips_the_plus() -> None:
    assert digits_of("+12025550123") == "12025550123"
