"""`/rtc`: LiveKit's client signalling and WebRTC media, as livekit-server serves the v0 path.

One `RtcSession` per joined participant. Its WebSocket carries protobuf `SignalRequest` /
`SignalResponse` messages; its two peer connections (aiortc) are the ones a LiveKit client opens:
the publisher (the client offers, the server answers; the client's data channels `_reliable` and
`_lossy` and its published tracks) and the subscriber (the server offers: the server's data
channels and a copy of every other participant's published audio). The order follows
livekit-server (`pkg/rtc/room.go` Join, `pkg/rtc/participant.go`): JoinResponse
(`subscriber_primary` when the participant may subscribe, `fast_publish` when it may publish),
existing tracks subscribed, then the subscriber offer. A track's remote stream id is
`<participant sid>|<track sid>`, which the SDK unpacks (`unpack_stream_id`).
`/rtc/v1` (single peer connection) answers 404, so clients use this path
(see `../shared/LIVEKIT.md`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from livekit.protocol import models, rtc
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from livekit_emulator import auth, ids
from livekit_emulator.errors import AuthError
from livekit_emulator.media import PublishedTrack, TrackFanout
from livekit_emulator.people import Person
from livekit_emulator.recording import RoomRecorder
from livekit_emulator.sipdialog import Dialog
from livekit_emulator.siprtp import RtpSession
from livekit_emulator.state import CallRecord, RoomRecord
from livekit_emulator.uploads import S3Target

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

log = logging.getLogger("livekit_emulator.rtc")

RELIABLE = "_reliable"
LOSSY = "_lossy"
# livekit-server's defaults (rtc.PingIntervalSeconds / PingTimeoutSeconds).
PING_INTERVAL_S = 5
PING_TIMEOUT_S = 15
SERVER_VERSION = "1.9.0"
# How long the server waits for the client's answer to a subscriber offer.
ANSWER_TIMEOUT_S = 15.0
JOIN_REFUSED = "livekit emulator: joins refused (injected fault)"
# The protocol version the server reports in its ServerInfo (livekit-server's current one).
CURRENT_PROTOCOL = 16


@dataclass
class Subscription:
    """One subscriber's copy of one published track."""

    sender: RTCRtpSender
    track: MediaStreamTrack


# aiortc's receiver keeps its jitter buffer here (a name-mangled private attribute).
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"


def forward_without_delay(receiver: RTCRtpReceiver) -> None:
    """LiveKit's SFU forwards RTP as it arrives; aiortc's receiver holds four audio packets
    (80 ms) before decoding the first. The emulator decodes only to fan audio out, so it must not
    add that delay: the receiver's jitter buffer gets no prefetch (loopback neither loses nor
    reorders packets). aiortc offers no setting for it, hence its private attribute; should a later
    aiortc rename it, this says so instead of silently adding the delay back."""
    if not hasattr(receiver, _JITTER_BUFFER):
        log.warning("aiortc's receiver has no %s: audio is forwarded 80 ms late", _JITTER_BUFFER)
        return
    setattr(receiver, _JITTER_BUFFER, JitterBuffer(capacity=16, prefetch=0))


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("1", "true")


def _now_ms() -> int:
    return int(time.time() * 1000)


class RtcSession:
    """One participant's signalling connection and peer connections."""

    def __init__(
        self,
        hub: MediaHub,
        websocket: WebSocket,
        record: RoomRecord,
        info: models.ParticipantInfo,
        *,
        auto_subscribe: bool,
    ) -> None:
        self.hub = hub
        self.websocket = websocket
        self.room = record
        self.info = info
        self.auto_subscribe = auto_subscribe
        self.published: dict[str, PublishedTrack] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = False
        self._send_lock = asyncio.Lock()
        self._pending_tracks: dict[str, models.TrackInfo] = {}
        self.publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.subscriber: RTCPeerConnection | None = None
        self.sub_channels: dict[str, RTCDataChannel] = {}
        self._pending_candidates: dict[int, list[str]] = {0: [], 1: []}
        self._sub_lock = asyncio.Lock()
        self._sub_dirty = False
        self._answer: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.publisher.on("datachannel", self._on_publisher_channel)
        self.publisher.on("track", self._on_publisher_track)

    @property
    def identity(self) -> str:
        return self.info.identity

    @property
    def can_subscribe(self) -> bool:
        return self.info.permission.can_subscribe

    # -- signalling out ------------------------------------------------------------------------

    async def send(self, response: rtc.SignalResponse) -> None:
        """Send one SignalResponse; a closed socket is ignored (the session is ending)."""
        async with self._send_lock:
            if self.websocket.application_state != WebSocketState.CONNECTED:
                return
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, ConnectionError):
                await self.websocket.send_bytes(response.SerializeToString())

    def send_soon(self, response: rtc.SignalResponse) -> None:
        """Send without waiting (from synchronous hooks)."""
        self.spawn(self.send(response))

    def spawn(self, coro: Coroutine[None, None, None]) -> None:
        """Run in the background; closing the session cancels it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the session ---------------------------------------------------------------------------

    async def start(self, others: Iterable[models.ParticipantInfo]) -> None:
        """Send the JoinResponse and, for a subscriber, the first subscriber offer."""
        join = rtc.JoinResponse(
            room=self.room.info,
            participant=self.info,
            other_participants=list(others),
            server_version=SERVER_VERSION,
            subscriber_primary=self.can_subscribe,
            ping_interval=PING_INTERVAL_S,
            ping_timeout=PING_TIMEOUT_S,
            server_info=models.ServerInfo(
                edition=models.ServerInfo.Edition.Standard,
                version=SERVER_VERSION,
                protocol=CURRENT_PROTOCOL,
                node_id="ND_emulator",
            ),
            fast_publish=self.info.permission.can_publish,
        )
        await self.send(rtc.SignalResponse(join=join))
        if self.can_subscribe:
            self.subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.sub_channels[RELIABLE] = self.subscriber.createDataChannel(RELIABLE, ordered=True)
            self.sub_channels[LOSSY] = self.subscriber.createDataChannel(
                LOSSY, ordered=False, maxRetransmits=0
            )
            if self.auto_subscribe:
                for other in self.hub.publishers_in(self.room.info.name):
                    if other is not self:
                        for track in other.published.values():
                            self.subscribe(other, track, negotiate=False)
            # In the background: the answer comes through the request loop.
            self.spawn(self.negotiate_subscriber())

    async def handle(self, request: rtc.SignalRequest) -> None:
        """Act on one SignalRequest from the client."""
        kind = request.WhichOneof("message")
        if kind == "offer":
            await self._on_offer(request.offer)
        elif kind == "answer":
            await self._on_answer(request.answer)
        elif kind == "trickle":
            await self._on_trickle(request.trickle)
        elif kind == "add_track":
            await self._on_add_track(request.add_track)
        elif kind == "mute":
            self._on_mute(request.mute)
        elif kind == "update_metadata":
            await self._on_update_metadata(request.update_metadata)
        elif kind == "ping_req":
            await self.send(
                rtc.SignalResponse(
                    pong_resp=rtc.Pong(
                        last_ping_timestamp=request.ping_req.timestamp, timestamp=_now_ms()
                    )
                )
            )
        elif kind == "ping":
            await self.send(rtc.SignalResponse(pong=_now_ms()))
        elif kind == "leave":
            self.hub.leave(self, models.DisconnectReason.CLIENT_INITIATED)
        else:
            # Subscription settings, layers, sync state and data tracks change nothing the
            # emulator forwards (audio is sent whole to every subscriber).
            log.debug("signal request ignored", extra={"kind": kind, "identity": self.identity})

    async def _on_offer(self, offer: rtc.SessionDescription) -> None:
        await self.publisher.setRemoteDescription(RTCSessionDescription(offer.sdp, offer.type))
        await self._apply_candidates(rtc.SignalTarget.PUBLISHER)
        answer = await self.publisher.createAnswer()
        await self.publisher.setLocalDescription(answer)
        local = self.publisher.localDescription
        await self.send(
            rtc.SignalResponse(
                answer=rtc.SessionDescription(type=local.type, sdp=local.sdp, id=offer.id)
            )
        )

    async def _on_answer(self, answer: rtc.SessionDescription) -> None:
        if self.subscriber is None:
            return
        await self.subscriber.setRemoteDescription(RTCSessionDescription(answer.sdp, answer.type))
        await self._apply_candidates(rtc.SignalTarget.SUBSCRIBER)
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(None)

    async def _on_trickle(self, trickle: rtc.TrickleRequest) -> None:
        self._pending_candidates[trickle.target].append(trickle.candidateInit)
        await self._apply_candidates(trickle.target)

    async def _apply_candidates(self, target: int) -> None:
        pc = self.publisher if target == rtc.SignalTarget.PUBLISHER else self.subscriber
        if pc is None or pc.remoteDescription is None:
            return  # kept until the description they belong to is set
        pending, self._pending_candidates[target] = self._pending_candidates[target], []
        for candidate_init in pending:
            try:
                data = json.loads(candidate_init)
                text = str(data.get("candidate", ""))
                if not text:
                    continue  # end of candidates
                candidate = candidate_from_sdp(text.removeprefix("candidate:"))
                candidate.sdpMid = data.get("sdpMid")
                candidate.sdpMLineIndex = data.get("sdpMLineIndex")
                await pc.addIceCandidate(candidate)
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                log.warning(
                    "trickle candidate refused",
                    extra={"identity": self.identity, "error": str(exc)},
                )

    async def _on_add_track(self, request: rtc.AddTrackRequest) -> None:
        if not self.info.permission.can_publish or request.type != models.TrackType.AUDIO:
            reason = (
                rtc.RequestResponse.Reason.NOT_ALLOWED
                if not self.info.permission.can_publish
                else rtc.RequestResponse.Reason.UNCLASSIFIED_ERROR
            )
            await self.send(
                rtc.SignalResponse(
                    request_response=rtc.RequestResponse(
                        request_id=0,
                        reason=reason,
                        message="the emulator forwards audio tracks only"
                        if reason != rtc.RequestResponse.Reason.NOT_ALLOWED
                        else "",
                        add_track=request,
                    )
                )
            )
            return
        info = models.TrackInfo(
            sid=ids.new_id(ids.TRACK),
            type=request.type,
            name=request.name,
            muted=request.muted,
            source=request.source,
            mime_type="audio/opus",
            stereo=request.stereo,
            disable_dtx=request.disable_dtx,
            stream=request.stream,
            audio_features=list(request.audio_features),
        )
        self._pending_tracks[request.cid] = info
        await self.send(
            rtc.SignalResponse(
                track_published=rtc.TrackPublishedResponse(cid=request.cid, track=info)
            )
        )

    def _on_mute(self, request: rtc.MuteTrackRequest) -> None:
        published = self.published.get(request.sid)
        if published is not None:
            published.info.muted = request.muted
            self.hub.participant_changed(self)

    async def _on_update_metadata(self, request: rtc.UpdateParticipantMetadata) -> None:
        if not self.info.permission.can_update_metadata:
            await self.send(
                rtc.SignalResponse(
                    request_response=rtc.RequestResponse(
                        request_id=request.request_id,
                        reason=rtc.RequestResponse.Reason.NOT_ALLOWED,
                        update_metadata=request,
                    )
                )
            )
            return
        if request.metadata:
            self.info.metadata = request.metadata
        if request.name:
            self.info.name = request.name
        self.hub.emulator.rooms.set_attributes(
            self.room.info.name, self.identity, dict(request.attributes)
        )
        await self.send(
            rtc.SignalResponse(
                request_response=rtc.RequestResponse(
                    request_id=request.request_id,
                    reason=rtc.RequestResponse.Reason.OK,
                    update_metadata=request,
                )
            )
        )

    # -- publishing ----------------------------------------------------------------------------

    def _on_publisher_channel(self, channel: RTCDataChannel) -> None:
        label = channel.label

        @channel.on("message")
        def on_message(message: bytes | str) -> None:
            if isinstance(message, bytes):
                self.hub.forward_data(self, label, message)

    def _on_publisher_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "audio":
            return
        for receiver in self.publisher.getReceivers():
            if receiver.track is track:
                forward_without_delay(receiver)
        info = self._pending_tracks.pop(track.id, None)
        if info is None and self._pending_tracks:
            # The SDP carried another id than the AddTrackRequest's cid: take the oldest.
            info = self._pending_tracks.pop(next(iter(self._pending_tracks)))
        if info is None:
            log.warning("track without AddTrackRequest", extra={"identity": self.identity})
            return
        published = PublishedTrack(
            info=info, fanout=TrackFanout(track, f"{self.identity}/{info.sid}")
        )
        self.published[info.sid] = published
        self.info.tracks.append(info)
        self.info.version += 1
        self.hub.track_published(self, published)

    # -- subscribing ---------------------------------------------------------------------------

    def subscribe(
        self, publisher: Publisher, track: PublishedTrack, *, negotiate: bool = True
    ) -> None:
        """Send a copy of `track` to this participant (renegotiating unless told not to)."""
        if self.subscriber is None or track.fanout is None or track.info.sid in self.subscriptions:
            return
        tap = track.fanout.tap()
        sender = self.subscriber.addTrack(tap)
        # The SDK finds the publisher and the track from the stream id (`PA_…|TR_…`).
        sender._stream_id = f"{publisher.info.sid}|{track.info.sid}"
        sender._track_id = track.info.sid
        self.subscriptions[track.info.sid] = Subscription(sender=sender, track=tap)
        self.hub.track_subscribed(publisher, track)
        if negotiate:
            self.spawn(self.negotiate_subscriber())

    def unsubscribe(self, track_sid: str) -> None:
        """Stop sending a track (its publisher left)."""
        subscription = self.subscriptions.pop(track_sid, None)
        if subscription is None or self.subscriber is None:
            return
        subscription.track.stop()
        # aiortc has no removeTrack: the transceiver stops sending and may be reused later.
        for transceiver in self.subscriber.getTransceivers():
            if transceiver.sender is subscription.sender:
                transceiver.sender.replaceTrack(None)
                transceiver.direction = "inactive"
        self.spawn(self.negotiate_subscriber())

    async def negotiate_subscriber(self) -> None:
        """Offer the subscriber connection's current state; one offer is outstanding at a time."""
        if self.subscriber is None or self.closed:
            return
        self._sub_dirty = True
        async with self._sub_lock:
            if not self._sub_dirty or self.closed:
                return
            self._sub_dirty = False
            pc = self.subscriber
            offer = await pc.createOffer()
            await pc.setLocalDescription(offer)
            self._answer = asyncio.get_running_loop().create_future()
            local = pc.localDescription
            await self.send(
                rtc.SignalResponse(offer=rtc.SessionDescription(type=local.type, sdp=local.sdp))
            )
            try:
                await asyncio.wait_for(self._answer, ANSWER_TIMEOUT_S)
            except TimeoutError:
                log.warning("subscriber answer timed out", extra={"identity": self.identity})

    # -- data ----------------------------------------------------------------------------------

    def deliver_data(self, label: str, payload: bytes) -> None:
        """Send a DataPacket on this participant's subscriber channel of that kind."""
        channel = self.sub_channels.get(label)
        if channel is not None and channel.readyState == "open":
            channel.send(payload)

    # -- the end -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close both peer connections and the socket."""
        self.closed = True
        if self._answer is not None and not self._answer.done():
            self._answer.cancel()
        for published in self.published.values():
            if published.fanout is not None:
                await published.fanout.aclose()
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        # After what is queued (a LeaveRequest) has gone out.
        async with self._send_lock:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                if self.websocket.application_state == WebSocketState.CONNECTED:
                    await self.websocket.close()


class Publisher(Protocol):
    """Whoever publishes audio in a room: a client over /rtc, or an emulated person."""

    info: models.ParticipantInfo
    published: dict[str, PublishedTrack]

    @property
    def identity(self) -> str: ...


@dataclass
class MediaHub:
    """Every `/rtc` session and emulated person, by room and identity, and what passes between
    them."""

    emulator: Emulator
    sessions: dict[str, dict[str, RtcSession]] = field(default_factory=dict)
    people: dict[str, dict[str, Person]] = field(default_factory=dict)
    recorders: dict[str, RoomRecorder] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        rooms = self.emulator.rooms
        rooms.participant_joined_hooks.append(self._on_participant_joined)
        rooms.participant_updated_hooks.append(self._on_participant_updated)
        rooms.participant_left_hooks.append(self._on_participant_left)
        self.emulator.calls.answered_hooks.append(self._on_call_answered)

    def sessions_in(self, room: str) -> list[RtcSession]:
        return list(self.sessions.get(room, {}).values())

    def spawn(self, coro: Coroutine[None, None, None]) -> None:
        """Run in the background; `aclose` waits for it (a recording being written)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def people_in(self, room: str) -> list[Person]:
        return list(self.people.get(room, {}).values())

    def publishers_in(self, room: str) -> list[Publisher]:
        return [*self.sessions_in(room), *self.people_in(room)]

    # -- emulated people -----------------------------------------------------------------------

    def _on_call_answered(self, call: CallRecord) -> None:
        # A person costs a paced audio stream: only calls with a script, or in a room where
        # someone listens over /rtc, get one (others are signalling-only, as before). A call over
        # the SIP edge always does: the line's RTP is bridged to the room, as livekit/sip does.
        if (
            call.script
            or call.answered_by == "machine"
            or self.sessions_in(call.room_name)
            or _line_of(call) is not None
        ):
            self.add_person(call)

    def add_person(self, call: CallRecord) -> Person | None:
        """Put the person on the phone end of `call` in its room: they publish the line's audio,
        hear everyone, and run their script."""
        record = self.emulator.rooms.get(call.room_name)
        info = record.participants.get(call.participant_identity) if record else None
        if info is None or call.person is not None or call.ended_at_ms is not None:
            return None
        person = Person(self, call, info, call.script, call.answered_by, _line_of(call))
        call.person = person
        self.people.setdefault(call.room_name, {})[info.identity] = person
        for other in self.sessions_in(call.room_name):
            for track in other.published.values():
                person.hear(other, track)
        for track in person.published.values():
            info.tracks.append(track.info)
        self.emulator.rooms.participant_updated(call.room_name, info)
        for track in person.published.values():
            self._record_new_track(call.room_name, person, track)
            for session in self.sessions_in(call.room_name):
                if session.auto_subscribe:
                    session.subscribe(person, track)
        person.start()
        return person

    # -- recordings ------------------------------------------------------------------------------

    def start_recording(
        self,
        egress_id: str,
        room: str,
        filepath: Path,
        upload: S3Target | None = None,
        storage_path: str = "",
    ) -> RoomRecorder:
        """Record every audio track of the room, now and later, until `stop_recording`."""
        recorder = RoomRecorder(
            egress_id, room, filepath, upload=upload, storage_path=storage_path or filepath.name
        )
        self.recorders[egress_id] = recorder
        for publisher in self.publishers_in(room):
            for track in publisher.published.values():
                recorder.hear(publisher, track)
        return recorder

    def stop_recording(self, egress_id: str) -> RoomRecorder | None:
        """Stop a recording; the caller writes its file."""
        recorder = self.recorders.pop(egress_id, None)
        if recorder is not None:
            recorder.stop()
        return recorder

    def _record_new_track(self, room: str, publisher: Publisher, track: PublishedTrack) -> None:
        for recorder in self.recorders.values():
            if recorder.room_name == room:
                recorder.hear(publisher, track)

    # -- the endpoint --------------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        """Validate the join (as `RTCService.validateInternal`), then run the session."""
        if websocket.url.path.rstrip("/").endswith("/v1"):
            # The single-peer-connection path is not served: the SDK falls back to /rtc on 404.
            await websocket.send_denial_response(PlainTextResponse("404 page not found", 404))
            return
        params = websocket.query_params
        grants, status, reason = self.validate(websocket.headers.get("authorization"), params)
        if grants is None:
            await websocket.send_denial_response(PlainTextResponse(reason, status_code=status))
            return
        room_name = grants.video_str("room")
        identity = str(grants.claims.get("sub", ""))
        faults = self.emulator.state.faults
        if faults.refuse_joins:
            faults.joins_refused += 1
            self.emulator.workers.note_join(room_name, identity, JOIN_REFUSED)
            await websocket.send_denial_response(PlainTextResponse(JOIN_REFUSED, status_code=503))
            return
        record = self.emulator.rooms.ensure_room(room_name)
        if (
            record.info.max_participants
            and len(record.participants) >= record.info.max_participants
        ):
            await websocket.send_denial_response(PlainTextResponse("room is full", status_code=503))
            return
        await websocket.accept()
        info = self._participant_info(grants, identity)
        session = RtcSession(
            self,
            websocket,
            record,
            info,
            auto_subscribe=_bool(params.get("auto_subscribe"), True),
        )
        # Someone now listens: the people on the room's answered calls come to the line.
        for call in list(self.emulator.state.calls.values()):
            if call.room_name == room_name and call.status == "active":
                self.add_person(call)
        others = [p for p in record.participants.values() if p.identity != identity]
        self.emulator.rooms.add_participant(record, info)
        self.sessions.setdefault(room_name, {})[identity] = session
        self.emulator.workers.note_join(room_name, identity)
        try:
            await session.start(others)
            while not session.closed:
                data = await websocket.receive_bytes()
                request = rtc.SignalRequest()
                request.ParseFromString(data)
                await session.handle(request)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            if not session.closed:
                self.leave(session, models.DisconnectReason.SIGNAL_CLOSE, notify=False)

    def validate(
        self, authorization: str | None, params: Mapping[str, str]
    ) -> tuple[auth.Grants | None, int, str]:
        """The join's grants, or the status and text LiveKit answers (`validateInternal`)."""
        try:
            grants = auth.authenticate(
                authorization, params.get("access_token"), self.emulator.config.keys
            )
        except AuthError as exc:
            return None, 401, exc.text
        if grants is None or not grants.video_flag("roomJoin") or not grants.video_str("room"):
            return None, 401, "permissions denied"
        if not grants.claims.get("sub"):
            return None, 400, "identity cannot be empty"
        return grants, 200, "success"

    def _participant_info(self, grants: auth.Grants, identity: str) -> models.ParticipantInfo:
        claims = grants.claims
        kind_name = str(claims.get("kind", "") or "standard").upper()
        kind = (
            models.ParticipantInfo.Kind.Value(kind_name)
            if kind_name in models.ParticipantInfo.Kind.keys()  # noqa: SIM118 (an enum wrapper)
            else models.ParticipantInfo.Kind.STANDARD
        )
        attributes = claims.get("attributes") or {}
        return models.ParticipantInfo(
            identity=identity,
            name=str(claims.get("name", "") or ""),
            metadata=str(claims.get("metadata", "") or ""),
            attributes={str(k): str(v) for k, v in dict(attributes).items()},
            kind=kind,  # type: ignore[arg-type]
            permission=models.ParticipantPermission(
                can_subscribe=grants.video_permission("canSubscribe"),
                can_publish=grants.video_permission("canPublish"),
                can_publish_data=grants.video_permission("canPublishData"),
                can_update_metadata=grants.video_flag("canUpdateOwnMetadata"),
                hidden=grants.video_flag("hidden"),
                agent=grants.video_flag("agent") or kind == models.ParticipantInfo.Kind.AGENT,
            ),
        )

    # -- room events ---------------------------------------------------------------------------

    def leave(
        self, session: RtcSession, reason: int, *, notify: bool = True, removed: bool = False
    ) -> None:
        """The participant leaves: by its own request, a closed socket or the server (`removed`:
        the room already took it out)."""
        if session.closed:
            return
        session.closed = True
        room = session.room.info.name
        in_room = self.sessions.get(room, {})
        if in_room.get(session.identity) is session:
            del in_room[session.identity]
            if not in_room:
                self.sessions.pop(room, None)
        for other in self.sessions_in(room):
            for sid in session.published:
                other.unsubscribe(sid)
        for person in self.people_in(room):
            person.forget(session.published)
        if notify:
            leave = rtc.LeaveRequest(
                can_reconnect=False,
                reason=reason,  # type: ignore[arg-type]
                action=rtc.LeaveRequest.Action.DISCONNECT,
            )
            session.send_soon(rtc.SignalResponse(leave=leave))
        if removed:
            self._broadcast(room, session.info)
        else:
            self.emulator.rooms.remove_participant(room, session.identity, reason)
        session.spawn(session.aclose())

    def track_published(self, session: RtcSession, track: PublishedTrack) -> None:
        """Tell the room about the track and send it to everyone subscribed automatically."""
        self.participant_changed(session)
        self.emulator.webhooks.notify(
            "track_published", room=session.room.info, participant=session.info, track=track.info
        )
        for other in self.sessions_in(session.room.info.name):
            if other is not session and other.auto_subscribe:
                other.subscribe(session, track)
        for person in self.people_in(session.room.info.name):
            person.hear(session, track)
        self._record_new_track(session.room.info.name, session, track)

    def track_subscribed(self, publisher: Publisher, track: PublishedTrack) -> None:
        """Someone receives `track`: the first time, its publisher is told, as livekit-server
        does (`sendTrackHasBeenSubscribed`); the SDK's audio output waits for it before
        playing (livekit-agents' room output does)."""
        if track.ever_subscribed:
            return
        track.ever_subscribed = True
        if isinstance(publisher, RtcSession):
            publisher.send_soon(
                rtc.SignalResponse(track_subscribed=rtc.TrackSubscribed(track_sid=track.info.sid))
            )

    def participant_changed(self, session: RtcSession) -> None:
        self._broadcast(session.room.info.name, session.info)

    def forward_data(self, sender: RtcSession, label: str, payload: bytes) -> None:
        """Relay a client's DataPacket, stamped with its sender, to its destinations."""
        if not sender.info.permission.can_publish_data:
            return
        packet = models.DataPacket()
        try:
            packet.ParseFromString(payload)
        except Exception:  # a malformed packet is dropped, as livekit-server does
            log.warning("malformed data packet", extra={"identity": sender.identity})
            return
        packet.participant_identity = sender.identity
        packet.participant_sid = sender.info.sid
        if packet.HasField("user"):
            packet.user.participant_identity = sender.identity
            packet.user.participant_sid = sender.info.sid
        destinations = set(packet.destination_identities)
        if packet.HasField("user"):
            destinations |= set(packet.user.destination_identities)
        self.send_data(
            sender.room.info.name, label, packet, exclude=sender.identity, only=destinations
        )

    def send_data(
        self,
        room: str,
        label: str,
        packet: models.DataPacket,
        *,
        exclude: str = "",
        only: set[str] | None = None,
    ) -> None:
        """Send a DataPacket to the room's participants (all, or those in `only`)."""
        payload = packet.SerializeToString()
        for other in self.sessions_in(room):
            if other.identity == exclude or (only and other.identity not in only):
                continue
            other.deliver_data(label, payload)
        for person in self.people_in(room):
            if person.identity != exclude and (not only or person.identity in only):
                person.on_data(packet)

    def _broadcast(self, room: str, info: models.ParticipantInfo) -> None:
        update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[info]))
        for session in self.sessions_in(room):
            session.send_soon(update)

    def _on_participant_joined(self, record: RoomRecord, info: models.ParticipantInfo) -> None:
        update = rtc.SignalResponse(update=rtc.ParticipantUpdate(participants=[info]))
        for session in self.sessions_in(record.info.name):
            if session.identity != info.identity:
                session.send_soon(update)

    def _on_participant_updated(self, room: str, info: models.ParticipantInfo) -> None:
        self._broadcast(room, info)

    def _on_participant_left(self, room: str, info: models.ParticipantInfo, reason: int) -> None:
        in_room = self.people.get(room, {})
        person = in_room.pop(info.identity, None)
        if person is not None:
            if not in_room:
                self.people.pop(room, None)
            for session in self.sessions_in(room):
                for sid in person.published:
                    session.unsubscribe(sid)
            for other in self.people_in(room):
                other.forget(person.published)
            asyncio.get_running_loop().create_task(person.aclose())
        left = self.sessions.get(room, {}).get(info.identity)
        if left is not None and not left.closed:
            # Removed by the server (RemoveParticipant, DeleteRoom, a duplicate identity).
            self.leave(left, reason, removed=True)
            return
        self._broadcast(room, info)

    def reset(self) -> None:
        """Disconnect everyone at once, without webhooks (the emulator's state is reset)."""
        people = [p for room in list(self.people) for p in self.people_in(room)]
        self.people.clear()
        for person in people:
            asyncio.get_running_loop().create_task(person.aclose())
        sessions = [s for room in list(self.sessions) for s in self.sessions_in(room)]
        self.sessions.clear()
        for session in sessions:
            session.closed = True
            leave = rtc.LeaveRequest(
                reason=models.DisconnectReason.SERVER_SHUTDOWN,
                action=rtc.LeaveRequest.Action.DISCONNECT,
            )
            session.send_soon(rtc.SignalResponse(leave=leave))
            session.spawn(session.aclose())

    async def aclose(self) -> None:
        """Disconnect everyone (the server is stopping)."""
        sessions = [s for room in list(self.sessions) for s in self.sessions_in(room)]
        for session in sessions:
            self.leave(session, models.DisconnectReason.SERVER_SHUTDOWN)
        people = [p for room in list(self.people) for p in self.people_in(room)]
        self.people.clear()
        for recorder in list(self.recorders.values()):
            egress = self.emulator.state.egresses.get(recorder.egress_id)
            if egress is not None:
                from livekit_emulator.egress import end_egress

                end_egress(self.emulator, egress)
        await asyncio.gather(
            *(s.aclose() for s in sessions),
            *(p.aclose() for p in people),
            *list(self._tasks),
            return_exceptions=True,
        )


def _line_of(call: CallRecord) -> RtpSession | None:
    """The RTP session of a call through the SIP edge, once its media is agreed."""
    line = call.line
    return line.media if isinstance(line, Dialog) else None
