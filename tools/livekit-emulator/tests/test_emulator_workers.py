"""The agent worker protocol on `/agent`, driven by a raw WebSocket client speaking protobuf."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import jwt
import pytest
import websockets
from livekit import api
from livekit.protocol import agent
from livekit.protocol.agent_dispatch import CreateAgentDispatchRequest
from websockets.asyncio.client import ClientConnection, connect

from livekit_emulator.rtc import JOIN_REFUSED
from livekit_emulator.testing import RunningEmulator
from tests.support.emulator import WAIT_S, inbound_trunk, individual_rule

AGENT = "talkifai-agent"


def _ws_url(lk: RunningEmulator, path: str = "/agent") -> str:
    return lk.url.replace("http://", "ws://") + path


def _token(lk: RunningEmulator, grants: api.VideoGrants) -> str:
    return api.AccessToken(lk.api_key, lk.api_secret).with_grants(grants).to_jwt()


class Worker:
    """A minimal worker: sends WorkerMessages, reads ServerMessages."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: agent.WorkerMessage) -> None:
        await self.ws.send(message.SerializeToString())

    async def recv(self) -> agent.ServerMessage:
        async with asyncio.timeout(WAIT_S):
            data = await self.ws.recv()
        message = agent.ServerMessage()
        assert isinstance(data, bytes)
        message.ParseFromString(data)
        return message

    async def register(self, agent_name: str = AGENT) -> str:
        register = agent.RegisterWorkerRequest(
            type=agent.JobType.JT_ROOM, agent_name=agent_name, version="1.8.9"
        )
        await self.send(agent.WorkerMessage(register=register))
        answer = await self.recv()
        assert answer.WhichOneof("message") == "register"
        return answer.register.worker_id


@contextlib.asynccontextmanager
async def worker(lk: RunningEmulator, agent_name: str = AGENT) -> AsyncIterator[Worker]:
    headers = {"Authorization": f"Bearer {_token(lk, api.VideoGrants(agent=True))}"}
    async with connect(_ws_url(lk), additional_headers=headers) as ws:
        w = Worker(ws)
        w.worker_id = await w.register(agent_name)  # type: ignore[attr-defined]
        yield w


async def _wait_state(lk: RunningEmulator, key: str, predicate: object) -> list[dict[str, object]]:
    async with asyncio.timeout(WAIT_S):
        while True:
            items: list[dict[str, object]] = (await lk.control.state())[key]
            if predicate(items):  # type: ignore[operator]
                return items
            await asyncio.sleep(0.01)


async def test_a_worker_without_the_agent_grant_is_refused(lk: RunningEmulator) -> None:
    headers = {"Authorization": f"Bearer {_token(lk, api.VideoGrants(room_admin=True, room='x'))}"}
    with pytest.raises(websockets.InvalidStatus) as caught:
        async with connect(_ws_url(lk), additional_headers=headers):
            pass
    assert caught.value.response.status_code == 401


async def test_a_worker_with_a_forged_token_is_refused(lk: RunningEmulator) -> None:
    forged = jwt.encode({"iss": lk.api_key, "exp": 9999999999, "video": {"agent": True}}, "x" * 32)
    with pytest.raises(websockets.InvalidStatus) as caught:
        async with connect(_ws_url(lk), additional_headers={"Authorization": f"Bearer {forged}"}):
            pass
    assert caught.value.response.status_code == 401


async def test_a_registered_worker_gets_an_id_and_is_listed_with_its_agent_name(
    lk: RunningEmulator,
) -> None:
    async with worker(lk) as w:
        workers = await _wait_state(lk, "workers", lambda ws: len(ws) == 1)
        assert workers[0]["id"] == w.worker_id  # type: ignore[attr-defined]
        assert str(workers[0]["id"]).startswith("AW_")
        assert workers[0]["agent_name"] == AGENT
        assert workers[0]["type"] == "JT_ROOM"
    await _wait_state(lk, "workers", lambda ws: ws == [])


async def test_pings_are_answered_with_pongs(lk: RunningEmulator) -> None:
    async with worker(lk) as w:
        await w.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1234)))
        pong = await w.recv()
        assert pong.WhichOneof("message") == "pong"
        assert pong.pong.last_timestamp == 1234
        assert pong.pong.timestamp > 0


async def test_an_inbound_call_reaches_the_worker_as_a_job_with_the_rule_metadata(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100")
    await individual_rule(lkapi, [trunk.sip_trunk_id], agent=AGENT)
    async with worker(lk) as w:
        call = await lk.control.inbound_call("+15550142", "+15550100")
        offer = await w.recv()
        assert offer.WhichOneof("message") == "availability"
        job = offer.availability.job
        assert job.id.startswith("AJ_")
        assert job.agent_name == AGENT
        assert job.room.name == call.room_name
        assert job.type == agent.JobType.JT_ROOM
        assert json.loads(job.metadata) == {"k": "v"}
        assert job.dispatch_id in call.agent_dispatch_ids

        await w.send(
            agent.WorkerMessage(
                availability=agent.AvailabilityResponse(
                    job_id=job.id, available=True, participant_identity="agent-1"
                )
            )
        )
        assignment = (await w.recv()).assignment
        assert assignment.job.id == job.id
        assert assignment.url.startswith("ws://")
        claims = jwt.decode(assignment.token, lk.api_secret, algorithms=["HS256"])
        assert claims["sub"] == "agent-1"
        assert claims["video"]["roomJoin"] is True
        assert claims["video"]["room"] == call.room_name
        assert claims["video"]["agent"] is True

        running = agent.UpdateJobStatus(job_id=job.id, status=agent.JobStatus.JS_RUNNING)
        await w.send(agent.WorkerMessage(update_job=running))
        jobs = await _wait_state(lk, "jobs", lambda js: js and js[0]["state"] == "JS_RUNNING")
        assert jobs[0]["room"] == call.room_name
        assert jobs[0]["agent_name"] == AGENT
        assert jobs[0]["metadata"] == '{"k": "v"}'
        assert jobs[0]["worker_id"] == w.worker_id  # type: ignore[attr-defined]
        assert jobs[0]["participant_identity"] == "agent-1"

        # The caller hangs up: the room closes and the worker is asked to end the job.
        await lk.control.hangup(call.sip_call_id)
        termination = await w.recv()
        assert termination.termination.job_id == job.id


async def test_a_create_dispatch_declined_by_the_only_worker_fails_the_job(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    async with worker(lk) as w:
        await lkapi.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name=AGENT, room="outbound_1", metadata='{"a": 1}')
        )
        offer = await w.recv()
        assert offer.availability.job.metadata == '{"a": 1}'
        declined = agent.AvailabilityResponse(job_id=offer.availability.job.id, available=False)
        await w.send(agent.WorkerMessage(availability=declined))
        jobs = await _wait_state(lk, "jobs", lambda js: js and js[0]["state"] == "JS_FAILED")
        assert jobs[0]["error"] == "no worker accepted the job"
        assert jobs[0]["declined_by"] == [w.worker_id]  # type: ignore[attr-defined]


async def test_a_dispatch_for_another_agent_name_creates_no_job(
    lk: RunningEmulator, lkapi: api.LiveKitAPI
) -> None:
    async with worker(lk, agent_name="someone-else"):
        await lkapi.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name=AGENT, room="outbound_2")
        )
        state = await lk.control.state()
        assert state["jobs"] == []
        # The room also got LiveKit's unnamed dispatch; neither has a worker here.
        assert AGENT in [d["agent_name"] for d in state["agent_dispatches"]]


async def test_a_refused_join_is_said_on_the_job(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="uvicorn.error")
    await lk.control.set_faults(refuse_joins=True)
    async with worker(lk) as w:
        await lkapi.agent_dispatch.create_dispatch(
            CreateAgentDispatchRequest(agent_name=AGENT, room="outbound_3")
        )
        job = (await w.recv()).availability.job
        accept = agent.AvailabilityResponse(
            job_id=job.id, available=True, participant_identity="agent-3"
        )
        await w.send(agent.WorkerMessage(availability=accept))
        token = (await w.recv()).assignment.token
        with pytest.raises(websockets.InvalidStatus) as caught:
            async with connect(_ws_url(lk, f"/rtc?access_token={token}")):
                pass
        assert caught.value.response.status_code == 503
        # An expected refusal, not an error of the server (uvicorn would log one, see logs.py).
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        failed = agent.UpdateJobStatus(job_id=job.id, status=agent.JobStatus.JS_FAILED)
        await w.send(agent.WorkerMessage(update_job=failed))
        jobs = await _wait_state(lk, "jobs", lambda js: js and js[0]["state"] == "JS_FAILED")
        assert jobs[0]["join_error"] == JOIN_REFUSED
        assert jobs[0]["error"] == JOIN_REFUSED
        assert jobs[0]["joined_at_ms"] is None


async def test_a_worker_that_does_not_register_first_is_disconnected(
    lk: RunningEmulator,
) -> None:
    headers = {"Authorization": f"Bearer {_token(lk, api.VideoGrants(agent=True))}"}
    async with connect(_ws_url(lk), additional_headers=headers) as ws:
        await ws.send(agent.WorkerMessage(ping=agent.WorkerPing(timestamp=1)).SerializeToString())
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(WAIT_S):
                await ws.recv()
    assert (await lk.control.state())["workers"] == []
