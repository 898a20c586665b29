"""The SIP edge against SIPp: carriers calling in over UDP, TCP and TLS, and carriers the
emulator dials for CreateSIPParticipant. SIPp is the judge of the SIP; the real livekit-api
client and the control API's state are the judge of what the calls did."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from livekit import api
from livekit.protocol import agent_dispatch, room, sip

from livekit_emulator.testing import RunningEmulator, running_emulator, test_config

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "sipp"
SIPP_TIMEOUT_S = 20.0  # a guard against hanging, never an expectation of speed
CALLER = "+15550142"
NUMBER = "+12025550123"
AGENT = "sip-agent"


@pytest.fixture(autouse=True)
def sipp_installed() -> None:
    """make test and make unit install it (tools/dev/system-packages.sh)."""
    assert shutil.which("sipp"), "sipp is not installed: run tools/dev/system-packages.sh"


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIPp listens on both kinds)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise OSError("no free port")


@dataclass
class Sipp:
    """A SIPp process running one scenario once."""

    process: asyncio.subprocess.Process
    port: int
    messages: Path
    errors: Path

    async def finished(self) -> int:
        """SIPp's exit status (0: every call of the scenario succeeded)."""
        try:
            return await asyncio.wait_for(self.process.wait(), SIPP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    def trace(self) -> str:
        """Every message SIPp sent and received."""
        return self.messages.read_text() if self.messages.exists() else ""

    def received(self, method: str) -> list[str]:
        """The requests of `method` SIPp received, as text."""
        blocks = self.trace().split("----------------------------------------------- ")
        return [b for b in blocks if "message received" in b and f"\n{method} sip:" in b]


async def start_sipp(
    tmp_path: Path,
    scenario: str,
    *,
    target: str | None = None,
    transport: str = "u1",
    service: str = NUMBER,
    keys: dict[str, str] | None = None,
    written: dict[str, str] | None = None,
    extra: Sequence[str] = (),
) -> Sipp:
    """Run SIPp with a scenario of tests/sipp/ on a free local port (UAC when `target` is set).

    `keys` are SIPp's `-key`s (message text); `written` replaces words of the scenario where
    SIPp reads no keys (a response's status line)."""
    port = free_port()
    messages, errors = tmp_path / f"{scenario}.msg.log", tmp_path / f"{scenario}.err.log"
    path = SCENARIOS / f"{scenario}.xml"
    if written:
        text = path.read_text()
        for word, value in written.items():
            text = text.replace(word, value)
        path = tmp_path / path.name
        path.write_text(text)
    args = [
        *([target] if target else []),
        "-sf",
        str(path),
        "-m",
        "1",
        "-t",
        transport,
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-mp",
        str(free_port()),
        "-s",
        service,
        "-nostdin",
        "-timeout",
        f"{int(SIPP_TIMEOUT_S)}s",
        "-recv_timeout",
        "8000",
        "-trace_msg",
        "-message_file",
        str(messages),
        "-trace_err",
        "-error_file",
        str(errors),
        "-key",
        "caller",
        CALLER,
        *[arg for key, value in (keys or {}).items() for arg in ("-key", key, value)],
        *extra,
    ]
    process = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    if target is None:
        await _listening(
            process, port, socket.SOCK_DGRAM if transport == "u1" else socket.SOCK_STREAM
        )
    return Sipp(process, port, messages, errors)


async def _listening(process: asyncio.subprocess.Process, port: int, kind: int) -> None:
    """Until SIPp as a carrier has bound its SIP port: a call placed sooner would be refused."""
    async with asyncio.timeout(10):
        while True:
            assert process.returncode is None, f"sipp exited with {process.returncode} at start"
            sockets = psutil.Process(process.pid).net_connections(kind="inet")
            if any(s.laddr and s.laddr.port == port and s.type == kind for s in sockets):
                return
            await asyncio.sleep(0.02)


async def eventually(check: Any, within_s: float = 10.0) -> Any:
    """Poll `check()` (async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def route(
    lkapi: api.LiveKitAPI,
    *,
    allowed_addresses: Sequence[str] = ("127.0.0.1",),
    auth: tuple[str, str] | None = None,
    number: str = NUMBER,
) -> sip.SIPInboundTrunkInfo:
    """An inbound trunk for `number` and its rule: a room per caller with the agent dispatched."""
    trunk = await lkapi.sip.create_inbound_trunk(
        sip.CreateSIPInboundTrunkRequest(
            trunk=sip.SIPInboundTrunkInfo(
                name="carrier",
                numbers=[number],
                allowed_addresses=list(allowed_addresses),
                auth_username=auth[0] if auth else "",
                auth_password=auth[1] if auth else "",
            )
        )
    )
    await lkapi.sip.create_dispatch_rule(
        sip.CreateSIPDispatchRuleRequest(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")
            ),
            room_config=room.RoomConfiguration(
                agents=[agent_dispatch.RoomAgentDispatch(agent_name=AGENT)]
            ),
        )
    )
    return trunk


async def sip_participants(lk: RunningEmulator) -> list[dict[str, Any]]:
    """The SIP participants in rooms now."""
    state = await lk.control.state()
    return [p for p in state["participants"] if p["kind"] == "SIP"]


async def target_of(lk: RunningEmulator, transport: str = "udp") -> str:
    """The emulator's SIP address for SIPp."""
    ports = (await lk.control.sip())["ports"]
    return f"127.0.0.1:{ports[transport]}"


# --- carriers calling in ----------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_options_are_answered_200(
    lk: RunningEmulator, tmp_path: Path, transport: str
) -> None:
    kind = "udp" if transport == "u1" else "tcp"
    sipp = await start_sipp(
        tmp_path, "uac_options", target=await target_of(lk, kind), transport=transport
    )
    assert await sipp.finished() == 0, sipp.trace()
    answer = sipp.trace().split("SIP/2.0 200 OK")[1]
    assert "Allow:" not in answer.split("\n\n")[0]  # livekit/sip's bare 200


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_an_invite_from_an_allowed_source_reaches_a_room_with_the_agent_and_bye_ends_it(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path, transport: str
) -> None:
    trunk = await route(lkapi)
    kind = "udp" if transport == "u1" else "tcp"
    sipp = await start_sipp(
        tmp_path, "uac_call", target=await target_of(lk, kind), transport=transport
    )

    caller = (await eventually(lambda: sip_participants(lk)))[0]
    attributes = caller["attributes"]
    assert attributes["sip.phoneNumber"] == CALLER
    assert attributes["sip.trunkPhoneNumber"] == NUMBER
    assert attributes["sip.trunkID"] == trunk.sip_trunk_id
    assert attributes["sip.callID"].startswith("SCL_")
    assert caller["identity"] == f"sip_{CALLER}"
    state = await lk.control.state()
    dispatches = [d for d in state["agent_dispatches"] if d["room"] == caller["room_name"]]
    assert [d["agent_name"] for d in dispatches] == [AGENT]
    call_id = attributes["sip.callID"]
    call = await eventually(
        lambda: _call_if(lk, call_id, lambda c: c["status"] == "active"), within_s=5
    )
    assert call["sip"]["transport"] == ("UDP" if transport == "u1" else "TCP")
    assert call["sip"]["invite"]["request_uri"].startswith(f"sip:{NUMBER}@127.0.0.1")

    assert await sipp.finished() == 0, sipp.trace()
    ended = await eventually(lambda: _call_if(lk, call_id, lambda c: c["status"] == "hangup"))
    assert ended["ended_at_ms"] is not None
    assert await sip_participants(lk) == []
    # The 200 OK carried a G.711 answer and the SIP edge's own tag (the SCL_ call id).
    assert f"tag={call_id}" in sipp.trace()


async def _call_if(lk: RunningEmulator, call_id: str, test: Any) -> dict[str, Any] | None:
    call = await lk.control.call(call_id)
    return call if test(call) else None


async def test_an_invite_from_a_source_not_allowed_is_dropped_without_a_room(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    await route(lkapi, allowed_addresses=["10.0.0.0/8"])
    sipp = await start_sipp(tmp_path, "uac_dropped", target=await target_of(lk))
    assert await sipp.finished() == 0, sipp.trace()
    state = await lk.control.state()
    assert state["rooms"] == [] and state["calls"] == []


async def test_an_invite_to_an_unknown_number_is_dropped_without_a_room(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    await route(lkapi)
    sipp = await start_sipp(
        tmp_path, "uac_dropped", target=await target_of(lk), service="+12025550999"
    )
    assert await sipp.finished() == 0, sipp.trace()
    assert (await lk.control.state())["rooms"] == []


async def test_the_called_number_matches_in_its_other_spelling(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    await route(lkapi)
    sipp = await start_sipp(
        tmp_path, "uac_call", target=await target_of(lk), service=NUMBER.removeprefix("+")
    )
    caller = (await eventually(lambda: sip_participants(lk)))[0]
    assert caller["attributes"]["sip.trunkPhoneNumber"] == NUMBER.removeprefix("+")
    assert await sipp.finished() == 0, sipp.trace()


async def test_digest_credentials_of_the_trunk_get_the_call_in(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    await route(lkapi, allowed_addresses=(), auth=("carrier", "s3cret"))
    sipp = await start_sipp(
        tmp_path,
        "uac_auth",
        target=await target_of(lk),
        extra=["-au", "carrier", "-ap", "s3cret"],
    )
    await eventually(lambda: sip_participants(lk))
    assert await sipp.finished() == 0, sipp.trace()
    challenge = sipp.trace().split("SIP/2.0 407 Unauthorized")[1].split("\n\n")[0]
    assert 'Proxy-Authenticate: Digest realm="LiveKit"' in challenge
    assert "algorithm=MD5" in challenge


async def test_wrong_digest_credentials_are_refused_401_without_a_room(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    await route(lkapi, allowed_addresses=(), auth=("carrier", "s3cret"))
    sipp = await start_sipp(
        tmp_path,
        "uac_auth_refused",
        target=await target_of(lk),
        extra=["-au", "carrier", "-ap", "wrong"],
    )
    assert await sipp.finished() == 0, sipp.trace()
    assert "SIP/2.0 401 Unauthorized" in sipp.trace()
    assert (await lk.control.state())["rooms"] == []


async def test_cancel_before_the_answer_ends_the_call(tmp_path: Path) -> None:
    config = test_config()
    config = type(config)(**{**config.__dict__, "sip_answer_delay_s": 5.0})
    async with running_emulator(config) as lk:
        lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        try:
            await route(lkapi)
            sipp = await start_sipp(tmp_path, "uac_cancel", target=await target_of(lk))
            ringing = (await eventually(lambda: sip_participants(lk)))[0]
            assert ringing["attributes"]["sip.callStatus"] == "ringing"
            assert await sipp.finished() == 0, sipp.trace()
            call_id = ringing["attributes"]["sip.callID"]
            call = await eventually(lambda: _call_if(lk, call_id, lambda c: c["ended_at_ms"]))
            assert call["answered_at_ms"] is None
            assert await sip_participants(lk) == []
        finally:
            await lkapi.aclose()


async def test_tls_carries_options_and_an_invite(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await route(lkapi)
    port = (await lk.control.sip())["ports"]["tls"]
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the emulator's dev certificate
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    local_port = writer.get_extra_info("sockname")[1]
    try:
        writer.write(_request("OPTIONS", port, local_port, "opt-1"))
        assert (await _read_response(reader)).startswith("SIP/2.0 200 OK")
        writer.write(_request("INVITE", port, local_port, "inv-1", sdp=True))
        codes: list[int] = []
        while not codes or codes[-1] < 200:
            codes.append(int((await _read_response(reader)).split(" ")[1]))
        assert codes == [100, 180, 200]
        caller = (await sip_participants(lk))[0]
        call = await lk.control.call(caller["attributes"]["sip.callID"])
        assert call["sip"]["transport"] == "TLS"
    finally:
        writer.close()


def _request(method: str, port: int, local_port: int, call_id: str, *, sdp: bool = False) -> bytes:
    body = (
        b"v=0\r\no=c 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
        if sdp
        else b""
    )
    head = (
        f"{method} sip:{NUMBER}@127.0.0.1:{port};transport=tls SIP/2.0\r\n"
        f"Via: SIP/2.0/TLS 127.0.0.1:{local_port};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:{CALLER}@127.0.0.1>;tag=t{call_id}\r\n"
        f"To: <sip:{NUMBER}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
        + ("Content-Type: application/sdp\r\n" if sdp else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> str:
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode()
    length = next(
        (
            int(line.split(":")[1])
            for line in head.split("\r\n")
            if line.startswith("Content-Length")
        ),
        0,
    )
    if length:
        await reader.readexactly(length)
    return head


async def test_the_control_api_checks_source_and_credentials_when_given(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    from livekit_emulator.testing import ControlError

    await route(lkapi, allowed_addresses=["192.0.2.0/24"], auth=("carrier", "s3cret"))
    with pytest.raises(ControlError) as refused:
        await lk.control.inbound_call(CALLER, NUMBER, source_address="198.51.100.7")
    assert refused.value.status_code == 404
    with pytest.raises(ControlError) as wrong:
        await lk.control.inbound_call(
            CALLER, NUMBER, source_address="192.0.2.7", auth_username="carrier", auth_password="x"
        )
    assert wrong.value.status_code == 401
    assert (await lk.control.state())["rooms"] == []
    call = await lk.control.inbound_call(
        CALLER, NUMBER, source_address="192.0.2.7", auth_username="carrier", auth_password="s3cret"
    )
    assert call.agent_dispatch_ids
    # Without them: a call that reached the SIP service past those checks, as before.
    assert (await lk.control.inbound_call("+15550143", NUMBER)).room_name


# --- the emulator dialling carriers -------------------------------------------------------------


async def outbound_trunk(
    lkapi: api.LiveKitAPI,
    port: int,
    *,
    transport: int = sip.SIPTransport.SIP_TRANSPORT_AUTO,
    auth: tuple[str, str] | None = None,
    headers: dict[str, str] | None = None,
    number: str = NUMBER,
) -> sip.SIPOutboundTrunkInfo:
    """An outbound trunk whose address is SIPp's."""
    return await lkapi.sip.create_outbound_trunk(
        sip.CreateSIPOutboundTrunkRequest(
            trunk=sip.SIPOutboundTrunkInfo(
                name="carrier",
                address=f"127.0.0.1:{port}",
                numbers=[number],
                transport=transport,  # type: ignore[arg-type]
                auth_username=auth[0] if auth else "",
                auth_password=auth[1] if auth else "",
                headers=headers or {},
            )
        )
    )


def dial(
    trunk: sip.SIPOutboundTrunkInfo, to: str, *, ringing_timeout_s: int = 10
) -> sip.CreateSIPParticipantRequest:
    """CreateSIPParticipant waiting for the answer."""
    request = sip.CreateSIPParticipantRequest(
        sip_trunk_id=trunk.sip_trunk_id,
        sip_call_to=to,
        room_name="out-room",
        participant_identity="callee",
        wait_until_answered=True,
    )
    request.ringing_timeout.seconds = ringing_timeout_s
    return request


@pytest.fixture
async def uas(tmp_path: Path) -> AsyncIterator[list[Sipp]]:
    """SIPp carriers started by a test, killed if still running after it."""
    started: list[Sipp] = []
    yield started
    for sipp in started:
        if sipp.process.returncode is None:
            sipp.process.kill()
            await sipp.process.wait()


@pytest.mark.parametrize(
    ("transport", "sipp_transport", "uri_param"),
    [
        (sip.SIPTransport.SIP_TRANSPORT_AUTO, "u1", ""),
        (sip.SIPTransport.SIP_TRANSPORT_UDP, "u1", ";transport=udp"),
        (sip.SIPTransport.SIP_TRANSPORT_TCP, "t1", ";transport=tcp"),
    ],
)
async def test_an_answered_call_is_active_and_removing_the_participant_sends_bye(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    tmp_path: Path,
    uas: list[Sipp],
    transport: int,
    sipp_transport: str,
    uri_param: str,
) -> None:
    carrier = await start_sipp(tmp_path, "uas_answer", transport=sipp_transport)
    uas.append(carrier)
    trunk = await outbound_trunk(
        lkapi, carrier.port, transport=transport, headers={"X-Carrier-Account": "acme-7"}
    )
    info = await lkapi.sip.create_sip_participant(dial(trunk, "+15550100"))
    participant = await lkapi.room.get_participant(
        room.RoomParticipantIdentity(room="out-room", identity="callee")
    )
    assert participant.attributes["sip.callStatus"] == "active"

    invite = carrier.received("INVITE")[0]
    assert f"INVITE sip:+15550100@127.0.0.1:{carrier.port}{uri_param} SIP/2.0" in invite
    assert f"To: <sip:+15550100@127.0.0.1:{carrier.port}{uri_param}>" in invite
    assert f'From: "{NUMBER}" <sip:{NUMBER}@127.0.0.1{uri_param}>;tag=' in invite
    assert "X-Carrier-Account: acme-7" in invite
    call = await lk.control.call(info.sip_call_id)
    sent = call["sip"]["invites"][0]
    assert sent["headers"]["X-Carrier-Account"] == "acme-7"
    assert sent["request_uri"] == f"sip:+15550100@127.0.0.1:{carrier.port}{uri_param}"

    await lkapi.room.remove_participant(
        room.RoomParticipantIdentity(room="out-room", identity="callee")
    )
    assert await carrier.finished() == 0, carrier.trace()
    assert len(carrier.received("BYE")) == 1


async def test_the_number_is_sent_as_written_with_or_without_plus_or_a_prefix(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path, uas: list[Sipp]
) -> None:
    carrier = await start_sipp(tmp_path, "uas_answer")
    uas.append(carrier)
    trunk = await outbound_trunk(lkapi, carrier.port, number="12025550123")
    await lkapi.sip.create_sip_participant(dial(trunk, "0015550100"))
    invite = carrier.received("INVITE")[0]
    assert f"INVITE sip:0015550100@127.0.0.1:{carrier.port} SIP/2.0" in invite
    assert '"12025550123" <sip:12025550123@127.0.0.1>' in invite
    await lkapi.room.delete_room(room.DeleteRoomRequest(room="out-room"))
    assert await carrier.finished() == 0, carrier.trace()


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (486, "Busy Here", "resource_exhausted"),
        (603, "Decline", "permission_denied"),
        (402, "Payment Required", "permission_denied"),
        (404, "Not Found", "not_found"),
        (408, "Request Timeout", "deadline_exceeded"),
    ],
)
async def test_a_final_failure_maps_to_livekits_error(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    tmp_path: Path,
    uas: list[Sipp],
    status: int,
    reason: str,
    code: str,
) -> None:
    carrier = await start_sipp(
        tmp_path, "uas_reject", written={"FINAL_CODE": str(status), "FINAL_REASON": reason}
    )
    uas.append(carrier)
    trunk = await outbound_trunk(lkapi, carrier.port)
    with pytest.raises(api.TwirpError) as failed:
        await lkapi.sip.create_sip_participant(dial(trunk, "+15550100"))
    assert failed.value.code == code
    assert failed.value.metadata["sip_status_code"] == str(status)
    assert failed.value.metadata["sip_status"] == reason
    prefix = "INVITE failed" if status in (404, 486) else "unexpected status from INVITE response"
    assert f"{prefix}: sip status: {status}: {reason}" in failed.value.message
    assert await carrier.finished() == 0, carrier.trace()
    call = (await lk.control.state())["calls"][0]
    assert call["status"] == "failed" and call["sip_status_code"] == status
    assert await sip_participants(lk) == []


async def test_no_answer_is_cancelled_at_the_ringing_timeout(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path, uas: list[Sipp]
) -> None:
    carrier = await start_sipp(tmp_path, "uas_no_answer")
    uas.append(carrier)
    trunk = await outbound_trunk(lkapi, carrier.port)
    with pytest.raises(api.TwirpError) as failed:
        await lkapi.sip.create_sip_participant(dial(trunk, "+15550100", ringing_timeout_s=1))
    assert failed.value.code == "canceled"
    assert "sip request timed out" in failed.value.message
    assert await carrier.finished() == 0, carrier.trace()
    assert len(carrier.received("CANCEL")) == 1


async def test_a_401_challenge_is_answered_with_the_trunks_credentials(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path, uas: list[Sipp]
) -> None:
    carrier = await start_sipp(
        tmp_path, "uas_challenge", written={"AUTH_USER": "acme", "AUTH_PASS": "t0p-secret"}
    )
    uas.append(carrier)
    trunk = await outbound_trunk(lkapi, carrier.port, auth=("acme", "t0p-secret"))
    info = await lkapi.sip.create_sip_participant(dial(trunk, "+15550100"))
    second = carrier.received("INVITE")[1]
    assert 'Authorization: Digest username="acme", realm="carrier.test"' in second
    assert "qop=auth" in second and "CSeq: 2 INVITE" in second
    call = await lk.control.call(info.sip_call_id)
    assert call["status"] == "active"  # SIPp's verifyauth accepted the digest: 200, not 403
    assert [r["code"] for r in call["sip"]["invites"][0]["responses"]] == [401]
    await lkapi.room.remove_participant(
        room.RoomParticipantIdentity(room="out-room", identity="callee")
    )
    assert await carrier.finished() == 0, carrier.trace()


async def test_a_407_challenge_is_answered_with_proxy_authorization(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, tmp_path: Path, uas: list[Sipp]
) -> None:
    carrier = await start_sipp(tmp_path, "uas_proxy_challenge")
    uas.append(carrier)
    trunk = await outbound_trunk(lkapi, carrier.port, auth=("acme", "t0p-secret"))
    await lkapi.sip.create_sip_participant(dial(trunk, "+15550100"))
    second = carrier.received("INVITE")[1]
    line = next(x for x in second.splitlines() if x.startswith("Proxy-Authorization: Digest "))
    pairs = (p.split("=", 1) for p in line.removeprefix("Proxy-Authorization: Digest ").split(","))
    fields = {k.strip(): v.strip().strip('"') for k, v in pairs}
    assert fields["username"] == "acme" and fields["realm"] == "proxy.test"
    assert "qop" not in fields  # none was offered

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("acme:proxy.test:t0p-secret"), md5(f"INVITE:{fields['uri']}")
    assert fields["response"] == md5(f"{ha1}:{fields['nonce']}:{ha2}")
    assert fields["uri"] == f"sip:+15550100@127.0.0.1:{carrier.port}"  # the To URI
    await lkapi.room.remove_participant(
        room.RoomParticipantIdentity(room="out-room", identity="callee")
    )
    assert await carrier.finished() == 0, carrier.trace()


async def test_trunks_elsewhere_still_play_the_programmed_outcomes(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await lkapi.sip.create_outbound_trunk(
        sip.CreateSIPOutboundTrunkRequest(
            trunk=sip.SIPOutboundTrunkInfo(
                name="carrier", address="trunk.example.com", numbers=[NUMBER]
            )
        )
    )
    await lk.control.set_outcome("+15550100", sip_status_code=486)
    with pytest.raises(api.TwirpError) as failed:
        await lkapi.sip.create_sip_participant(dial(trunk, "+15550100"))
    assert failed.value.metadata["sip_status_code"] == "486"
    call = (await lk.control.state())["calls"][0]
    assert call["sip"] is None
