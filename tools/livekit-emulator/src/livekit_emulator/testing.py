"""Helpers for other services' tests: run an emulator on a free port and drive it.

async with running_emulator(webhook_urls=[url]) as lk:
    api = LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    await lk.control.set_outcome("+15550100", sip_status_code=486)
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, NamedTuple

import httpx
import uvicorn

from livekit_emulator.app import create_app
from livekit_emulator.config import DEV_API_KEY, DEV_API_SECRET, EmulatorConfig
from livekit_emulator.control import InboundCallOut
from livekit_emulator.errors import EmulatorError
from livekit_emulator.main import bind
from livekit_emulator.runtime import Emulator

STARTUP_TIMEOUT_S = 10.0


class ControlError(EmulatorError):
    """A control API request that did not succeed; carries the status and JSON body."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"{status_code}: {body}")
        self.status_code = status_code
        self.body = body


class EmulatorControl:
    """A client of the control API (`/emulator/...`)."""

    def __init__(self, base_url: str, emulator: Emulator | None = None) -> None:
        self.base_url = base_url
        # The in-process emulator when there is one, for assertions the HTTP view does not give.
        self.emulator = emulator
        self._client = httpx.AsyncClient(base_url=base_url, timeout=10.0)

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._client.post(path, json=body or {})
        if response.status_code >= 300:
            raise ControlError(response.status_code, response.json())
        return response.json()

    async def state(self) -> dict[str, Any]:
        """`GET /emulator/state`."""
        response = await self._client.get("/emulator/state")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def set_outcome(
        self,
        number: str,
        *,
        sip_status_code: int = 200,
        ring_ms: int = 0,
        no_answer: bool = False,
        reason: str | None = None,
        unreachable: bool = False,
        script: Sequence[dict[str, Any]] = (),
        answered_by: str = "human",
    ) -> None:
        """Program how the far end answers calls to `number` (and what the person says)."""
        body: dict[str, Any] = {
            "number": number,
            "sip_status_code": sip_status_code,
            "ring_ms": ring_ms,
            "no_answer": no_answer,
            "unreachable": unreachable,
            "script": list(script),
            "answered_by": answered_by,
        }
        if reason is not None:
            body["reason"] = reason
        await self._post("/emulator/outcomes", body)

    async def inbound_call(
        self,
        from_number: str,
        to_number: str,
        *,
        pin: str = "",
        script: Sequence[dict[str, Any]] = (),
        source_address: str | None = None,
        auth_username: str | None = None,
        auth_password: str | None = None,
    ) -> InboundCallOut:
        """A carrier INVITE; raises `ControlError` (404) when no trunk or rule matches, 401 for
        wrong credentials. The caller follows `script` (see the README's control API)."""
        body: dict[str, Any] = {"from_number": from_number, "to_number": to_number}
        for name, value in (
            ("source_address", source_address),
            ("auth_username", auth_username),
            ("auth_password", auth_password),
        ):
            if value is not None:
                body[name] = value
        if pin:
            body["pin"] = pin
        if script:
            body["script"] = list(script)
        return InboundCallOut.model_validate(await self._post("/emulator/inbound-calls", body))

    async def hangup(self, sip_call_id: str) -> dict[str, Any]:
        """The far end hangs up the call."""
        result: dict[str, Any] = await self._post(f"/emulator/calls/{sip_call_id}/hangup")
        return result

    async def call(self, sip_call_id: str) -> dict[str, Any]:
        """`GET /emulator/calls/{id}`: the call and what its person heard and did."""
        response = await self._client.get(f"/emulator/calls/{sip_call_id}")
        if response.status_code >= 300:
            raise ControlError(response.status_code, response.json())
        result: dict[str, Any] = response.json()
        return result

    async def audio(self, sip_call_id: str) -> bytes:
        """A WAV of what the call's person heard."""
        response = await self._client.get(f"/emulator/calls/{sip_call_id}/audio")
        if response.status_code >= 300:
            raise ControlError(response.status_code, response.json())
        return response.content

    async def say(self, sip_call_id: str, text: str) -> dict[str, Any]:
        """The call's person says `text` now."""
        result: dict[str, Any] = await self._post(
            f"/emulator/calls/{sip_call_id}/say", {"text": text}
        )
        return result

    async def press(self, sip_call_id: str, digits: str) -> None:
        """The call's person presses keys now."""
        await self._post(f"/emulator/calls/{sip_call_id}/dtmf", {"digits": digits})

    async def set_faults(
        self, *, unavailable: bool = False, latency_ms: int = 0, refuse_joins: bool = False
    ) -> None:
        """Replace the injected faults."""
        await self._post(
            "/emulator/faults",
            {"unavailable": unavailable, "latency_ms": latency_ms, "refuse_joins": refuse_joins},
        )

    async def sip(self) -> dict[str, Any]:
        """`GET /emulator/sip`: `enabled`, `host` and the bound `ports` (`udp`, `tcp`, `tls`)."""
        response = await self._client.get("/emulator/sip")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def reset(self) -> None:
        """Forget every resource, call, outcome and fault."""
        await self._post("/emulator/reset")

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


class RunningEmulator(NamedTuple):
    """A started emulator: unpack as `url, api_key, api_secret, control`."""

    url: str
    api_key: str
    api_secret: str
    control: EmulatorControl


def test_config(
    *,
    api_key: str = DEV_API_KEY,
    api_secret: str = DEV_API_SECRET,
    webhook_urls: Sequence[str] = (),
    departure_timeout_s: float = 0.0,
    default_ringing_timeout_s: float = 30.0,
    recordings_dir: str | None = None,
) -> EmulatorConfig:
    """A configuration for tests: fast webhook retries, port chosen at bind time, recordings in
    a fresh temporary directory unless told where."""
    return EmulatorConfig(
        recordings_dir=recordings_dir or tempfile.mkdtemp(prefix="livekit-emulator-recordings-"),
        port=0,
        api_key=api_key,
        api_secret=api_secret,
        webhook_urls=tuple(webhook_urls),
        departure_timeout_s=departure_timeout_s,
        default_ringing_timeout_s=default_ringing_timeout_s,
        webhook_retry_base_s=0.05,
        sip_port=0,
        sip_tls_port=0,
    )


test_config.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@contextlib.asynccontextmanager
async def running_emulator(
    config: EmulatorConfig | None = None,
    *,
    webhook_urls: Sequence[str] = (),
    api_key: str = DEV_API_KEY,
    api_secret: str = DEV_API_SECRET,
) -> AsyncIterator[RunningEmulator]:
    """Run an emulator in this event loop on a free port; stop it (gracefully) on exit."""
    config = config or test_config(
        api_key=api_key, api_secret=api_secret, webhook_urls=webhook_urls
    )
    emulator = Emulator(config)
    sock = bind(config.host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, emulator), log_config=None, lifespan="on", access_log=False
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    control = EmulatorControl(f"http://{config.host}:{port}", emulator)
    try:
        await _wait_started(server, task)
        yield RunningEmulator(
            f"http://{config.host}:{port}", config.api_key, config.api_secret, control
        )
    finally:
        server.should_exit = True
        await control.aclose()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("livekit emulator stopped during startup")
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("livekit emulator did not start")
        await asyncio.sleep(0.005)


@contextlib.contextmanager
def emulator_in_thread(config: EmulatorConfig | None = None) -> Iterator[RunningEmulator]:
    """Run an emulator in a background thread (its own event loop), for synchronous fixtures."""
    config = config or test_config()
    emulator = Emulator(config)
    sock = bind(config.host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config, emulator), log_config=None, lifespan="on", access_log=False
        )
    )
    # uvicorn installs signal handlers only in the main thread, so this one leaves them alone.
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = threading.Event()
    for _ in range(int(STARTUP_TIMEOUT_S / 0.005)):
        if server.started or not thread.is_alive():
            break
        deadline.wait(0.005)
    if not server.started:
        raise RuntimeError("livekit emulator did not start")
    url = f"http://{config.host}:{port}"
    try:
        yield RunningEmulator(url, config.api_key, config.api_secret, EmulatorControl(url))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
