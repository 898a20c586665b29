"""Injected faults, the control API's own validation, and the command line."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from livekit import api
from livekit.protocol import sip

from livekit_emulator.config import EmulatorConfig
from livekit_emulator.main import parse_args
from livekit_emulator.testing import (
    RunningEmulator,
    emulator_in_thread,
    running_emulator,
    test_config,
)


async def test_unavailable_server_fails_every_twirp_call_with_503(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await lk.control.set_faults(unavailable=True)
    with pytest.raises(api.TwirpError) as caught:
        await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    assert (caught.value.code, caught.value.status) == ("unavailable", 503)
    assert (await lk.control.state())["faults"] == {
        "unavailable": True,
        "latency_ms": 0,
        "refused": 1,
        "held": 0,
        "refuse_joins": False,
        "joins_refused": 0,
    }
    await lk.control.set_faults()
    assert (await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())).items == []


async def test_latency_delays_every_twirp_call(lk: RunningEmulator, lkapi: api.LiveKitAPI) -> None:
    await lk.control.set_faults(latency_ms=80)
    started = time.perf_counter()
    await lkapi.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    assert time.perf_counter() - started >= 0.08


async def test_a_slow_server_still_carries_out_a_request_whose_caller_gave_up(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await lk.control.set_faults(latency_ms=300)
    create = lkapi.sip.create_inbound_trunk(
        sip.CreateSIPInboundTrunkRequest(
            trunk=sip.SIPInboundTrunkInfo(name="late", numbers=["+12025550199"])
        )
    )
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await create

    async def landed() -> list[dict[str, object]]:
        return list((await lk.control.state())["inbound_trunks"])

    for _ in range(200):
        if trunks := await landed():
            break
        await asyncio.sleep(0.02)
    await lk.control.set_faults()
    assert [t["name"] for t in trunks] == ["late"]


async def test_a_request_held_back_across_a_reset_is_not_carried_out_after_it(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    await lk.control.set_faults(latency_ms=10_000)
    create = asyncio.ensure_future(
        lkapi.sip.create_inbound_trunk(
            sip.CreateSIPInboundTrunkRequest(
                trunk=sip.SIPInboundTrunkInfo(name="before reset", numbers=["+12025550199"])
            )
        )
    )

    async def held() -> bool:
        return bool((await lk.control.state())["faults"]["held"] == 1)

    for _ in range(500):  # until the request is in the emulator, waiting out its latency
        if await held():
            break
        await asyncio.sleep(0.01)
    await lk.control.reset()  # as another test's setup does: a fresh server

    with pytest.raises(api.TwirpError) as caught:
        await create
    assert caught.value.code == "unavailable"
    assert (await lk.control.state())["inbound_trunks"] == []


async def test_control_api_rejects_bad_bodies(lk: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=lk.url) as client:
        response = await client.post(
            "/emulator/outcomes", json={"number": "+1", "sip_status_code": 99}
        )
    assert response.status_code == 422


async def test_state_lists_every_kind_of_resource(lk: RunningEmulator) -> None:
    state = await lk.control.state()
    assert set(state) == {
        "inbound_trunks",
        "outbound_trunks",
        "dispatch_rules",
        "rooms",
        "participants",
        "agent_dispatches",
        "egresses",
        "workers",
        "jobs",
        "calls",
        "faults",
    }


def test_command_line_overrides_the_environment() -> None:
    base = EmulatorConfig.from_env(
        {
            "LIVEKIT_EMULATOR_PORT": "7999",
            "LIVEKIT_API_KEY": "k",
            "LIVEKIT_WEBHOOK_URLS": "http://a, http://b",
        }
    )
    assert (base.port, base.api_key, base.webhook_urls) == (7999, "k", ("http://a", "http://b"))
    config, level = parse_args(
        ["--port", "7880", "--webhook-url", "http://c", "--log-level", "debug"], base
    )
    assert (config.port, config.api_key, config.webhook_urls, level) == (
        7880,
        "k",
        ("http://c",),
        "debug",
    )


def test_emulator_runs_in_a_thread_for_synchronous_fixtures() -> None:
    with emulator_in_thread(test_config()) as running:
        assert httpx.get(running.url + "/healthz").json() == {"status": "ok"}


def test_a_callee_script_file_is_read_and_checked(tmp_path: Path) -> None:
    script = tmp_path / "callee.json"
    script.write_text('[{"say": "Hello?"}, {"wait_for_silence_ms": 800}, {"hangup": true}]')
    config, _ = parse_args(["--callee-script", str(script)], EmulatorConfig())
    assert config.default_callee_script == (
        {"say": "Hello?"},
        {"wait_for_silence_ms": 800},
        {"hangup": True},
    )
    script.write_text('[{"sing": "la"}]')
    with pytest.raises(SystemExit) as caught:
        parse_args(["--callee-script", str(script)], EmulatorConfig())
    assert "--callee-script" in str(caught.value)


async def test_callees_of_unprogrammed_numbers_follow_the_default_script() -> None:
    config = replace(test_config(), default_callee_script=({"say": "Hello?"},))
    async with running_emulator(config) as lk:
        lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        try:
            trunk = await lkapi.sip.create_outbound_trunk(
                sip.CreateSIPOutboundTrunkRequest(
                    trunk=sip.SIPOutboundTrunkInfo(
                        name="out", address="sip.example.com", numbers=["+12025550123"]
                    )
                )
            )
            info = await lkapi.sip.create_sip_participant(
                sip.CreateSIPParticipantRequest(
                    sip_trunk_id=trunk.sip_trunk_id, sip_call_to="+15550100", room_name="r"
                )
            )
        finally:
            await lkapi.aclose()
        call = await lk.control.call(info.sip_call_id)
        assert call["person"]["steps"][0]["step"] == {"say": "Hello?"}
