"""Where a customer webhook may go: public addresses only, and exactly the address checked."""

from __future__ import annotations

import pytest

from call_orchestrator.adapters.webhooks import Destination, check_destination
from talkifai_common.destinations import DestinationRefused

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata (link-local)
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",  # IPv4-mapped private
        "http://100.100.100.200/latest/meta-data",  # shared address space (cloud metadata)
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
        "http://example.com:99999/hook",
        "ftp://8.8.8.8/hook",
        "http:///no-host",
    ],
)
async def test_private_loopback_link_local_and_non_http_destinations_are_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        await check_destination(url, allow_private=False)


async def test_a_public_destination_is_pinned_to_the_checked_address() -> None:
    plain = await check_destination("http://8.8.8.8:8080/hook?x=1", allow_private=False)
    tls = await check_destination("https://[2001:4860:4860::8888]/hook", allow_private=False)

    assert plain == Destination("http://8.8.8.8:8080/hook?x=1", host_header="8.8.8.8:8080")
    assert tls == Destination(
        "https://[2001:4860:4860::8888]/hook",
        host_header="[2001:4860:4860::8888]",
        sni_hostname="2001:4860:4860::8888",
    )


async def test_dev_mode_sends_to_the_url_as_given() -> None:
    assert await check_destination("http://localhost:9/hook", allow_private=True) == Destination(
        "http://localhost:9/hook"
    )
