"""Property-based fuzzing of both public OpenAPI documents with schemathesis (every check).

numbers-api and call-orchestrator run for real (uvicorn, PostgreSQL, nats-server, the LiveKit
emulator); schemathesis' CLI runs in a subprocess against them with an owner's (numbers-api) or a
member's (call-orchestrator) token, through every phase: the documents' examples, coverage,
random fuzzing and stateful sequences along the documents' links. `GET /events` never ends, so it
is left out. The target is no failure at all: no server error, no response outside its document.
The figures (cases run, failures) are printed; `-m fuzz` selects this suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
from livekit import api as lkapi

from call_orchestrator.config import Settings as OrchestratorSettings
from call_orchestrator.main import MIGRATIONS as ORCHESTRATOR_MIGRATIONS
from call_orchestrator.main import create_app as create_orchestrator_app
from livekit_emulator.testing import RunningEmulator, running_emulator, test_config
from numbers_api.config import Settings as NumbersSettings
from numbers_api.main import MIGRATIONS as NUMBERS_MIGRATIONS
from numbers_api.main import create_app as create_numbers_app
from talkifai_common import devinfra
from talkifai_common.agent_capabilities import advertise
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.crypto import generate_key
from talkifai_common.events import (
    AgentData,
    AgentRef,
    EventName,
    LiveKitResources,
    MediaEncryption,
    NumberStatus,
    PhoneNumberData,
    PhoneNumberSyncData,
    RecordingMode,
    SipTransport,
    SyncState,
    SyncStatus,
    new_event,
)
from talkifai_common.voice import Architecture
from tests.support.agent_runtimes import every_key_runtime, forget_agent_runtimes
from tests.support.databases import DatabaseFactory
from tests.support.servers import serve_asgi

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

JWT_SECRET = "fuzz-jwt-secret-0123456789-abcdefghijklmnop"
ORG = "org_fuzz"
CALLING_NUMBER = "+1234567890"  # the outbound-call example's from_number
INTERNAL_TOKEN = "fuzz-internal-token-0123456789abcdef"
MAX_EXAMPLES = 60  # per operation and phase
SEED = 17  # the same cases on every run, so a failure in CI reproduces locally
CONFIGS = Path(__file__).with_name("fuzz")  # one schemathesis.toml per service


@dataclass
class FuzzRun:
    """What one schemathesis run did."""

    cases: int
    failures: int
    errors: int
    output: str


async def _fuzz(
    service: str, base_url: str, token: str, workdir: Path, excluded: tuple[str, ...] = ()
) -> FuzzRun:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(CONFIGS / f"{service}.toml"),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        *(arg for path in excluded for arg in ("--exclude-path", path)),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: CPython 3.11.7's ast.parse is not thread-safe ("AST constructor recursion
        # depth mismatch"), and hypothesis parses lambdas' sources while building strategies.
        "--workers",
        "1",
        "--generation-database",
        "none",
        # NUL characters too: PostgreSQL refuses them in text, so they must be a 4xx, never a 500.
        "--generation-allow-x00",
        "true",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    stdout, _ = await process.communicate()
    output = stdout.decode(errors="replace")
    (workdir / "schemathesis.log").write_text(output)
    return _figures(output, process.returncode)


def _figures(output: str, returncode: int | None) -> FuzzRun:
    """The run's figures, from the summary schemathesis prints last."""
    generated = re.search(r"(\d+) generated", output)
    outcome = re.findall(r"=+ (.+) in [\d.]+s =+", output)
    counts = (
        {noun.rstrip("s"): int(n) for n, noun in re.findall(r"(\d+) (\w+)", outcome[-1])}
        if outcome
        else {}
    )
    failures, errors = counts.get("failure", 0), counts.get("error", 0)
    if returncode != 0 and failures == errors == 0:
        errors = 1  # the run failed without a summary: its output says why
    return FuzzRun(int(generated.group(1)) if generated else 0, failures, errors, output)


def _check(name: str, run: FuzzRun, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():  # the figures belong in make test's output, passed or not
        print(
            f"\nschemathesis {name}: {run.cases} cases, {run.failures} failures, "
            f"{run.errors} errors"
        )
    assert run.cases > 0, run.output[-20_000:]
    assert (run.failures, run.errors) == (0, 0), run.output[-20_000:]


@pytest.fixture
async def numbers_api(database_factory: DatabaseFactory, clean_stream: str) -> AsyncIterator[str]:
    """numbers-api with production settings on a fresh database."""
    settings = NumbersSettings(
        dev_mode=False,
        database_url=await database_factory(NUMBERS_MIGRATIONS),
        nats_url=clean_stream,
        auth_jwt_secret=JWT_SECRET,
        fernet_keys=generate_key(),
        internal_api_token=INTERNAL_TOKEN,
        log_format="console",
        log_level="ERROR",
    )
    async with serve_asgi(create_numbers_app(settings)) as base_url:
        await _wait_ready(base_url)
        yield base_url


@pytest.fixture
async def call_orchestrator(
    database_factory: DatabaseFactory, clean_stream: str
) -> AsyncIterator[str]:
    """call-orchestrator with production settings, a fresh database and its own emulator."""
    port = devinfra.free_port()
    config = test_config(
        api_key="fuzzkey",
        api_secret="fuzz-livekit-secret-0123456789abcdef",
        webhook_urls=[f"http://127.0.0.1:{port}/livekit/webhook"],
    )
    async with running_emulator(config) as lk:
        settings = OrchestratorSettings(
            dev_mode=False,
            database_url=await database_factory(ORCHESTRATOR_MIGRATIONS),
            nats_url=clean_stream,
            auth_jwt_secret=JWT_SECRET,
            internal_api_token=INTERNAL_TOKEN,
            webhook_signing_secret="fuzz-webhook-signing-secret-0123456789",
            livekit_url=lk.url,
            livekit_api_key=lk.api_key,
            livekit_api_secret=lk.api_secret,
            log_format="console",
            log_level="ERROR",
        )
        await forget_agent_runtimes(settings.nats_url)
        async with (
            serve_asgi(create_orchestrator_app(settings), port=port) as base_url,
            _stand_in_agent_runtime(settings.nats_url, settings.agent_name),
        ):
            await _wait_ready(base_url)
            await _seed_calling_number(settings.nats_url, lk, base_url)
            yield base_url


@contextlib.asynccontextmanager
async def _stand_in_agent_runtime(nats_url: str, agent_name: str) -> AsyncIterator[None]:
    """An agent-runtime advertisement with every provider key: calls are not refused for want
    of a runtime (none runs here; the emulator carries no media anyway)."""
    nc = await nats.connect(nats_url)
    task = asyncio.create_task(advertise(nc.jetstream(), lambda: every_key_runtime(agent_name)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await nc.close()


async def _seed_calling_number(nats_url: str, lk: RunningEmulator, base_url: str) -> None:
    """The documents' example `from_number` (+1234567890) with an outbound agent and a synced
    trunk in the fuzzer's organization, so generated calls reach LiveKit and leave call ids."""
    now = datetime.now(UTC)
    agent = AgentData(
        id="agent_fuzz",
        name="Fuzz Agent",
        architecture=Architecture.PIPELINE,
        instructions="Be helpful.",
        greeting="Hello!",
        language="en-US",
        stt=None,
        llm=None,
        tts=None,
        realtime=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    number = PhoneNumberData(
        id="pn_fuzz",
        phone_number=CALLING_NUMBER,
        termination_uri="example.pstn.twilio.com",
        sip_username="user",
        has_sip_password=True,
        inbound_agent=None,
        outbound_agent=AgentRef(id=agent.id, name=agent.name, architecture=agent.architecture),
        webhook_url=None,
        recording_mode=RecordingMode.DISABLED,
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        status=NumberStatus.ACTIVE,
        sync=SyncStatus(state=SyncState.PENDING),
        version=1,
        created_at=now,
        updated_at=now,
    )
    livekit = lkapi.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
    try:
        trunk = await livekit.sip.create_outbound_trunk(
            lkapi.CreateSIPOutboundTrunkRequest(
                trunk=lkapi.SIPOutboundTrunkInfo(
                    name=f"talkifai {CALLING_NUMBER}",
                    address="example.pstn.twilio.com",
                    numbers=[CALLING_NUMBER],
                    auth_username="user",
                    auth_password="password",
                )
            )
        )
    finally:
        await livekit.aclose()
    synced = PhoneNumberSyncData(
        phone_number_id=number.id,
        phone_number=CALLING_NUMBER,
        version=1,
        state=SyncState.SYNCED,
        resources=LiveKitResources(outbound_trunk_id=trunk.sip_trunk_id),
        at=now,
    )
    nc = await nats.connect(nats_url)
    try:
        for name, subject, data in (
            (EventName.AGENT_CREATED, agent.id, agent),
            (EventName.PHONE_NUMBER_CREATED, number.id, number),
            (EventName.PHONE_NUMBER_SYNCED, number.id, synced),
        ):
            event = new_event(name, source="tests", subject=subject, orgid=ORG, data=data)
            await nc.jetstream().publish(
                name.subject,
                event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": event.id, "content-type": "application/json"},
            )
    finally:
        await nc.close()
    await _wait_callable(base_url)


async def _wait_callable(base_url: str) -> None:
    """Until a call from the seeded number gets past the lookup (the read model has it)."""
    token = issue_hs256_token(JWT_SECRET, sub="seeder", org_id=ORG, role=Role.MEMBER)
    body = {"to_number": "+12025550123", "from_number": CALLING_NUMBER}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        for _ in range(500):
            response = await http.post(
                "/telephony/outbound-call",
                json={**body, "wait_until_answered": False},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code == 202:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(f"the seeded number never placed a call: {response.text}")


async def _wait_ready(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as http:
        for _ in range(1000):
            if (await http.get("/readyz")).status_code == 200:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"{base_url} never became ready")


async def test_numbers_api_answers_every_generated_request_as_documented(
    numbers_api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issue_hs256_token(JWT_SECRET, sub="fuzzer", org_id=ORG, role=Role.OWNER)
    _check(
        "numbers-api",
        # The trunk doctor probes the stored termination host over the network: fuzzed hosts
        # would send SIP to whatever they name. Its one input is the path's number id, handled
        # as on every `/phone-numbers/{number_id}` route fuzzed here (test_trunk_checks.py checks
        # its own answers).
        await _fuzz(
            "numbers-api",
            numbers_api,
            token,
            tmp_path,
            excluded=("/events", "/phone-numbers/{number_id}/check"),
        ),
        capsys,
    )


async def test_call_orchestrator_answers_every_generated_request_as_documented(
    call_orchestrator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = issue_hs256_token(JWT_SECRET, sub="fuzzer", org_id=ORG, role=Role.MEMBER)
    _check(
        "call-orchestrator",
        await _fuzz("call-orchestrator", call_orchestrator, token, tmp_path),
        capsys,
    )
