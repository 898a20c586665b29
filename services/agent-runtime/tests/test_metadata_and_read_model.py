"""Job metadata from both dispatchers, the configuration read model, and session components."""

from __future__ import annotations

import asyncio
import json

import pytest

from agent_runtime.config import Settings
from agent_runtime.consumers import apply_agent_event, apply_number_event, register_consumers
from agent_runtime.directory import AgentDirectory, KnownAgent, KnownNumber, NumberDirectory
from agent_runtime.domain import (
    TEXT_AGENT_REFUSAL,
    BadJobMetadata,
    ModelServerRefused,
    ProviderKeyMissing,
    TextAgentRefused,
    UnknownAgent,
    parse_job,
)
from agent_runtime.handlers import Context, prepare_call
from agent_runtime.sessions import build_components
from talkifai_common.bus import create_broker, ensure_stream
from talkifai_common.events import (
    STREAM_NAME,
    CallDirection,
    EventName,
    new_event,
)
from talkifai_common.jobs import InboundJob, OutboundJob
from talkifai_common.voice import (
    Architecture,
    LLMConfig,
    LLMProvider,
    RealtimeConfig,
    TTSConfig,
    TTSProvider,
)
from tests.support.agent_fakes import FakeSource, RecordingEvents, agent_data, number_data
from tests.support.bus import replies_to_a_jetstream_publish

KEYS = {
    "OPENAI_API_KEY": "sk-test",
    "DEEPGRAM_API_KEY": "dg-test",
    "CARTESIA_API_KEY": "ca-test",
    "ELEVEN_API_KEY": "el-test",
    "GOOGLE_API_KEY": "g-test",
}


def test_trunk_sync_dispatch_rule_metadata_reads_as_an_inbound_job() -> None:
    written = InboundJob(
        agent_id="agent_1", phone_number_id="pn_1", phone_number="+12025550123", org_id="org_a"
    )
    meta = parse_job(written.model_dump_json())
    assert isinstance(meta, InboundJob)
    assert meta.direction is CallDirection.INBOUND
    assert meta.call_id is None
    assert meta.our_number == "+12025550123"
    assert meta.remote_number is None
    assert meta.org_id == "org_a"


def test_call_orchestrator_dispatch_metadata_reads_as_an_outbound_job() -> None:
    written = OutboundJob(
        agent_id="agent_1",
        call_id="call_9",
        phone_number_id="pn_1",
        from_number="+12025550123",
        to_number="+15550142",
        metadata={"customer": "Ada"},
    )
    meta = parse_job(written.model_dump_json())
    assert isinstance(meta, OutboundJob)
    assert meta.direction is CallDirection.OUTBOUND
    assert meta.call_id == "call_9"
    assert meta.our_number == "+12025550123"
    assert meta.remote_number == "+15550142"
    assert meta.metadata == {"customer": "Ada"}


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        '{"call_id": "c"}',
        '{"agent_id": "agent_1"}',
        '{"agent_id": "", "direction": "inbound", "phone_number_id": "pn_1", '
        '"phone_number": "+12025550123", "org_id": "org_a"}',
        '{"agent_id": "agent_1", "phone_number_id": "pn_1", "e164": "+12025550123", '
        '"org_id": "org_a", "direction": "inbound"}',
        '{"agent_id": "agent_1", "direction": "outbound", "from_number": "+12025550123"}',
    ],
)
def test_unreadable_metadata_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(BadJobMetadata) as caught:
        parse_job(raw)
    assert "metadata" in caught.value.message


async def test_the_agent_read_model_follows_events_by_version_and_remembers_deletions() -> None:
    source = FakeSource()
    agents = AgentDirectory(source)
    v1 = agent_data(version=1)
    v2 = agent_data(version=2, greeting="Hi there!")
    created = new_event(EventName.AGENT_CREATED, source="t", subject=v1.id, orgid="org_a", data=v1)
    updated = new_event(EventName.AGENT_UPDATED, source="t", subject=v2.id, orgid="org_a", data=v2)
    assert await apply_agent_event(agents, updated)
    assert not await apply_agent_event(agents, created)  # late, older: ignored
    assert (await agents.get("agent_1")).agent.greeting == "Hi there!"
    assert source.agent_fetches == 0
    deleted = new_event(EventName.AGENT_DELETED, source="t", subject=v2.id, orgid="org_a", data=v2)
    assert await apply_agent_event(agents, deleted)
    source.agents["agent_1"] = KnownAgent("org_a", v2)  # a stale read cannot revive it
    with pytest.raises(UnknownAgent):
        await agents.get("agent_1")


async def test_an_agent_the_read_model_has_not_seen_is_loaded_once_from_numbers_api() -> None:
    source = FakeSource(agents={"agent_7": KnownAgent("org_b", agent_data("agent_7"))})
    agents = AgentDirectory(source)
    assert (await agents.get("agent_7")).org_id == "org_b"
    assert (await agents.get("agent_7")).agent.id == "agent_7"
    assert source.agent_fetches == 1
    with pytest.raises(UnknownAgent):
        await agents.get("agent_missing")


async def test_the_number_read_model_loads_everything_and_finds_numbers_by_e164() -> None:
    source = FakeSource(numbers={"pn_1": KnownNumber("org_a", number_data())})
    numbers = NumberDirectory(source)
    assert await numbers.load() == 1
    found = await numbers.find(None, "+12025550123")
    assert found is not None and found.org_id == "org_a"
    moved = number_data(e164="+12025550999", recording_mode="consent", version=2)
    event = new_event(
        EventName.PHONE_NUMBER_UPDATED, source="t", subject="pn_1", orgid="org_a", data=moved
    )
    assert await apply_number_event(numbers, event)
    assert await numbers.find(None, "+12025550123") is None
    found = await numbers.find(None, "+12025550999")
    assert found is not None and found.number.recording_mode == "consent"


class _SlowListing(FakeSource):
    """A listing read before an event arrives and answered after it."""

    def __init__(self, numbers: dict[str, KnownNumber]) -> None:
        super().__init__(numbers=numbers)
        self.listed = asyncio.Event()
        self.answer = asyncio.Event()

    async def all_numbers(self) -> list[KnownNumber]:
        snapshot = list(self.numbers.values())
        self.listed.set()
        await self.answer.wait()
        return snapshot


async def test_reloading_the_numbers_drops_deleted_ones_but_keeps_those_changed_meanwhile() -> None:
    source = _SlowListing({"pn_1": KnownNumber("org_a", number_data())})
    numbers = NumberDirectory(source)
    source.answer.set()
    await numbers.load()
    source.answer.clear()
    source.listed.clear()
    # While agent-runtime was cut off: pn_1 deleted; then, during the reload, pn_2 created.
    del source.numbers["pn_1"]
    reload = asyncio.create_task(numbers.load())
    await source.listed.wait()
    created = number_data("pn_2", "+12025550124")
    event = new_event(
        EventName.PHONE_NUMBER_CREATED, source="t", subject="pn_2", orgid="org_a", data=created
    )
    assert await apply_number_event(numbers, event)
    source.answer.set()
    assert await reload == 1
    assert await numbers.find(None, "+12025550123") is None
    assert await numbers.find("pn_1", None) is None
    found = await numbers.find(None, "+12025550124")
    assert found is not None and found.number.id == "pn_2"


async def test_forgetting_the_agents_fetches_them_again_but_remembers_deletions() -> None:
    source = FakeSource(agents={"agent_1": KnownAgent("org_a", agent_data())})
    agents = AgentDirectory(source)
    await agents.get("agent_1")
    agents.apply("org_a", agent_data("agent_gone", version=2), deleted=True)
    source.agents["agent_1"] = KnownAgent("org_a", agent_data(greeting="Hi again", version=2))
    agents.forget()
    assert (await agents.get("agent_1")).agent.greeting == "Hi again"
    assert source.agent_fetches == 2
    with pytest.raises(UnknownAgent):
        await agents.get("agent_gone")
    assert source.agent_fetches == 2


def _context(source: FakeSource, env: dict[str, str]) -> Context:
    return Context(
        settings=Settings(dev_mode=True),
        agents=AgentDirectory(source),
        numbers=NumberDirectory(source),
        events=RecordingEvents(),
        consent=None,  # type: ignore[arg-type]
        loop=asyncio.get_running_loop(),
        env=env,
    )


def _inbound_job(agent_id: str) -> str:
    """The job trunk-sync's dispatch rule for number pn_1 carries."""
    job = InboundJob(
        agent_id=agent_id, phone_number_id="pn_1", phone_number="+12025550123", org_id="org_a"
    )
    return job.model_dump_json()


async def test_a_job_for_a_text_agent_fails_with_the_seed_message() -> None:
    source = FakeSource(agents={"agent_t": KnownAgent("org_a", agent_data("agent_t", "text"))})
    with pytest.raises(TextAgentRefused) as caught:
        await prepare_call(_inbound_job("agent_t"), _context(source, KEYS))
    assert TEXT_AGENT_REFUSAL in caught.value.message
    assert caught.value.reason == "text_agent"


async def test_a_job_for_an_unknown_agent_fails_clearly() -> None:
    with pytest.raises(UnknownAgent) as caught:
        await prepare_call(_inbound_job("agent_gone"), _context(FakeSource(), KEYS))
    assert caught.value.message == "Agent agent_gone does not exist"


async def test_a_consent_number_makes_the_call_ask_for_consent() -> None:
    source = FakeSource(
        agents={"agent_1": KnownAgent("org_a", agent_data())},
        numbers={"pn_1": KnownNumber("org_a", number_data(recording_mode="consent"))},
    )
    prepared = await prepare_call(_inbound_job("agent_1"), _context(source, KEYS))
    assert prepared.policy.ask_consent
    assert prepared.policy.greet_first
    assert prepared.org_id == "org_a"
    assert prepared.components.architecture is Architecture.PIPELINE


async def test_a_job_whose_agent_names_a_private_model_server_fails_before_any_component() -> None:
    llm = LLMConfig(provider=LLMProvider.OPENAI, base_url="http://10.1.2.3:11434/v1")
    source = FakeSource(agents={"agent_1": KnownAgent("org_a", agent_data(llm=llm))})
    context = _context(source, KEYS)
    context.settings = Settings(dev_mode=True, allow_private_model_servers=False)
    with pytest.raises(ModelServerRefused, match=r"llm\.base_url: .*globally routable"):
        await prepare_call(_inbound_job("agent_1"), context)
    # Where the deployment allows private model servers, the same job is prepared.
    context.settings = Settings(dev_mode=True, allow_private_model_servers=True)
    prepared = await prepare_call(_inbound_job("agent_1"), context)
    assert prepared.components.architecture is Architecture.PIPELINE


def test_a_missing_provider_key_names_the_variable() -> None:
    env = {k: v for k, v in KEYS.items() if k != "CARTESIA_API_KEY"}
    with pytest.raises(ProviderKeyMissing) as caught:
        build_components(agent_data(), env)
    assert caught.value.message == "No API key for provider cartesia: set CARTESIA_API_KEY"


def test_pipeline_and_realtime_components_are_built_offline_from_the_providers() -> None:
    pipeline = build_components(
        agent_data(tts=TTSConfig(provider=TTSProvider.ELEVENLABS, voice="v1")), KEYS
    )
    assert pipeline.stt is not None and pipeline.tts is not None
    assert pipeline.stt.provider == "Deepgram"
    for provider in ("openai", "google"):
        realtime = build_components(
            agent_data(
                architecture="realtime", llm=None, realtime=RealtimeConfig(provider=provider)
            ),
            KEYS,
        )
        assert realtime.architecture is Architecture.REALTIME
        assert realtime.stt is None


def test_settings_outside_dev_mode_refuse_placeholder_secrets() -> None:
    with pytest.raises(ValueError, match="INTERNAL_API_TOKEN"):
        Settings(dev_mode=False)
    ok = Settings(
        dev_mode=False,
        internal_api_token="x" * 32,
        livekit_api_secret="y" * 32,
    )
    assert ok.port == 8040


async def test_the_read_model_subscribers_never_answer_a_jetstream_publish(
    clean_stream: str,
) -> None:
    # They are core subscriptions on subjects JetStream stores: an automatic reply would race the
    # PubAck and fail the publisher (numbers-api's outbox relay).
    broker = create_broker(clean_stream, name="agent-runtime-test")
    agents = AgentDirectory(FakeSource())
    register_consumers(broker, agents, NumberDirectory(FakeSource()))
    await broker.start()
    try:
        await ensure_stream(broker)
        agent = agent_data(version=1)
        event = new_event(
            EventName.AGENT_CREATED, source="t", subject=agent.id, orgid="org_a", data=agent
        )

        replies = await replies_to_a_jetstream_publish(
            clean_stream, EventName.AGENT_CREATED.subject, event.model_dump_json().encode()
        )

        assert [json.loads(r)["stream"] for r in replies] == [STREAM_NAME]
        assert (await agents.get(agent.id)).agent.version == 1  # the event itself was applied
    finally:
        await broker.stop()
