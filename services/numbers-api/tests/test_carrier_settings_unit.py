"""A number's carrier settings without a server: the profile a create picks, the defaults it
fills, the validation of source ranges, headers and credentials, and the rule that an inbound
agent answers only calls from the carrier (unless the number explicitly accepts any source)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from numbers_api.adapters.postgres import new_number_row
from numbers_api.adapters.postgres import number_from_row as public_number
from numbers_api.domain import PhoneNumberChanges, check_inbound_security
from numbers_api.handlers.internal import _credentials
from numbers_api.handlers.phone_numbers import _changes
from numbers_api.schemas import PhoneNumberCreate, PhoneNumberUpdate
from talkifai_common.crypto import SecretBox, generate_key
from talkifai_common.errors import ValidationFailed
from talkifai_common.events import AgentRef, MediaEncryption, PhoneNumberData, SipTransport
from talkifai_common.voice import Architecture

pytestmark = pytest.mark.unit

E164 = "+12025550123"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([generate_key()])


def create(box: SecretBox, *, allow_private: bool = False, **fields: Any) -> PhoneNumberChanges:
    body = PhoneNumberCreate.model_validate({"phone_number": E164, **fields})
    return _changes(body, box, allow_private, allow_private)


def update(box: SecretBox, **fields: Any) -> PhoneNumberChanges:
    return _changes(PhoneNumberUpdate.model_validate(fields), box, False, False)


def number(box: SecretBox, *, inbound_agent: bool = True, **fields: Any) -> PhoneNumberData:
    """A stored number made from a create body, with an inbound agent assigned."""
    stored = public_number(new_number_row("org_a", "pn_1", create(box, **fields), NOW))
    if not inbound_agent:
        return stored
    agent = AgentRef(id="agent_1", name="Sales", architecture=Architecture.PIPELINE)
    return stored.model_copy(update={"inbound_agent": agent})


def failed_fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {error.field for error in exc.value.errors}


# Which profile, and its defaults


@pytest.mark.parametrize(
    ("termination_uri", "carrier"),
    [
        ("acme.pstn.twilio.com", "twilio"),
        ("acme.pstn.twilio.com:5061", "twilio"),
        ("sip.example.com", "custom"),
        (None, "custom"),
    ],
)
def test_a_create_without_a_carrier_takes_the_one_its_termination_host_names(
    box: SecretBox, termination_uri: str | None, carrier: str
) -> None:
    assert create(box, termination_uri=termination_uri).carrier == carrier


def test_a_profile_fills_transport_and_media_encryption_left_out(box: SecretBox) -> None:
    vonage = create(box, carrier="vonage")
    assert (vonage.sip_transport, vonage.media_encryption) == (
        SipTransport.UDP,
        MediaEncryption.DISABLE,
    )
    given = create(box, carrier="vonage", sip_transport="tcp")
    assert given.sip_transport is SipTransport.TCP


def test_an_update_picking_a_carrier_takes_its_defaults_unless_given(box: SecretBox) -> None:
    changes = update(box, carrier="vonage")
    assert (changes.sip_transport, changes.media_encryption) == (
        SipTransport.UDP,
        MediaEncryption.DISABLE,
    )
    assert update(box, carrier="twilio", sip_transport="tcp").sip_transport is SipTransport.TCP
    assert "sip_transport" not in update(box, recording_mode="all").columns()


def test_an_unknown_carrier_is_refused_naming_the_profiles() -> None:
    with pytest.raises(ValidationError, match="Unknown carrier profile 'att'; one of twilio"):
        PhoneNumberCreate.model_validate({"phone_number": E164, "carrier": "att"})


@pytest.mark.parametrize("field", ["carrier", "inbound_allow_any_source"])
def test_null_for_a_carrier_setting_the_number_cannot_be_without_is_refused(
    box: SecretBox, field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        update(box, **{field: None})
    assert failed_fields(exc) == {field}


# Source ranges


def test_source_ranges_are_normalised(box: SecretBox) -> None:
    changes = create(box, inbound_allowed_addresses=["54.172.60.0/23", " 3.1.77.9 ", "3.1.77.9/32"])
    assert changes.inbound_allowed_addresses == ["54.172.60.0/23", "3.1.77.9", "3.1.77.9"]


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("300.1.1.1", "not an IP address or CIDR network"),
        ("54.172.60.1/23", "has host bits set"),
        ("10.0.0.0/8", "private or reserved range"),
        ("192.168.1.10", "private or reserved range"),
        ("0.0.0.0/0", "private or reserved range"),
        ("::1", "private or reserved range"),
    ],
)
def test_a_bad_or_private_source_range_is_refused_naming_the_field(
    box: SecretBox, value: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed, match=rule) as exc:
        create(box, inbound_allowed_addresses=["54.172.60.0/23", value])
    assert failed_fields(exc) == {"inbound_allowed_addresses"}


def test_private_source_ranges_pass_when_the_destination_policy_allows_them(
    box: SecretBox,
) -> None:
    changes = create(box, allow_private=True, inbound_allowed_addresses=["10.0.0.0/8"])
    assert changes.inbound_allowed_addresses == ["10.0.0.0/8"]


def test_more_than_a_hundred_source_ranges_are_refused() -> None:
    too_many = [f"3.1.{i // 256}.{i % 256}" for i in range(101)]
    with pytest.raises(ValidationError, match="at most 100"):
        PhoneNumberCreate.model_validate(
            {"phone_number": E164, "inbound_allowed_addresses": too_many}
        )


# Headers and number format


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ({"X-Account": "a\r\nBYE sip:x SIP/2.0"}, "must not contain CR, LF or NUL"),
        ({"Via": "SIP/2.0/UDP evil"}, "written by the SIP stack"),
        ({"proxy-authorization": "Digest x"}, "written by the SIP stack"),
        ({"Bad Name": "x"}, "must be a SIP token"),
        ({"X-A": "1", "x-a": "2"}, "appears twice"),
    ],
)
def test_bad_sip_headers_are_refused_naming_the_rule(headers: dict[str, str], rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as exc:
        PhoneNumberCreate.model_validate({"phone_number": E164, "sip_headers": headers})
    assert exc.value.errors()[0]["loc"][0] == "sip_headers"


def test_a_tech_prefix_is_digits_star_or_hash_only() -> None:
    body = {"phone_number": E164, "number_format": {"leading_plus": False, "tech_prefix": "12#"}}
    parsed = PhoneNumberCreate.model_validate(body)
    assert parsed.number_format is not None and parsed.number_format.write(E164) == "12#12025550123"
    with pytest.raises(ValidationError):
        PhoneNumberCreate.model_validate({**body, "number_format": {"tech_prefix": "ab"}})


# Inbound credentials and the inbound rule


def test_the_inbound_password_is_encrypted_never_shown_and_handed_to_trunk_sync(
    box: SecretBox,
) -> None:
    changes = create(box, inbound_auth_username="carrier", inbound_auth_password="in-s3cret")
    row = new_number_row("org_a", "pn_1", changes, NOW)
    assert "in-s3cret" not in str(row["inbound_auth_password_ciphertext"])
    shown = public_number(row)
    assert shown.has_inbound_auth_password and "in-s3cret" not in shown.model_dump_json()
    credentials = _credentials(row, box)
    assert credentials.inbound_auth_password is not None
    assert credentials.inbound_auth_password.get_secret_value() == "in-s3cret"
    assert "in-s3cret" not in repr(credentials) and "in-s3cret" not in credentials.model_dump_json()


def test_an_inbound_password_without_a_username_is_refused(box: SecretBox) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_inbound_security(number(box, inbound_agent=False, inbound_auth_password="pw"))
    assert failed_fields(exc) == {"inbound_auth_username"}


def test_an_inbound_agent_on_a_number_open_to_anyone_is_refused(box: SecretBox) -> None:
    with pytest.raises(ValidationFailed, match="answers only calls from the carrier") as exc:
        check_inbound_security(number(box, carrier="custom"), agent_field="inbound_agent_id")
    assert failed_fields(exc) == {"inbound_allowed_addresses", "inbound_agent_id"}
    # An empty list is a value: no profile ranges behind it.
    with pytest.raises(ValidationFailed):
        check_inbound_security(number(box, carrier="twilio", inbound_allowed_addresses=[]))


@pytest.mark.parametrize(
    "fields",
    [
        {"carrier": "twilio"},  # the profile lists Twilio's signalling ranges
        {"carrier": "custom", "inbound_allowed_addresses": ["54.172.60.0/23"]},
        {"carrier": "custom", "inbound_auth_username": "c", "inbound_auth_password": "pw"},
        {"carrier": "custom", "inbound_allow_any_source": True},
    ],
)
def test_an_inbound_agent_answers_once_the_carrier_is_named_or_any_source_is_accepted(
    box: SecretBox, fields: dict[str, Any]
) -> None:
    check_inbound_security(number(box, **fields), agent_field="inbound_agent_id")


def test_a_number_without_an_inbound_agent_may_stay_open(box: SecretBox) -> None:
    check_inbound_security(number(box, inbound_agent=False, carrier="custom"))
