"""The destination policy: only globally routable addresses; URLs that httpx can send."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from talkifai_common.destinations import (
    DestinationRefused,
    ResolutionFailed,
    Resolver,
    check_sip_destination,
    is_public_address,
    parse_destination_url,
    resolve_public,
    validate_webhook_url,
)
from talkifai_common.settings import ServiceSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "address",
    [
        "100.100.100.200",  # shared address space (a cloud metadata address)
        "100.64.0.1",
        "169.254.169.254",
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "192.0.0.9",  # IETF protocol assignments
        "192.0.2.1",
        "192.31.196.1",  # AS112
        "192.88.99.1",  # 6to4 relay anycast
        "198.18.0.1",  # benchmarking
        "198.51.100.1",
        "203.0.113.1",
        "224.0.0.1",  # multicast
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "3fff::1",
        "5f00::1",
        "100::1",
        "2620:4f:8000::1",
        "64:ff9b:1::1",  # local-use NAT64
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:0:a00:1::",  # Teredo, server 10.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1 (deprecated)
        "fec0::1",  # site-local (deprecated)
    ],
)
def test_addresses_that_are_not_globally_routable_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "54.172.60.0",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",  # NAT64 of 8.8.8.8
        "2002:808:808::1",  # 6to4 of 8.8.8.8
    ],
)
def test_globally_routable_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://example.com:99999/", "port"),
        ("http://example.com:0/", "port"),
        ("http://example.com:abc/", "port"),
        ("http://exa\r\nmple.com/", "control characters"),
        ("http://example.com/a\nb", "control characters"),
        ("http://exa\tmple.com/", "control characters"),
        ("http://example.com/\x00", "control characters"),
        ("http://xn--a.com/", "internationalized"),
        ("http://\u2603.com/", "valid URL"),
        ("http://user:pass@example.com/", "credentials"),
        ("ftp://example.com/", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("/relative/path", "http or https"),
        ("http://%65xample.com/", "valid hostname"),
        ("http://2130706433/", "valid hostname"),
        ("http://0x7f.1/", "valid hostname"),
    ],
)
def test_urls_httpx_cannot_send_are_refused_naming_the_rule(url: str, rule: str) -> None:
    with pytest.raises(DestinationRefused, match=rule):
        parse_destination_url(url)


def test_an_internationalized_host_is_sent_in_its_ascii_form() -> None:
    parsed = parse_destination_url("https://b\u00fccher.example/hook")
    assert (parsed.host, parsed.port) == ("xn--bcher-kva.example", 443)


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data",
        "http://[2002:7f00:1::]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
    ],
)
def test_webhook_urls_to_literal_non_public_hosts_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        validate_webhook_url(url, allow_private=False)
    assert validate_webhook_url(url, allow_private=True) == url


async def test_a_name_that_resolves_to_loopback_is_refused_at_connection_time() -> None:
    with pytest.raises(DestinationRefused, match="loopback"):
        await resolve_public("localhost", 80, what="Webhook URL", allow_private=False)


async def test_a_name_that_does_not_exist_is_refused_for_good() -> None:
    with pytest.raises(DestinationRefused, match="does not resolve") as caught:
        await resolve_public("no-such-host.invalid", 80, what="Webhook URL", allow_private=False)
    assert not caught.value.retryable


async def _temporary_failure(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")


async def _no_answer(host: str, port: int) -> list[str]:
    await asyncio.Event().wait()
    return []


async def _loopback(host: str, port: int) -> list[str]:
    return ["93.184.215.14", "127.0.0.1"]


@pytest.mark.parametrize("resolver", [_temporary_failure, _no_answer])
async def test_a_resolver_that_cannot_answer_now_is_a_retryable_failure(
    resolver: Resolver,
) -> None:
    with pytest.raises(ResolutionFailed) as caught:
        await resolve_public(
            "hooks.example.org",
            80,
            what="Webhook URL",
            allow_private=False,
            resolver=resolver,
            timeout_s=0.05,
        )
    assert caught.value.retryable


async def test_a_name_with_any_non_public_address_is_refused() -> None:
    with pytest.raises(DestinationRefused, match=r"resolves to 127\.0\.0\.1"):
        await check_sip_destination(
            "trunk.example.org:5061", allow_private=False, resolver=_loopback
        )


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:5060", "169.254.169.254", "[::1]:5061", "100.100.100.200", "10.0.0.1", "localhost"],
)
async def test_sip_destinations_that_are_not_public_are_refused(host: str) -> None:
    with pytest.raises(DestinationRefused, match="Termination URI"):
        await check_sip_destination(host, allow_private=False)
    await check_sip_destination(host, allow_private=True)


async def test_a_public_sip_literal_passes() -> None:
    await check_sip_destination("54.172.60.0:5061", allow_private=False)


@pytest.mark.parametrize(
    ("dev_mode", "explicit", "allowed"),
    [
        (True, None, True),
        (False, None, False),
        (True, False, False),  # an explicit false turns the guard on in dev mode
        (False, True, True),
    ],
)
def test_an_explicit_allow_private_setting_wins_over_dev_mode(
    dev_mode: bool, explicit: bool | None, allowed: bool
) -> None:
    settings = ServiceSettings(dev_mode=dev_mode, auth_jwt_secret="x" * 40)
    assert settings.allows_private(explicit) is allowed
