"""Helpers for tests of trunk-sync: running replicas and waiting on the LiveKit emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from livekit_emulator.testing import EmulatorControl, RunningEmulator
from numbers_api.config import Settings as NumbersSettings
from numbers_api.main import MIGRATIONS as NUMBERS_MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.crypto import generate_key
from tests.support.databases import DatabaseFactory
from tests.support.numbers_api import Api, TokenFactory
from tests.support.servers import serve_asgi
from trunk_sync.config import Settings

JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnop"
INTERNAL_TOKEN = "test-internal-token-0123456789abcdef"
PASSWORD = "pa55-word-never-logged-7d1c"
NUMBER = "+12025550123"


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


@contextlib.asynccontextmanager
async def running_numbers_api(
    database_factory: DatabaseFactory, nats_url: str, **overrides: Any
) -> AsyncIterator[Api]:
    """A real numbers-api (production mode, a fresh database) on a free port, connected to the
    bus. The one place trunk-sync's tests build it: they reach it through `Api` and the bus."""
    database_url = await database_factory(NUMBERS_MIGRATIONS)
    settings = numbers_settings(database_url, nats_url).model_copy(update=overrides)
    app = create_numbers_app(settings)
    async with (
        serve_asgi(app) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=10) as http,
    ):
        client = Api(base_url=base_url, http=http, token=token_factory(), app=app)
        await client.wait_bus_ready()
        yield client


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


async def sync_of(api: Api, number_id: str) -> dict[str, Any]:
    """The number's `sync` as numbers-api shows it."""
    response = await api.request("GET", f"/phone-numbers/{number_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["sync"])


async def synced_at_version(api: Api, number_id: str) -> dict[str, Any]:
    """Wait until numbers-api shows the number synced at its current version."""

    async def check() -> dict[str, Any] | None:
        response = await api.request("GET", f"/phone-numbers/{number_id}")
        body = dict(response.json())
        return body if body["sync"]["state"] == "synced" else None

    result: dict[str, Any] = await eventually(check)
    return result


async def converged(lk: RunningEmulator, inbound: int, outbound: int, rules: int) -> Any:
    """Wait until the emulator holds exactly that many resources; return them."""

    async def check() -> dict[str, list[dict[str, Any]]] | None:
        state = await sip_state(lk.control)
        counts = (len(state["inbound"]), len(state["outbound"]), len(state["rules"]))
        return state if counts == (inbound, outbound, rules) else None

    return await eventually(check)


async def create_number(api: Api, phone_number: str = NUMBER, **kw: Any) -> dict[str, Any]:
    """A number with a termination URI and credentials."""
    return await api.number(
        phone_number,
        termination_uri=kw.pop("termination_uri", "acme.pstn.twilio.com"),
        sip_username=kw.pop("sip_username", "acme"),
        sip_password=kw.pop("sip_password", PASSWORD),
        **kw,
    )
