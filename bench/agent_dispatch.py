"""Benchmark agent dispatch: from an emulated inbound call to our worker accepting the job.

Runs the LiveKit emulator and agent-runtime's real worker (`AgentServer` registered as
`talkifai-agent`, jobs as threads) in this process, creates an inbound trunk and a dispatch rule
as trunk-sync does, then places inbound calls one after another. For each call it measures, on
one clock: the control API's INVITE -> the worker's `available=true` answer reaching the emulator
(target p50 <= 150 ms), and the emulator's availability request -> that answer (the worker's own
share). The room refuses each job's join (the emulator's `refuse_joins` fault: only dispatch is
measured here; bench/voice.py measures calls that talk), so each job fails and hangs up; the
next call waits for that, so calls do not overlap.

    uv run python bench/agent_dispatch.py [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
import warnings
from datetime import UTC, datetime
from typing import Any

import structlog
from livekit import api
from livekit.protocol import sip

from agent_runtime.config import Settings
from agent_runtime.directory import AgentDirectory, KnownAgent, KnownNumber, NumberDirectory
from agent_runtime.handlers import Context
from agent_runtime.worker import create_server
from livekit_emulator.testing import running_emulator
from talkifai_common.events import AgentData, CloudEvent
from talkifai_common.jobs import InboundJob
from talkifai_common.voice import LLMConfig, STTConfig, TTSConfig

NUMBER = "+12025550123"
KEYS = {"OPENAI_API_KEY": "sk-bench", "DEEPGRAM_API_KEY": "dg", "CARTESIA_API_KEY": "ca"}


class _Source:
    """numbers-api stand-in: one pipeline agent, no numbers."""

    def __init__(self) -> None:
        now = datetime.now(UTC)
        self.agent = AgentData(
            id="agent_bench",
            name="Bench Agent",
            architecture="pipeline",
            instructions="Be brief.",
            greeting="Hello!",
            language="en-US",
            stt=STTConfig(),
            llm=LLMConfig(),
            tts=TTSConfig(),
            realtime=None,
            version=1,
            created_at=now,
            updated_at=now,
        )

    async def fetch_agent(self, agent_id: str) -> KnownAgent | None:
        return KnownAgent("org_bench", self.agent) if agent_id == self.agent.id else None

    async def fetch_number(self, number_id: str) -> KnownNumber | None:
        return None

    async def all_numbers(self) -> list[KnownNumber]:
        return []


class _Events:
    async def publish(self, event: CloudEvent[Any]) -> None:
        return None


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(calls: int) -> None:
    async with running_emulator() as lk:
        source = _Source()
        settings = Settings(
            dev_mode=True,
            livekit_url=lk.url,
            livekit_api_key=lk.api_key,
            livekit_api_secret=lk.api_secret,
        )
        server = create_server(
            Context(
                settings=settings,
                agents=AgentDirectory(source),
                numbers=NumberDirectory(source),
                events=_Events(),
                consent=None,  # type: ignore[arg-type]
                loop=asyncio.get_running_loop(),
                env=KEYS,
            )
        )
        registered = asyncio.Event()
        server.on("worker_registered", lambda *_: registered.set())
        task = asyncio.create_task(server.run(devmode=True))
        await asyncio.wait_for(registered.wait(), timeout=30)
        await lk.control.set_faults(refuse_joins=True)
        lkapi = api.LiveKitAPI(lk.url, lk.api_key, lk.api_secret)
        trunk = await lkapi.sip.create_inbound_trunk(
            sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=[NUMBER]))
        )
        rule = sip.SIPDispatchRuleInfo(
            trunk_ids=[trunk.sip_trunk_id],
            rule=sip.SIPDispatchRule(
                dispatch_rule_individual=sip.SIPDispatchRuleIndividual(room_prefix="call")
            ),
        )
        rule_job = InboundJob(
            agent_id="agent_bench", phone_number_id="pn_b", phone_number=NUMBER, org_id="org_bench"
        )
        rule.room_config.agents.add(
            agent_name=settings.agent_name, metadata=rule_job.model_dump_json()
        )
        await lkapi.sip.create_dispatch_rule(sip.CreateSIPDispatchRuleRequest(dispatch_rule=rule))

        to_accept: list[float] = []
        worker_share: list[float] = []
        emulator = lk.control.emulator
        assert emulator is not None
        for i in range(calls + 3):
            started_ms = time.time() * 1000
            call = await lk.control.inbound_call(f"+1555010{i:04d}", NUMBER)
            job = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                job = next(
                    (j for j in emulator.state.jobs.values() if j.room == call.room_name), None
                )
                if job is not None and job.ended_at_ms is not None:
                    break
                await asyncio.sleep(0.005)
            if job is None or job.accepted_at_ms is None or job.offered_at_ms is None:
                raise RuntimeError(f"call {i}: the worker did not accept a job: {job}")
            if i >= 3:  # the first calls warm the job threads up
                to_accept.append(job.accepted_at_ms - started_ms)
                worker_share.append(job.accepted_at_ms - job.offered_at_ms)
        await lkapi.aclose()
        await server.aclose()
        await asyncio.gather(task, return_exceptions=True)

    print(
        f"agent dispatch over {calls} inbound calls (emulator + agent-runtime worker, one process)"
    )
    print(
        f"  INVITE -> worker accepted   p50 {statistics.median(to_accept):7.1f} ms   "
        f"p90 {_pct(to_accept, 0.9):7.1f} ms   max {max(to_accept):7.1f} ms   (target p50 <= 150 ms)"
    )
    print(
        f"  offer  -> worker accepted   p50 {statistics.median(worker_share):7.1f} ms   "
        f"p90 {_pct(worker_share, 0.9):7.1f} ms   max {max(worker_share):7.1f} ms"
    )


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("livekit").setLevel(logging.CRITICAL)
    logging.getLogger("livekit.agents").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    # Every job logs its refused join (the injected fault); that is expected here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    asyncio.run(run(args.calls))


if __name__ == "__main__":
    main()
