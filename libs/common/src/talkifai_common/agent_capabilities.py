"""What agent-runtime can run, advertised in a NATS KV bucket with a TTL heartbeat.

Each agent-runtime process puts its `RuntimeCapabilities` (the names of the provider-key variables
set where it runs, never their values) under its own key every `HEARTBEAT_S`; the bucket's TTL
drops a process that stopped. call-orchestrator watches the bucket (`RuntimeBoard`) and refuses an
outbound call whose agent no live process can run before anyone is rung. `required_keys` is the
one place that says which variable each provider needs; agent-runtime's session builder reads
the same table.

Local engines an agent may use (espeak-ng) are advertised in the same list, by program name, when
installed where the process runs: an agent speaking with one is refused before dialling where no
live process has it, as one whose key is missing is.

`OPENAI_BASE_URL` points the OpenAI providers at a self-hosted OpenAI-compatible server (Ollama,
vLLM, LocalAI, Speaches, Kokoro-FastAPI...), which needs no key: where it is set it stands in for
`OPENAI_API_KEY` (`KEY_ALTERNATIVES`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from nats.js.api import KeyValueConfig
from nats.js.errors import NotFoundError
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import BaseModel, ConfigDict, Field

from talkifai_common.events import AgentData
from talkifai_common.voice import (
    Architecture,
    LLMProvider,
    RealtimeConfig,
    RealtimeProvider,
    STTConfig,
    STTProvider,
    TTSConfig,
    TTSProvider,
)

log = structlog.get_logger(__name__)

BUCKET = "agent_runtime_capabilities"
HEARTBEAT_S = 5.0
TTL_S = 15.0  # three missed heartbeats and a process counts as gone

GOOGLE_CLOUD = "GOOGLE_APPLICATION_CREDENTIALS"
STT_KEYS = {
    STTProvider.DEEPGRAM: "DEEPGRAM_API_KEY",
    STTProvider.OPENAI: "OPENAI_API_KEY",
    STTProvider.GOOGLE: GOOGLE_CLOUD,
}
LLM_KEYS = {LLMProvider.OPENAI: "OPENAI_API_KEY", LLMProvider.GOOGLE: "GOOGLE_API_KEY"}
# Engines that run inside agent-runtime and need no key: what they need is the program, by name.
ESPEAK_NG = "espeak-ng"
TTS_ENGINES = {TTSProvider.ESPEAK: ESPEAK_NG}
ENGINES = frozenset(TTS_ENGINES.values())
TTS_KEYS = {
    TTSProvider.CARTESIA: "CARTESIA_API_KEY",
    TTSProvider.ELEVENLABS: "ELEVEN_API_KEY",
    TTSProvider.OPENAI: "OPENAI_API_KEY",
    TTSProvider.DEEPGRAM: "DEEPGRAM_API_KEY",
    TTSProvider.GOOGLE: GOOGLE_CLOUD,
}
REALTIME_KEYS = {
    RealtimeProvider.OPENAI: "OPENAI_API_KEY",
    RealtimeProvider.GOOGLE: "GOOGLE_API_KEY",
}
OPENAI_BASE_URL = "OPENAI_BASE_URL"
# A required variable, and the one that can stand in for it.
KEY_ALTERNATIVES = {"OPENAI_API_KEY": OPENAI_BASE_URL}
ALL_KEYS = frozenset(
    {
        *STT_KEYS.values(),
        *LLM_KEYS.values(),
        *TTS_KEYS.values(),
        *REALTIME_KEYS.values(),
        *KEY_ALTERNATIVES.values(),
    }
)


def required_keys(agent: AgentData) -> frozenset[str]:
    """The environment variables agent-runtime needs to run this agent (none for text agents)."""
    if agent.architecture is Architecture.TEXT:
        return frozenset()
    if agent.architecture is Architecture.REALTIME:
        return frozenset({REALTIME_KEYS[(agent.realtime or RealtimeConfig()).provider]})
    stt, tts = agent.stt or STTConfig(), agent.tts or TTSConfig()
    keys = set()
    # A component on the agent's own model server (`base_url`) needs no key of ours.
    if stt.base_url is None:
        keys.add(STT_KEYS[stt.provider])
    if tts.provider in TTS_ENGINES:
        keys.add(TTS_ENGINES[tts.provider])
    elif tts.base_url is None:
        keys.add(TTS_KEYS[tts.provider])
    if agent.llm is not None and agent.llm.base_url is None:
        keys.add(LLM_KEYS[agent.llm.provider])
    return frozenset(keys)


def model_servers(agent: AgentData) -> list[tuple[str, str]]:
    """(section, base_url) of each component of the agent on a model server of its own."""
    sections = (("stt", agent.stt), ("llm", agent.llm), ("tts", agent.tts))
    return [(name, c.base_url) for name, c in sections if c is not None and c.base_url is not None]


def present_keys(
    env: Mapping[str, str], installed: Callable[[str], object] = shutil.which
) -> tuple[str, ...]:
    """The provider-key variables set (not blank) in `env`, and the local engines `installed`
    (found on the PATH): names only."""
    variables = {name for name in ALL_KEYS if env.get(name, "").strip()}
    engines = {name for name in ENGINES if installed(name)}
    return tuple(sorted(variables | engines))


def unmet_keys(required: Iterable[str], present: Iterable[str]) -> frozenset[str]:
    """The required variables neither set nor stood in for (`KEY_ALTERNATIVES`)."""
    have = set(present)
    return frozenset(
        name for name in required if name not in have and KEY_ALTERNATIVES.get(name) not in have
    )


class RuntimeCapabilities(BaseModel):
    """One agent-runtime process, as it advertises itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_-]+$")
    agent_name: str = Field(description="The LiveKit agent name it registers (talkifai-agent).")
    key_variables: tuple[str, ...] = Field(
        description="Provider-key environment variables set where it runs, and local engines "
        "installed there (espeak-ng); names only."
    )
    at: datetime

    def dump(self) -> bytes:
        """The KV value."""
        return self.model_dump_json().encode()

    @classmethod
    def parse(cls, raw: bytes) -> RuntimeCapabilities:
        """Read a KV value (ValidationError when it is not one)."""
        return cls.model_validate_json(raw)


async def open_bucket(js: Any) -> KeyValue:
    """The capabilities bucket, created with its TTL if it does not exist yet."""
    try:
        kv: KeyValue = await js.key_value(BUCKET)
    except NotFoundError:
        kv = await js.create_key_value(config=KeyValueConfig(bucket=BUCKET, history=1, ttl=TTL_S))
    return kv


async def advertise(
    js: Any, capabilities: Callable[[], RuntimeCapabilities], *, interval_s: float = HEARTBEAT_S
) -> None:
    """Put `capabilities()` every `interval_s` until cancelled; the key
    is deleted on the way out so a stopped process is gone at once, not after the TTL."""
    kv: KeyValue | None = None
    key = ""
    try:
        while True:
            try:
                kv = kv or await open_bucket(js)
                current = capabilities()
                key = current.instance_id
                await kv.put(key, current.dump())
            except Exception as exc:  # NATS down: the next heartbeat tries again
                log.warning("capabilities.advertise_failed", error=str(exc))
            await asyncio.sleep(interval_s)
    finally:
        if kv is not None and key:
            with contextlib.suppress(Exception):
                await kv.delete(key)


class RuntimeBoard:
    """The live agent-runtime processes, kept current by watching the bucket."""

    def __init__(self, *, ttl_s: float = TTL_S) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._seen: dict[str, tuple[RuntimeCapabilities, datetime]] = {}

    def apply(self, key: str, value: bytes | None, created: datetime | None) -> None:
        """One bucket entry (None value: deleted or expired)."""
        if value is None:
            self._seen.pop(key, None)
            return
        try:
            capabilities = RuntimeCapabilities.parse(value)
        except ValueError:
            log.warning("capabilities.unreadable", key=key)
            return
        self._seen[key] = (capabilities, created or datetime.now(UTC))

    def live(self, agent_name: str, now: datetime | None = None) -> list[RuntimeCapabilities]:
        """Processes that registered `agent_name` and sent a heartbeat within the TTL."""
        now = now or datetime.now(UTC)
        return [
            caps
            for caps, seen_at in self._seen.values()
            if caps.agent_name == agent_name and now - seen_at < self._ttl
        ]

    def missing_keys(self, agent_name: str, required: Iterable[str]) -> frozenset[str] | None:
        """None when a live process has every required key; else the fewest keys missing
        anywhere (all of them when no process is live)."""
        needed = frozenset(required)
        gaps = [unmet_keys(needed, caps.key_variables) for caps in self.live(agent_name)]
        if any(not gap for gap in gaps):
            return None
        return min(gaps, key=len) if gaps else needed

    async def watch(self, js: Any, *, retry_s: float = 1.0) -> None:
        """Follow the bucket until cancelled, starting over after a NATS failure."""
        while True:
            try:
                kv = await open_bucket(js)
                watcher: Any = await kv.watchall()
                try:
                    async for entry in watcher:
                        if entry is None:  # the marker after the current values
                            continue
                        gone = entry.operation in (KV_DEL, KV_PURGE)
                        self.apply(entry.key, None if gone else entry.value, _utc(entry.created))
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("capabilities.watch_failed", error=str(exc), retry_in_s=retry_s)
            await asyncio.sleep(retry_s)


def _utc(created: datetime | None) -> datetime | None:
    if created is None:
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)
