"""Helpers for tests of trunk-sync: running replicas and waiting on the LiveKit emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from livekit_emulator.testing import EmulatorControl, RunningEmulator
from numbers_api.config import Settings as NumbersSettings
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.crypto import generate_key
from tests.support.numbers_api import TokenFactory
from trunk_sync.config import Settings

JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop"
INTERNAL_TOKEN = "test-internal-token-0123456789abcdef"


@dataclass
class TrunkSync:
    """A running trunk-sync."""

    base_url: str
    app: Any
    settings: Any


StartSync = Callable[..., Awaitable[TrunkSync]]


async def eventually(
    check: Callable[[], Awaitable[Any]], within_s: float = 10.0, every_s: float = 0.02
) -> Any:
    """Call `check` until it returns a truthy value (returned) or raises no AssertionError."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    last: BaseException | None = None
    while loop.time() < deadline:
        try:
            result = await check()
        except AssertionError as exc:
            last = exc
        else:
            if result:
                return result
        await asyncio.sleep(every_s)
    raise AssertionError(f"not within {within_s} s: {last}")


async def sip_state(control: EmulatorControl) -> dict[str, list[dict[str, Any]]]:
    """The emulator's trunks and dispatch rules."""
    state = await control.state()
    return {
        "inbound": state["inbound_trunks"],
        "outbound": state["outbound_trunks"],
        "rules": state["dispatch_rules"],
    }


def numbers_settings(database_url: str, nats_url: str) -> NumbersSettings:
    """numbers-api in production mode against the test database and bus."""
    return NumbersSettings(
        dev_mode=False,
        database_url=database_url,
        nats_url=nats_url,
        auth_jwt_secret=JWT_SECRET,
        fernet_keys=generate_key(),
        internal_api_token=INTERNAL_TOKEN,
        log_format="console",
    )


def sync_settings(api_url: str, nats_url: str, lk: RunningEmulator, **overrides: Any) -> Settings:
    """trunk-sync in production mode; the periodic reconcile is left to the tests to call."""
    values: dict[str, Any] = {
        "dev_mode": False,
        "nats_url": nats_url,
        "numbers_api_url": api_url,
        "internal_api_token": INTERNAL_TOKEN,
        "livekit_url": lk.url,
        "livekit_api_key": lk.api_key,
        "livekit_api_secret": lk.api_secret,
        "reconcile_interval_s": 60,
        "retry_base_s": 0.05,
        "retry_max_s": 0.2,
        "max_deliveries": 4,
        "log_format": "console",
        # The tests' carrier hosts (acme.pstn.twilio.com...) do not resolve offline.
        "allow_private_sip_destinations": True,
    }
    values.update(overrides)
    return Settings(**values)


def token_factory() -> TokenFactory:
    """Sign a user token: `token("org_a", Role.OWNER)`."""

    def make(org_id: str = "org_a", role: Role = Role.OWNER, sub: str = "user-1") -> str:
        return issue_hs256_token(JWT_SECRET, sub=sub, org_id=org_id, role=role)

    return make


async def wait_ready(base_url: str) -> None:
    """Until `/readyz` answers 200."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(500):
            response = await http.get("/readyz")
            if response.status_code == 200:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"{base_url} never became ready: {response.text}")
