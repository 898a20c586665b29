"""The trunk doctor's probe against real carriers on loopback: SIPp (Debian `sip-tester`) over UDP
and TCP, a TLS server with certificates from a test authority, closed and refused destinations.

Nothing between the probe and the carrier is faked: every test sends real packets. Loopback is a
private destination, so these targets allow private destinations unless the test is about them.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from numbers_api.adapters.sip_probe import check_trunk
from numbers_api.trunk_check import (
    PRIVATE_ADDRESS_FIX,
    CheckTarget,
    StepName,
    StepStatus,
    TrunkCheck,
    Verdict,
)
from talkifai_common.events import SipTransport
from tests.support.sip import (
    CertificateAuthority,
    answer,
    dns_zone,
    scenario,
    sipp_carrier,
    tls_sip_server,
)

pytestmark = pytest.mark.unit

USERNAME, PASSWORD = "alice", "s3cret-Pa55"
REALM = "carrier.test"
ANSWER_200 = scenario('<recv request="OPTIONS"/>', answer("200 OK"))


def target(uri: str, transport: SipTransport, **fields: object) -> CheckTarget:
    """A loopback target (private destinations allowed)."""
    return CheckTarget.model_validate(
        {"termination_uri": uri, "transport": transport, "allow_private": True, **fields}
    )


def step(check: TrunkCheck, name: StepName) -> tuple[StepStatus, str, str | None]:
    found = next(s for s in check.steps if s.name == name)
    return found.status, found.detail, found.fix


def digest_scenario(challenge_code: str, header: str) -> str:
    """Challenge OPTIONS, then answer 200 to good credentials and 403 to bad ones. SIPp's
    verifyauth reads only `Authorization`, so the 407 variant checks the header's presence."""
    challenge = answer(
        challenge_code,
        # A qop list (RFC 2617 allows several): a comma inside the quotes.
        extra=f'{header}: Digest realm="{REALM}", nonce="4f2b7c9e01", qop="auth,auth-int", '
        "algorithm=MD5",
    )
    if header == "WWW-Authenticate":
        check = f'<verifyauth assign_to="accepted" username="{USERNAME}" password="{PASSWORD}"/>'
    else:
        check = (
            '<ereg regexp="Digest .*username=\\"alice\\".*response=\\"[0-9a-f]{32}\\"" '
            'search_in="hdr" '
            'header="Proxy-Authorization:" check_it="true" assign_to="accepted"/>'
        )
    return scenario(
        '<recv request="OPTIONS"/>',
        challenge,
        f'<recv request="OPTIONS"><action>{check}</action></recv>',
        '<nop hide="true" test="accepted" next="accept"/>',
        answer("403 Forbidden", attributes=' next="done"'),
        '<label id="accept"/>',
        answer("200 OK"),
        '<label id="done"/>',
    )


@pytest.mark.parametrize(("transport", "sipp_transport"), [("udp", "u1"), ("tcp", "t1")])
async def test_a_carrier_answering_options_is_healthy(
    tmp_path: Path, transport: str, sipp_transport: str
) -> None:
    async with sipp_carrier(tmp_path, ANSWER_200, transport=sipp_transport) as carrier:
        check = await check_trunk(target(f"127.0.0.1:{carrier.port}", SipTransport(transport)))
    assert carrier.returncode == 0, carrier.errors
    assert check.verdict == Verdict.HEALTHY, check.summary
    assert step(check, StepName.OPTIONS)[0] == StepStatus.OK
    assert step(check, StepName.CONNECT)[0] == (
        StepStatus.SKIPPED if transport == "udp" else StepStatus.OK
    )
    assert step(check, StepName.AUTH)[0] == StepStatus.SKIPPED
    assert check.round_trip_ms is not None and check.round_trip_ms > 0
    assert "answered OPTIONS" in check.summary


async def test_stored_credentials_are_skipped_when_the_carrier_does_not_challenge(
    tmp_path: Path,
) -> None:
    async with sipp_carrier(tmp_path, ANSWER_200, transport="u1") as carrier:
        check = await check_trunk(
            target(
                f"127.0.0.1:{carrier.port}",
                SipTransport.UDP,
                username=USERNAME,
                password=SecretStr(PASSWORD),
            )
        )
    status, detail, _ = step(check, StepName.AUTH)
    assert status == StepStatus.SKIPPED
    assert "did not challenge OPTIONS" in detail and "INVITE" in detail
    assert check.verdict == Verdict.HEALTHY


@pytest.mark.parametrize(
    ("code", "header"),
    [
        ("401 Unauthorized", "WWW-Authenticate"),
        ("407 Proxy Authentication Required", "Proxy-Authenticate"),
    ],
)
async def test_the_carrier_accepts_the_digest_answer_to_its_challenge(
    tmp_path: Path, code: str, header: str
) -> None:
    async with sipp_carrier(tmp_path, digest_scenario(code, header), transport="u1") as carrier:
        check = await check_trunk(
            target(
                f"127.0.0.1:{carrier.port}",
                SipTransport.UDP,
                username=USERNAME,
                password=SecretStr(PASSWORD),
            )
        )
    assert carrier.returncode == 0, carrier.errors
    assert step(check, StepName.OPTIONS)[1].endswith(code)
    status, detail, _ = step(check, StepName.AUTH)
    assert status == StepStatus.OK, detail
    assert REALM in detail
    assert check.verdict == Verdict.HEALTHY


async def test_rejected_credentials_fail_with_what_to_check(tmp_path: Path) -> None:
    carrier_xml = digest_scenario("401 Unauthorized", "WWW-Authenticate")
    async with sipp_carrier(tmp_path, carrier_xml, transport="u1") as carrier:
        check = await check_trunk(
            target(
                f"127.0.0.1:{carrier.port}",
                SipTransport.UDP,
                username=USERNAME,
                password=SecretStr("not-the-password"),
            )
        )
    assert carrier.returncode == 0, carrier.errors
    status, detail, fix = step(check, StepName.AUTH)
    assert status == StepStatus.FAILED
    assert "403 Forbidden" in detail
    assert fix == (
        "carrier answered 403 to our credentials: check the username and password on the "
        "number and the carrier's credential list"
    )
    assert check.verdict == Verdict.FAILING
    assert "not-the-password" not in check.model_dump_json()


async def test_a_challenge_without_stored_credentials_asks_for_them(tmp_path: Path) -> None:
    carrier_xml = scenario(
        '<recv request="OPTIONS"/>',
        answer("401 Unauthorized", extra=f'WWW-Authenticate: Digest realm="{REALM}", nonce="n1"'),
    )
    async with sipp_carrier(tmp_path, carrier_xml, transport="u1") as carrier:
        check = await check_trunk(target(f"127.0.0.1:{carrier.port}", SipTransport.UDP))
    status, _, fix = step(check, StepName.AUTH)
    assert status == StepStatus.FAILED
    assert fix is not None and "username and password" in fix


async def test_a_closed_port_fails_to_connect_with_its_fix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = await check_trunk(target(f"127.0.0.1:{port}", SipTransport.TCP))
    status, _, fix = step(check, StepName.CONNECT)
    assert status == StepStatus.FAILED
    assert fix == f"nothing answers on 127.0.0.1:{port}; check the port and the carrier's firewall"
    assert [s.status for s in check.steps[2:]] == [StepStatus.SKIPPED] * 3
    assert check.verdict == Verdict.FAILING
    assert check.round_trip_ms is None


async def test_silence_over_udp_fails_after_retransmitting() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        port = silent.getsockname()[1]
        check = await check_trunk(target(f"127.0.0.1:{port}", SipTransport.UDP), timeout_s=1.2)
        received = list(_drain(silent))
    status, detail, _ = step(check, StepName.OPTIONS)
    assert status == StepStatus.FAILED
    assert detail == "the carrier did not answer OPTIONS within 1.2 s over udp"
    # Timer A: the first send at 0 s, again at 0.5 s, the same request each time.
    assert len(received) >= 2 and len(set(received)) == 1


def _drain(sock: socket.socket) -> Iterator[bytes]:
    while True:
        try:
            yield sock.recv(65536)
        except BlockingIOError:
            return


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_destination_is_refused_without_connecting(host: str) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        check = await check_trunk(
            CheckTarget(
                termination_uri=f"{host}:{port}", transport=SipTransport.TCP, allow_private=False
            )
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    status, detail, fix = step(check, StepName.DNS)
    assert status == StepStatus.FAILED
    assert "not a globally routable address" in detail
    assert fix == PRIVATE_ADDRESS_FIX
    assert all(s.status == StepStatus.SKIPPED for s in check.steps[1:])


# TLS


@pytest.fixture
def authority(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path)


async def test_a_valid_certificate_passes_tls_and_options(
    authority: CertificateAuthority,
) -> None:
    issued = authority.issue("valid", ["localhost"])
    async with tls_sip_server(issued) as port:
        check = await check_trunk(
            target(f"localhost:{port}", SipTransport.TLS),
            ssl_context=authority.client_context(),
        )
    status, detail, _ = step(check, StepName.TLS)
    assert status == StepStatus.OK, detail
    assert "TalkifAI Test CA" in detail
    assert check.verdict == Verdict.HEALTHY, check.summary


async def test_an_expired_certificate_says_when_it_expired(
    authority: CertificateAuthority,
) -> None:
    ended = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    issued = authority.issue(
        "expired", ["localhost"], not_before=ended - timedelta(days=90), not_after=ended
    )
    async with tls_sip_server(issued) as port:
        check = await check_trunk(
            target(f"localhost:{port}", SipTransport.TLS),
            ssl_context=authority.client_context(),
        )
    status, detail, fix = step(check, StepName.TLS)
    assert status == StepStatus.FAILED
    assert detail == "certificate expired on 2025-03-01 12:00 UTC"
    assert fix is not None and "renew" in fix and "localhost" in fix
    assert step(check, StepName.OPTIONS)[0] == StepStatus.SKIPPED


async def test_a_certificate_for_another_host_names_the_hosts_it_is_for(
    authority: CertificateAuthority,
) -> None:
    issued = authority.issue("other", ["sip.other.example", "edge.other.example"])
    async with tls_sip_server(issued) as port:
        check = await check_trunk(
            target(f"localhost:{port}", SipTransport.TLS),
            ssl_context=authority.client_context(),
        )
    status, detail, fix = step(check, StepName.TLS)
    assert status == StepStatus.FAILED
    assert detail == "certificate is for sip.other.example, edge.other.example, not localhost"
    assert fix is not None and "termination URI" in fix


async def test_an_unknown_authority_is_untrusted(
    authority: CertificateAuthority, tmp_path: Path
) -> None:
    issued = authority.issue("valid", ["localhost"])
    async with tls_sip_server(issued) as port:
        check = await check_trunk(target(f"localhost:{port}", SipTransport.TLS))  # system CAs
    status, detail, fix = step(check, StepName.TLS)
    assert status == StepStatus.FAILED
    assert detail.startswith("certificate issued by TalkifAI Test CA is not trusted")
    assert fix is not None


async def test_tls_to_a_plain_port_fails_the_handshake() -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # the ClientHello, read as if it were SIP
        writer.write(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        check = await check_trunk(target(f"127.0.0.1:{port}", SipTransport.TLS))
    status, detail, fix = step(check, StepName.TLS)
    assert status == StepStatus.FAILED
    assert detail.startswith(f"the TLS handshake with 127.0.0.1:{port} failed")
    assert fix is not None and f"127.0.0.1:{port} speaks TLS" in fix


# DNS: a zone served on loopback to both resolvers


@pytest.mark.parametrize(
    ("transport", "sipp_transport", "records"),
    [
        ("udp", "u1", {("_sip._udp.carrier.test", "SRV"): ["10 5 {port} sip1.carrier.test."]}),
        (
            "auto",
            "t1",
            {
                ("carrier.test", "NAPTR"): [
                    '10 10 "s" "SIPS+D2T" "" _sips._tcp.carrier.test.',
                    '20 10 "s" "SIP+D2T" "" _sip._tcp.carrier.test.',
                ],
                ("_sip._tcp.carrier.test", "SRV"): [
                    "10 5 {port} sip1.carrier.test.",
                    "20 5 5060 sip2.carrier.test.",
                ],
            },
        ),
        ("auto", "u1", {("_sip._udp.carrier.test", "SRV"): ["10 5 {port} sip1.carrier.test."]}),
    ],
    ids=["srv-for-the-transport", "auto-follows-naptr", "auto-tries-each-srv-name"],
)
async def test_srv_records_lead_to_the_carrier(
    tmp_path: Path, transport: str, sipp_transport: str, records: dict[tuple[str, str], list[str]]
) -> None:
    async with sipp_carrier(tmp_path, ANSWER_200, transport=sipp_transport) as carrier:
        zone_records = {
            key: [r.format(port=carrier.port) for r in values] for key, values in records.items()
        }
        zone_records |= {
            ("carrier.test", "A"): ["203.0.113.1"],
            ("sip1.carrier.test", "A"): ["127.0.0.1"],
            ("sip2.carrier.test", "A"): ["127.0.0.1"],
        }
        async with dns_zone(zone_records) as zone:
            check = await check_trunk(
                target("carrier.test", SipTransport(transport)),
                resolver=zone.addresses,
                dns_resolver=zone.dns_resolver,
            )
    assert carrier.returncode == 0, carrier.errors
    status, detail, _ = step(check, StepName.DNS)
    assert status == StepStatus.OK
    assert f"sip1.carrier.test:{carrier.port}" in detail and "127.0.0.1" in detail
    assert check.verdict == Verdict.HEALTHY, check.summary


async def test_without_srv_the_host_and_the_carrier_default_port_are_used(tmp_path: Path) -> None:
    async with (
        sipp_carrier(tmp_path, ANSWER_200, transport="t1") as carrier,
        dns_zone({("carrier.test", "A"): ["127.0.0.1"]}) as zone,
    ):
        check = await check_trunk(
            target("carrier.test", SipTransport.TCP, default_port=carrier.port),
            resolver=zone.addresses,
            dns_resolver=zone.dns_resolver,
        )
    assert step(check, StepName.DNS)[1] == "carrier.test resolves to 127.0.0.1"
    assert step(check, StepName.CONNECT)[1] == f"TCP connected to 127.0.0.1:{carrier.port}"
    assert check.verdict == Verdict.HEALTHY


async def test_a_name_that_does_not_exist_names_the_host_in_its_fix() -> None:
    async with dns_zone({("carrier.test", "A"): ["203.0.113.1"]}) as zone:
        check = await check_trunk(
            target("carier.test", SipTransport.UDP),
            resolver=zone.addresses,
            dns_resolver=zone.dns_resolver,
        )
    status, detail, fix = step(check, StepName.DNS)
    assert status == StepStatus.FAILED
    assert detail == "carier.test does not resolve to any address"
    assert fix is not None and "carier.test" in fix


async def test_an_srv_target_on_a_private_address_is_refused() -> None:
    records = {
        ("_sip._udp.carrier.test", "SRV"): [
            "10 5 5060 sip1.carrier.test.",
            "20 5 5060 backup.carrier.test.",
        ],
        ("sip1.carrier.test", "A"): ["8.8.8.8"],  # public; nothing is sent anywhere
        ("backup.carrier.test", "A"): ["10.20.30.40"],
    }
    async with dns_zone(records) as zone:
        check = await check_trunk(
            CheckTarget(termination_uri="carrier.test", transport=SipTransport.UDP),
            resolver=zone.addresses,
            dns_resolver=zone.dns_resolver,
        )
    status, detail, fix = step(check, StepName.DNS)
    assert status == StepStatus.FAILED
    assert detail.startswith("backup.carrier.test resolves to 10.20.30.40")
    assert fix == PRIVATE_ADDRESS_FIX
