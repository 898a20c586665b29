"""trunk-sync checks the address LiveKit will dial before it writes an outbound trunk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from livekit_emulator.testing import RunningEmulator
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api
from tests.support.trunk_sync import (
    StartSync,
    eventually,
    running_numbers_api,
    sip_state,
)


@pytest.fixture
async def api(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[Api]:
    """numbers-api that accepts private termination hosts (as a number saved before the guard,
    or a numbers-api configured differently from trunk-sync, would have)."""
    async with running_numbers_api(
        database_factory, clean_stream, allow_private_sip_destinations=True
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("termination_uri", "address"),
    [("127.0.0.1:5060", "127.0.0.1"), ("100.100.100.200", "100.100.100.200")],
)
async def test_a_non_public_termination_host_is_a_sync_failure_and_no_trunk(
    api: Api, start_sync: StartSync, lk: RunningEmulator, termination_uri: str, address: str
) -> None:
    await start_sync(allow_private_sip_destinations=False)
    number = await api.number(
        "+12025550123", termination_uri=termination_uri, sip_username="u", sip_password="p" * 12
    )

    async def failed() -> dict[str, Any] | None:
        response = await api.request("GET", f"/phone-numbers/{number['id']}")
        sync = dict(response.json()["sync"])
        return sync if sync["state"] == "failed" else None

    sync = await eventually(failed)
    assert f"Termination URI must be a globally routable address, not {address}" in sync["error"]
    assert (await sip_state(lk.control))["outbound"] == []
