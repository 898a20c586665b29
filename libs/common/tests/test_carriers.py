"""The carrier profiles in carriers.json: they load, their values are well formed, and the
helpers that read them (host inference, number formatting, the number-over-profile merge) work."""

from __future__ import annotations

import pytest

from talkifai_common.carriers import (
    CUSTOM,
    carrier_of_host,
    check_sip_headers,
    effective_settings,
    parse_networks,
    profile,
    profiles,
)
from talkifai_common.events import MediaEncryption, NumberFormat, SipTransport

pytestmark = pytest.mark.unit

CARRIERS = ("twilio", "telnyx", "plivo", "signalwire", "bandwidth", "vonage")

# A termination host of each carrier, as a number's termination URI would name it.
SAMPLE_HOSTS = {
    "twilio": "my-trunk.pstn.twilio.com",
    "telnyx": "sip.telnyx.com",
    "plivo": "21784177241578.zt.plivo.com:5061",
    "signalwire": "example.sip.signalwire.com",
    "bandwidth": "realm.auth.bandwidth.com",
    "vonage": "yourcompany.sip-us.vonage.com",
}


def test_every_profile_loads_with_the_expected_ids() -> None:
    ids = list(profiles())
    assert len(ids) == len(set(ids))
    assert set(CARRIERS) <= set(ids)
    assert ids[-1] == CUSTOM
    assert profile(None).id == CUSTOM


def test_profile_of_an_unknown_id_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        profile("no-such-carrier")


@pytest.mark.parametrize("carrier_id", [*CARRIERS, CUSTOM])
def test_signalling_addresses_are_public_and_already_normalised(carrier_id: str) -> None:
    addresses = list(profile(carrier_id).signalling_addresses)
    assert parse_networks(addresses, allow_private=False) == addresses
    assert len(addresses) == len(set(addresses))


@pytest.mark.parametrize("carrier_id", CARRIERS)
def test_every_carrier_names_its_sources(carrier_id: str) -> None:
    p = profile(carrier_id)
    assert p.sources
    for source in p.sources:
        assert source.url.startswith("https://")
        assert source.read_on == "2026-12-07"


@pytest.mark.parametrize("carrier_id", CARRIERS)
def test_a_carrier_without_published_ranges_says_to_enter_them(carrier_id: str) -> None:
    p = profile(carrier_id)
    if not p.signalling_addresses:
        assert any("allowed addresses" in step for step in p.setup_steps)


@pytest.mark.parametrize("carrier_id", [*CARRIERS, CUSTOM])
def test_headers_pass_the_sip_header_check(carrier_id: str) -> None:
    headers = profile(carrier_id).headers
    assert check_sip_headers(dict(headers)) == headers


@pytest.mark.parametrize("carrier_id", [*CARRIERS, CUSTOM])
def test_transport_port_and_encryption_are_consistent(carrier_id: str) -> None:
    p = profile(carrier_id)
    expected_port = 5061 if p.transport is SipTransport.TLS else 5060
    assert p.port == expected_port
    if not p.srtp:
        assert p.media_encryption is MediaEncryption.DISABLE
    if p.media_encryption is MediaEncryption.REQUIRE:
        assert p.transport is SipTransport.TLS
    assert p.setup_steps


def test_telnyx_names_the_connection_username_in_a_header() -> None:
    assert profile("telnyx").headers == {"X-Telnyx-Username": "{sip_username}"}


@pytest.mark.parametrize(("carrier_id", "host"), sorted(SAMPLE_HOSTS.items()))
def test_carrier_of_host_maps_each_carriers_termination_host(carrier_id: str, host: str) -> None:
    assert carrier_of_host(host) == carrier_id
    name, _, port = host.partition(":")
    spelled = f"{name.upper()}." + (f":{port}" if port else "")
    assert carrier_of_host(spelled) == carrier_id


@pytest.mark.parametrize("host", ["sip.example.net", "trunk.example.com:5060", "", None])
def test_carrier_of_an_unknown_host_is_custom(host: str | None) -> None:
    assert carrier_of_host(host) == CUSTOM


def test_number_format_writes_without_plus_and_with_a_tech_prefix() -> None:
    assert NumberFormat().write("+12025550123") == "+12025550123"
    assert NumberFormat(leading_plus=False).write("+12025550123") == "12025550123"
    assert NumberFormat(tech_prefix="1234#").write("+12025550123") == "1234#+12025550123"
    both = NumberFormat(leading_plus=False, tech_prefix="99*")
    assert both.write("+447700900000") == "99*447700900000"


def test_effective_settings_fill_the_sip_username_from_the_profile() -> None:
    settings = effective_settings(
        carrier="telnyx",
        inbound_allowed_addresses=None,
        number_format=None,
        sip_headers=None,
        sip_username="acme-trunk",
    )
    telnyx = profile("telnyx")
    assert settings.carrier == "telnyx"
    assert settings.sip_headers == {"X-Telnyx-Username": "acme-trunk"}
    assert settings.inbound_allowed_addresses == telnyx.signalling_addresses
    assert settings.number_format == telnyx.number_format


def test_effective_settings_drop_a_header_left_empty_without_a_username() -> None:
    settings = effective_settings(
        carrier="telnyx",
        inbound_allowed_addresses=None,
        number_format=None,
        sip_headers=None,
        sip_username=None,
    )
    assert settings.sip_headers == {}


def test_a_numbers_values_override_the_profile_even_when_empty() -> None:
    assert profile("twilio").signalling_addresses
    own_format = NumberFormat(leading_plus=False, tech_prefix="7#")
    settings = effective_settings(
        carrier="twilio",
        inbound_allowed_addresses=[],
        number_format=own_format,
        sip_headers={"X-Account": "{sip_username}"},
        sip_username="u1",
    )
    assert settings.inbound_allowed_addresses == ()
    assert settings.number_format == own_format
    assert settings.sip_headers == {"X-Account": "u1"}


def test_no_carrier_means_the_custom_profile() -> None:
    settings = effective_settings(
        carrier=None,
        inbound_allowed_addresses=None,
        number_format=None,
        sip_headers=None,
        sip_username="x",
    )
    assert settings.carrier == CUSTOM
    assert settings.inbound_allowed_addresses == ()
    assert settings.sip_headers == {}
