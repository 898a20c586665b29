"""`POST /phone-numbers/{id}/check` and the periodic re-check: the trunk doctor's report stored on
the number and published, against SIPp as the carrier on loopback (private SIP destinations are
allowed in these settings, as a lab would)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from numbers_api import handlers
from numbers_api.config import Settings
from talkifai_common.auth import Role
from tests.support.numbers_api import Api, BusRecorder
from tests.support.sip import answer, scenario, sipp_carrier

ANSWER_200 = scenario('<recv request="OPTIONS"/>', answer("200 OK"))
PASSWORD = "out-s3cret-9"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Loopback carriers are private destinations: allowed here, with short probe steps."""
    return settings.model_copy(
        update={"allow_private_sip_destinations": True, "trunk_check_timeout_s": 1.0}
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_healthy_carrier_is_reported_stored_and_published(
    api: Api, bus: BusRecorder, tmp_path: Path
) -> None:
    async with sipp_carrier(tmp_path, ANSWER_200, transport="u1") as carrier:
        number = await api.number(
            termination_uri=f"127.0.0.1:{carrier.port}",
            sip_transport="udp",
            sip_username="acme",
            sip_password=PASSWORD,
        )
        response = await api.request("POST", f"/phone-numbers/{number['id']}/check")
    assert response.status_code == 200, response.text
    check = response.json()
    assert check["verdict"] == "healthy", check["summary"]
    assert check["target"] == f"127.0.0.1:{carrier.port} over udp"
    assert [s["name"] for s in check["steps"]] == ["dns", "connect", "tls", "options", "auth"]
    assert check["round_trip_ms"] > 0
    shown = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
    assert shown["last_check"] == check
    assert shown["version"] == number["version"]  # a check is not a change of the number
    [event] = await bus.wait_for(1, "telephony.phone_number.checked")
    assert event["data"] == {
        "phone_number_id": number["id"],
        "phone_number": number["phone_number"],
        "check": check,
    }
    assert all(PASSWORD.encode() not in m.data for m in bus.messages)


async def test_a_closed_port_is_failing_with_its_fix(api: Api) -> None:
    port = closed_port()
    number = await api.number(termination_uri=f"127.0.0.1:{port}", sip_transport="tcp")
    response = await api.request("POST", f"/phone-numbers/{number['id']}/check")
    assert response.status_code == 200, response.text
    check = response.json()
    assert check["verdict"] == "failing"
    [connect] = [s for s in check["steps"] if s["name"] == "connect"]
    assert connect["status"] == "failed"
    assert f"nothing answers on 127.0.0.1:{port}" in connect["fix"]


async def test_checks_are_for_managers_of_the_numbers_organization_with_a_termination_uri(
    api: Api,
) -> None:
    number = await api.number()
    path = f"/phone-numbers/{number['id']}/check"
    response = await api.request("POST", path)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "termination_uri"
    assert (await api.request("POST", path, role=Role.MEMBER)).status_code == 403
    assert (await api.request("POST", path, org_id="org_b")).status_code == 404
    assert (await api.request("POST", "/phone-numbers/pn_missing/check")).status_code == 404


async def test_due_numbers_are_rechecked_then_not_again_until_the_interval_passes(
    api: Api, settings: Settings, bus: BusRecorder
) -> None:
    ctx = api.app.state.context
    port = closed_port()
    number = await api.number(termination_uri=f"127.0.0.1:{port}", sip_transport="tcp")
    await api.number("+12025550199")  # no termination URI: nothing to check
    # A new number is first due an interval after its creation: nothing yet.
    assert await handlers.recheck_due(ctx.store, ctx.box, settings) == 0
    # With the interval passed, a pass claims the due numbers (SKIP LOCKED: a replica's
    # concurrent pass skips them) and sets the next check an interval away.
    due = settings.model_copy(update={"trunk_check_interval_s": 0.5})
    await asyncio.sleep(0.6)
    first = await handlers.recheck_due(ctx.store, ctx.box, due)
    second = await handlers.recheck_due(ctx.store, ctx.box, due)
    assert (first, second) == (1, 0)  # checked, and not due again for the interval
    shown = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
    assert shown["last_check"]["verdict"] == "failing"
    await bus.wait_for(1, "telephony.phone_number.checked")
