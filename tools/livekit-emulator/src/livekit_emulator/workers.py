"""The agent worker protocol: WebSocket `/agent`, as LiveKit's server speaks it to livekit-agents.

Frames are binary protobuf: the worker sends `livekit.WorkerMessage`, the server answers
`livekit.ServerMessage`. The worker registers first (`register` -> `register{worker_id}`); each
agent dispatch whose `agent_name` matches a registered worker becomes a job (`AJ_...`) offered
with `availability`; a worker that answers `available` gets `assignment{job, url, token}` with a
room-join JWT for the identity it chose, then reports `update_job` and `update_worker`; pings get
pongs; when the room closes, running jobs get `termination`.

The worker then joins the room over `/rtc` (see `rtc.py`) with the assignment's token; the job
records when its participant joined (`joined_at_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError
from livekit import api
from livekit.protocol import agent, models
from livekit.protocol.agent_dispatch import AgentDispatch
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from livekit_emulator import ids
from livekit_emulator.auth import authenticate
from livekit_emulator.errors import AuthError
from livekit_emulator.state import EmulatorState, JobRecord, RoomRecord, WorkerRecord

if TYPE_CHECKING:
    from livekit_emulator.config import EmulatorConfig

log = logging.getLogger("livekit_emulator.workers")

# How long a worker has to answer an availability request before the next one is asked.
AVAILABILITY_TIMEOUT_S = 10.0
# The room-join token of an assignment (LiveKit issues it for the job's lifetime).
ASSIGNMENT_TOKEN_TTL = timedelta(hours=6)
SERVER_VERSION = "1.9.0-emulator"
PROTOCOL_VERSION = 16
AGENT_PROTOCOL_VERSION = 1

_FINAL = ("JS_SUCCESS", "JS_FAILED", "JS_CANCELLED")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(eq=False)
class _Connection:
    """A registered worker's socket, its send lock and its unanswered availability requests."""

    record: WorkerRecord
    websocket: WebSocket
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: dict[str, asyncio.Future[agent.AvailabilityResponse]] = field(default_factory=dict)

    async def send(self, message: agent.ServerMessage) -> None:
        async with self.send_lock:
            await self.websocket.send_bytes(message.SerializeToString())


class WorkerManager:
    """Registered workers and the jobs offered to them."""

    def __init__(self, config: EmulatorConfig, state: EmulatorState) -> None:
        self._config = config
        self._state = state
        self._connections: dict[str, _Connection] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- dispatches become jobs --------------------------------------------------------------

    def on_dispatch(self, record: RoomRecord, dispatch: AgentDispatch) -> None:
        """A dispatch was added to a room: offer a job when a worker with its agent_name is here."""
        if not any(c.record.agent_name == dispatch.agent_name for c in self._live()):
            # LiveKit has nobody to send it to; a dispatch without a worker just waits.
            return
        job = JobRecord(
            id=ids.new_id(ids.AGENT_JOB),
            dispatch_id=dispatch.id,
            room=record.info.name,
            room_sid=record.info.sid,
            agent_name=dispatch.agent_name,
            metadata=dispatch.metadata,
            created_at_ms=_now_ms(),
        )
        self._state.jobs[job.id] = job
        proto = agent.Job(
            id=job.id,
            dispatch_id=dispatch.id,
            type=agent.JobType.JT_ROOM,
            room=models.Room(),
            metadata=dispatch.metadata,
            agent_name=dispatch.agent_name,
            state=agent.JobState(status=agent.JobStatus.JS_PENDING, updated_at=time.time_ns()),
        )
        proto.room.CopyFrom(record.info)
        proto.attributes.update(dict(dispatch.attributes))
        self._spawn(self._offer(job, proto))

    def on_room_closed(self, record: RoomRecord) -> None:
        """The room finished: its live jobs are terminated (or cancelled before assignment)."""
        for job in self._state.jobs.values():
            if job.room_sid != record.info.sid or job.status in _FINAL:
                continue
            conn = self._connections.get(job.worker_id or "")
            if job.assigned_at_ms is None or conn is None:
                job.status = "JS_CANCELLED"
                job.ended_at_ms = _now_ms()
                continue
            job.terminated_at_ms = _now_ms()
            message = agent.ServerMessage(termination=agent.JobTermination(job_id=job.id))
            self._spawn(self._send_quietly(conn, message))

    async def _offer(self, job: JobRecord, proto: agent.Job) -> None:
        for conn in self._candidates(job.agent_name):
            if job.status in _FINAL:
                return
            answer = await self._ask(conn, job, proto)
            if answer is None or not answer.available:
                job.declined_by.append(conn.record.id)
                continue
            job.accepted_at_ms = _now_ms()
            job.worker_id = conn.record.id
            job.participant_identity = answer.participant_identity or f"agent-{job.id}"
            proto.state.worker_id = conn.record.id
            proto.state.participant_identity = job.participant_identity
            token = self._room_token(job, answer)
            assignment = agent.JobAssignment(job=proto, url=self._ws_url(conn), token=token)
            await self._send_quietly(conn, agent.ServerMessage(assignment=assignment))
            job.assigned_at_ms = _now_ms()
            log.info(
                "job assigned",
                extra={"job_id": job.id, "room": job.room, "worker_id": conn.record.id},
            )
            return
        job.status = "JS_FAILED"
        job.error = "no worker accepted the job"
        job.ended_at_ms = _now_ms()
        log.warning("job not accepted", extra={"job_id": job.id, "agent_name": job.agent_name})

    async def _ask(
        self, conn: _Connection, job: JobRecord, proto: agent.Job
    ) -> agent.AvailabilityResponse | None:
        future: asyncio.Future[agent.AvailabilityResponse] = (
            asyncio.get_running_loop().create_future()
        )
        conn.pending[job.id] = future
        job.offered_at_ms = _now_ms()
        try:
            await conn.send(agent.ServerMessage(availability=agent.AvailabilityRequest(job=proto)))
            return await asyncio.wait_for(future, AVAILABILITY_TIMEOUT_S)
        except (TimeoutError, WebSocketDisconnect, RuntimeError, ConnectionError):
            return None
        finally:
            conn.pending.pop(job.id, None)

    def _candidates(self, agent_name: str) -> list[_Connection]:
        """Workers for this agent, the least loaded first, full ones left out."""
        live = [
            c
            for c in self._live()
            if c.record.agent_name == agent_name and c.record.status == "WS_AVAILABLE"
        ]
        return sorted(live, key=lambda c: c.record.load)

    def _live(self) -> list[_Connection]:
        return [c for c in self._connections.values() if c.record.id in self._state.workers]

    def _room_token(self, job: JobRecord, answer: agent.AvailabilityResponse) -> str:
        """The room-join JWT of the assignment, for the identity the worker chose."""
        token = (
            api.AccessToken(self._config.api_key, self._config.api_secret)
            .with_identity(job.participant_identity)
            .with_name(answer.participant_name)
            .with_metadata(answer.participant_metadata)
            .with_attributes(dict(answer.participant_attributes))
            .with_kind("agent")
            .with_ttl(ASSIGNMENT_TOKEN_TTL)
            .with_grants(
                api.VideoGrants(
                    room_join=True, room=job.room, agent=True, can_update_own_metadata=True
                )
            )
        )
        return token.to_jwt()

    def _ws_url(self, conn: _Connection) -> str:
        url = conn.websocket.url
        return f"{url.scheme}://{url.netloc}"

    # -- the WebSocket ----------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        """`/agent`: authenticate (video.agent), register, then serve the worker until it leaves."""
        try:
            grants = authenticate(
                websocket.headers.get("authorization"),
                websocket.query_params.get("access_token"),
                self._config.keys,
            )
        except AuthError as exc:
            await websocket.send_denial_response(PlainTextResponse(str(exc), status_code=401))
            return
        if grants is None or not grants.video_flag("agent"):
            await websocket.send_denial_response(
                PlainTextResponse("permissions denied", status_code=401)
            )
            return
        await websocket.accept()
        conn = await self._register(websocket)
        if conn is None:
            return
        try:
            while True:
                data = await websocket.receive_bytes()
                message = agent.WorkerMessage()
                try:
                    message.ParseFromString(data)
                except DecodeError:
                    log.warning("undecodable worker message", extra={"worker_id": conn.record.id})
                    continue
                await self._handle(conn, message)
        except (WebSocketDisconnect, RuntimeError, KeyError):
            # KeyError: a text frame where bytes were expected ends the connection, as in LiveKit.
            pass
        finally:
            self._unregister(conn)

    async def _register(self, websocket: WebSocket) -> _Connection | None:
        try:
            first = agent.WorkerMessage()
            first.ParseFromString(await websocket.receive_bytes())
        except (WebSocketDisconnect, DecodeError, KeyError, RuntimeError):
            await _close(websocket)
            return None
        if first.WhichOneof("message") != "register":
            log.warning("worker did not register first")
            await _close(websocket, 1008)
            return None
        reg = first.register
        record = WorkerRecord(
            id=ids.new_id(ids.AGENT_WORKER),
            agent_name=reg.agent_name,
            type=agent.JobType.Name(reg.type),
            version=reg.version,
            namespace=reg.namespace,
            deployment=reg.deployment,
            connected_at_ms=_now_ms(),
        )
        conn = _Connection(record, websocket)
        response = agent.RegisterWorkerResponse(
            worker_id=record.id,
            server_info=models.ServerInfo(
                edition=models.ServerInfo.Edition.Standard,
                version=SERVER_VERSION,
                protocol=PROTOCOL_VERSION,
                agent_protocol=AGENT_PROTOCOL_VERSION,
                node_id="emulator",
            ),
        )
        await conn.send(agent.ServerMessage(register=response))
        self._connections[record.id] = conn
        self._state.workers[record.id] = record
        log.info(
            "worker registered",
            extra={"worker_id": record.id, "agent_name": record.agent_name, "version": reg.version},
        )
        return conn

    def _unregister(self, conn: _Connection) -> None:
        self._connections.pop(conn.record.id, None)
        self._state.workers.pop(conn.record.id, None)
        for future in conn.pending.values():
            if not future.done():
                future.cancel()
        for job in self._state.jobs.values():
            if job.worker_id == conn.record.id and job.status not in _FINAL:
                job.status = "JS_FAILED"
                job.error = job.error or "worker disconnected"
                job.ended_at_ms = _now_ms()
        log.info("worker disconnected", extra={"worker_id": conn.record.id})

    async def _handle(self, conn: _Connection, message: agent.WorkerMessage) -> None:
        which = message.WhichOneof("message")
        if which == "availability":
            future = conn.pending.get(message.availability.job_id)
            if future is not None and not future.done():
                future.set_result(message.availability)
        elif which == "update_job":
            self._update_job(conn, message.update_job)
        elif which == "update_worker":
            update = message.update_worker
            conn.record.status = agent.WorkerStatus.Name(update.status)
            conn.record.load = round(update.load, 4)
            conn.record.job_count = update.job_count
        elif which == "ping":
            conn.record.last_ping_ms = _now_ms()
            pong = agent.WorkerPong(last_timestamp=message.ping.timestamp, timestamp=_now_ms())
            await self._send_quietly(conn, agent.ServerMessage(pong=pong))
        elif which == "migrate_job":
            # A reconnecting worker reports the jobs it still runs: they are its again.
            for job_id in message.migrate_job.job_ids:
                job = self._state.jobs.get(job_id)
                if job is not None and job.status not in _FINAL:
                    job.worker_id = conn.record.id

    def _update_job(self, conn: _Connection, update: agent.UpdateJobStatus) -> None:
        job = self._state.jobs.get(update.job_id)
        if job is None or job.worker_id != conn.record.id:
            log.warning("update for an unknown job", extra={"job_id": update.job_id})
            return
        status = agent.JobStatus.Name(update.status)
        job.status = status
        if status == "JS_RUNNING" and job.running_at_ms is None:
            job.running_at_ms = _now_ms()
        if status in _FINAL:
            job.ended_at_ms = _now_ms()
            # The SDK reports no reason; a refused join is the reason the emulator knows of.
            # The SDK reports no reason; a refused join is the reason the emulator knows of.
            job.error = update.error or (job.join_error if status == "JS_FAILED" else "") or ""
        log.info("job status", extra={"job_id": job.id, "status": status, "error": job.error})

    async def _send_quietly(self, conn: _Connection, message: agent.ServerMessage) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
            await conn.send(message)

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def note_join(self, room: str, identity: str, error: str | None = None) -> None:
        """A participant joined over /rtc (or was refused): when it is a job's agent, the job
        says when (or why not)."""
        for job in self._state.jobs.values():
            if job.participant_identity == identity and job.room == room:
                if error is None:
                    job.joined_at_ms = job.joined_at_ms or _now_ms()
                else:
                    job.join_error = error

    def shutdown(self) -> None:
        """Stop offering jobs (the server is stopping)."""
        for task in list(self._tasks):
            task.cancel()


async def _close(websocket: WebSocket, code: int = 1000) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code)


def routes() -> list[Route | WebSocketRoute]:
    """The `/agent` route; it finds the emulator on `app.state.emulator`."""

    async def agent_ws(websocket: WebSocket) -> None:
        await websocket.app.state.emulator.workers.serve(websocket)

    return [
        WebSocketRoute("/agent", agent_ws),
    ]
