"""call-orchestrator's use cases, as plain async functions over the store and LiveKit ports."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from livekit.protocol.models import ParticipantInfo
from livekit.protocol.webhook import WebhookEvent

from call_orchestrator.adapters.livekit import Answered, DialRequest, LiveKitPort
from call_orchestrator.adapters.numbers_api import NumbersSource
from call_orchestrator.adapters.postgres import (
    CallInProgress,
    CallRow,
    NewCall,
    Store,
    TooManyCalls,
    decode_cursor,
    encode_cursor,
    utcnow,
)
from call_orchestrator.agent_failures import check_agent_can_run, failure_of
from call_orchestrator.config import Settings
from call_orchestrator.domain import (
    TEXT_AGENT_MESSAGE,
    CallError,
    internal_error,
    new_call_id,
    number_inactive,
    outbound_identity,
    outbound_room_name,
)
from call_orchestrator.schemas import (
    CallPage,
    OutboundCallRequest,
    OutboundCallResponse,
    RecordingConsentResult,
)
from talkifai_common.agent_capabilities import RuntimeBoard
from talkifai_common.auth import Principal
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.errors import Conflict, NotFound, ValidationFailed
from talkifai_common.events import (
    AgentData,
    CallAgentRef,
    CallData,
    CallDirection,
    CallStatus,
    CloudEvent,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
    RecordingMode,
    SyncState,
)
from talkifai_common.jobs import OutboundJob
from talkifai_common.periodic import repeat
from talkifai_common.voice import Architecture

JITTER = 0.2  # spread of the periodic work of several replicas

log = structlog.get_logger(__name__)
VOICE_ARCHITECTURES = frozenset({Architecture.PIPELINE.value, Architecture.REALTIME.value})
ATTR_CALL_ID = "sip.callID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_TRUNK_NUMBER = "sip.trunkPhoneNumber"
ATTR_RULE_ID = "sip.ruleID"


# Per-request durations (ms) of the outbound path, reported in the `Server-Timing` header so that
# LiveKit's share of a call set-up can be told from ours.
_timings: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "timings", default=None
)


def start_timings() -> dict[str, float]:
    """Collect this request's segment durations into the returned dict."""
    timings: dict[str, float] = {}
    _timings.set(timings)
    return timings


@contextlib.contextmanager
def _segment(name: str) -> Iterator[None]:
    timings = _timings.get()
    if timings is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + (time.perf_counter() - started) * 1000


@dataclass
class BackgroundTasks:
    """Tasks that outlive a request (calls placed without waiting, polls); drained on shutdown."""

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background_task.failed", task=task.get_name(), error=repr(exc))

    async def drain(self, grace_s: float) -> None:
        """Let running tasks finish for up to `grace_s`, then cancel the rest."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task


@dataclass
class Context:
    """What the handlers need, built once by `create_app`."""

    store: Store
    livekit: LiveKitPort
    settings: Settings
    background: BackgroundTasks
    runtimes: RuntimeBoard


# --- read models -----------------------------------------------------------------------------


async def on_agent_event(store: Store, event: CloudEvent[AgentData]) -> bool:
    """Keep the agent read model; idempotent and order-safe by `version`."""
    deleted = event.name is EventName.AGENT_DELETED
    return await store.apply_agent(event.orgid, event.data, deleted=deleted)


async def on_number_event(store: Store, event: CloudEvent[PhoneNumberData]) -> bool:
    """Keep the number read model; a deleted number leaves it (its calls stay)."""
    deleted = event.name is EventName.PHONE_NUMBER_DELETED
    return await store.apply_number(event.orgid, event.data, deleted=deleted)


async def on_sync_event(store: Store, event: CloudEvent[PhoneNumberSyncData]) -> bool:
    """Keep which LiveKit trunks carry each number (trunk-sync's reports)."""
    return await store.apply_sync(event.data)


# --- outbound calls --------------------------------------------------------------------------


def _number(field_name: str, raw: str) -> str:
    try:
        return normalize_e164(raw)
    except InvalidPhoneNumber as exc:
        raise CallError(400, "invalid_number", f"Invalid number: {field_name}: {exc}") from exc


def request_hash(body: OutboundCallRequest) -> str:
    """A fingerprint of a request, so an Idempotency-Key reused for another body is caught."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


async def place_outbound_call(
    ctx: Context, principal: Principal, body: OutboundCallRequest
) -> tuple[int, OutboundCallResponse]:
    """The seed's outbound call: validate, find the number, dispatch the agent, dial.

    The agent's dispatch runs while the call is recorded (the dial waits for both): the lookup
    has already refused a room a live call holds and an organization at its limit, and a request
    that loses a race for either to another one withdraws its dispatch."""
    to_number = _number("to_number", body.to_number)
    from_number = _number("from_number", body.from_number)
    limit = ctx.settings.max_concurrent_calls_per_org
    with _segment("lookup"):
        target = await ctx.store.outbound_target(
            principal.org_id, from_number, to_number, max_live_per_org=limit
        )
    if target is None:
        raise CallError(404, "phone_number_not_found", "Phone number not found")
    if target.inactive:
        raise number_inactive(from_number)
    if target.agent_architecture not in VOICE_ARCHITECTURES:
        raise CallError(400, "text_agent", TEXT_AGENT_MESSAGE)
    check_agent_can_run(ctx.runtimes, ctx.settings.agent_name, target.agent_provider_keys)
    if not target.outbound_trunk_id:
        raise CallError(
            409,
            "trunk_not_synced",
            f"The outbound SIP trunk of {from_number} is not synced with LiveKit yet; "
            "check the number's sync status and try again shortly",
        )
    if target.room_in_use:
        raise _call_in_progress(from_number, to_number)
    if target.org_at_limit:
        raise _too_many_calls(limit)
    room_name = outbound_room_name(target.agent_id, to_number, from_number)
    identity = outbound_identity(to_number)
    call_id = new_call_id()
    job = OutboundJob(
        agent_id=target.agent_id,
        call_id=call_id,
        phone_number_id=target.phone_number_id,
        from_number=from_number,
        to_number=to_number,
        metadata=body.metadata or {},
    )
    dispatch = asyncio.create_task(_dispatch(ctx, room_name, job))
    try:
        with _segment("create"):
            call = await ctx.store.create_call(
                NewCall(
                    id=call_id,
                    org_id=principal.org_id,
                    direction=CallDirection.OUTBOUND,
                    phone_number_id=target.phone_number_id,
                    phone_number=from_number,
                    from_number=from_number,
                    to_number=to_number,
                    agent_id=target.agent_id,
                    agent_name=target.agent_name,
                    room_name=room_name,
                    webhook_url=target.webhook_url,
                    recording_mode=target.recording_mode,
                    participant_identity=identity,
                ),
                max_live_per_org=limit,
            )
    except BaseException as exc:
        ctx.background.spawn(_withdraw(ctx, room_name, dispatch), name=f"withdraw-{call_id}")
        if isinstance(exc, TooManyCalls):
            raise _too_many_calls(limit) from exc
        if isinstance(exc, CallInProgress):
            raise _call_in_progress(from_number, to_number) from exc
        raise
    log.info("call.initiated", call_id=call.data.id, room=room_name, org_id=principal.org_id)
    dial = DialRequest(
        trunk_id=target.outbound_trunk_id,
        to_number=to_number,
        from_number=from_number,
        room_name=room_name,
        participant_identity=identity,
        ringing_timeout_s=body.ringing_timeout_s or ctx.settings.default_ringing_timeout_s,
        max_call_duration_s=body.max_call_duration_s,
    )
    response = OutboundCallResponse(
        message="Call initiated successfully",
        room_name=room_name,
        agent=CallAgentRef(id=target.agent_id, name=target.agent_name),
        from_number=from_number,
        to_number=to_number,
        call_id=call.data.id,
        status=CallStatus.INITIATED.value,
    )
    if not body.wait_until_answered:
        # The dispatch answers within LiveKit's deadline: a LiveKit that is slow or down is a 503
        # now rather than a 202 for a call that cannot be placed.
        await _dispatched(ctx, call, dispatch)
        ctx.background.spawn(_connect_quietly(ctx, call, dispatch, dial), name=f"call-{call_id}")
        return 202, response
    answered = await connect_call(ctx, call, dispatch, dial)
    return 200, response.model_copy(update={"status": answered.data.status.value})


def _call_in_progress(from_number: str, to_number: str) -> CallError:
    return CallError(
        409, "call_in_progress", f"A call from {from_number} to {to_number} is already in progress"
    )


def _too_many_calls(limit: int) -> CallError:
    return CallError(
        429,
        "too_many_calls",
        f"Your organization already has {limit} calls in progress; try again when one ends",
    )


async def _dispatch(ctx: Context, room_name: str, job: OutboundJob) -> str:
    """Dispatch the call's agent to its room; the dispatch id (CallError when LiveKit fails)."""
    with _segment("dispatch"):
        return await ctx.livekit.dispatch_agent(
            room_name, ctx.settings.agent_name, job.model_dump_json()
        )


async def _withdraw(ctx: Context, room_name: str, dispatch: asyncio.Task[str]) -> None:
    """Delete the dispatch of a call that was not recorded, so its agent leaves (or never comes)."""
    try:
        dispatch_id = await dispatch
    except Exception:
        return  # nothing was dispatched
    try:
        await ctx.livekit.withdraw_dispatch(room_name, dispatch_id)
    except Exception as exc:
        log.warning(
            "livekit.withdraw_dispatch_failed",
            room=room_name,
            dispatch_id=dispatch_id,
            error=str(exc),
        )
        return
    log.info("call.dispatch_withdrawn", room=room_name, dispatch_id=dispatch_id)


async def _dispatched(ctx: Context, call: CallRow, dispatch: asyncio.Task[str]) -> None:
    """Wait for the agent's dispatch; a failure is recorded on the call and raised."""
    try:
        await dispatch
    except CallError as exc:
        outcome = await _record_failure(ctx, call, exc)
        if outcome is exc:
            raise
        raise outcome from exc


async def _connect_quietly(
    ctx: Context, call: CallRow, dispatch: asyncio.Task[str], dial: DialRequest
) -> None:
    # The outcome is in the call's history, events and webhooks; nobody waits for the error.
    with contextlib.suppress(CallError):
        await connect_call(ctx, call, dispatch, dial)


async def connect_call(
    ctx: Context, call: CallRow, dispatch: asyncio.Task[str], dial: DialRequest
) -> CallRow:
    """Wait for the agent's dispatch, dial; record the answer or the failure (CallError raised)."""
    poller: asyncio.Task[CallRow | None] | None = None
    try:
        dispatch_id = await dispatch
        poller = asyncio.create_task(_watch_ringing(ctx, call, dial))
        with _segment("dial"):
            answer = await ctx.livekit.dial(dial)
    except CallError as exc:
        outcome = await _record_failure(ctx, _newest(call, poller), exc)
        if outcome is exc:
            raise
        raise outcome from exc
    except Exception as exc:
        log.exception("call.connect_failed", call_id=call.data.id)
        error = await _record_failure(ctx, _newest(call, poller), internal_error())
        raise error from exc
    finally:
        if poller is not None:
            poller.cancel()
    with _segment("answer"):
        return await _record_answer(ctx, _newest(call, poller), answer, dispatch_id)


def _newest(call: CallRow, poller: asyncio.Task[CallRow | None] | None) -> CallRow:
    """The newest snapshot of the call this request holds: the ringing poller's, if it wrote one
    (the store checks the snapshot anyway; a newer one saves it a read)."""
    if poller is None or not poller.done() or poller.cancelled() or poller.exception():
        return call
    return poller.result() or call


async def _watch_ringing(ctx: Context, call: CallRow, dial: DialRequest) -> CallRow | None:
    """While dialing, poll the participant's `sip.callStatus` for `ringing` (no webhook says so);
    the ringing call, if it wrote it."""
    interval = ctx.settings.answer_poll_interval_s
    deadline = asyncio.get_running_loop().time() + dial.ringing_timeout_s + 5
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(interval)
        try:
            status = await ctx.livekit.call_status(dial.room_name, dial.participant_identity)
        except Exception as exc:
            log.debug("call.status_poll_failed", call_id=call.data.id, error=str(exc))
            continue
        if status == "ringing":
            return await ctx.store.advance(call, CallStatus.RINGING)
        if status in ("active", "hangup") or status is None:
            return None
    return None


async def _record_failure(ctx: Context, call: CallRow, error: CallError) -> CallError:
    """Record the call's failure; the route's answer: `error`, or the agent's failure when the
    agent failed first (agent-runtime reports it before hanging up, which ends the dial)."""
    failed = await ctx.store.advance(
        call,
        CallStatus.FAILED,
        failure_reason=error.failure_reason,
        sip_status_code=error.sip_status_code,
    )
    if failed is None:
        current = await ctx.store.get_call(call.data.id)
        agent_error = failure_of(current.data) if current else None
        if agent_error is not None:
            return agent_error
    log.info(
        "call.failed",
        call_id=call.data.id,
        reason=error.failure_reason,
        sip_status_code=error.sip_status_code,
    )
    # The dispatched agent would otherwise wait in the room.
    ctx.background.spawn(_close_room(ctx, call.data.room_name), name=f"close-{call.data.id}")
    return error


async def _close_room(ctx: Context, room_name: str) -> None:
    try:
        await ctx.livekit.delete_room(room_name)
    except Exception as exc:
        log.info("livekit.delete_room_failed", room=room_name, error=str(exc))


async def _record_answer(
    ctx: Context, call: CallRow, answer: Answered, dispatch_id: str
) -> CallRow:
    answered = await ctx.store.advance(
        call,
        CallStatus.ANSWERED,
        sip_call_id=answer.sip_call_id,
        participant_identity=answer.participant_identity,
        dispatch_id=dispatch_id,
    )
    if answered is None:
        # A webhook already finished it (the callee hung up at once), or the agent failed.
        current = await ctx.store.get_call(call.data.id)
        assert current is not None
        if (agent_error := failure_of(current.data)) is not None:
            # The callee answered a call whose agent is gone: hang up rather than leave silence.
            ctx.background.spawn(
                _close_room(ctx, call.data.room_name), name=f"close-{call.data.id}"
            )
            raise agent_error
        return current
    log.info("call.answered", call_id=call.data.id, sip_call_id=answer.sip_call_id)
    if answered.participant_left_at is not None:
        # The callee hung up before we recorded the answer (webhook first).
        ended = await ctx.store.transition(call.data.id, CallStatus.COMPLETED)
        return ended or answered
    if answered.recording_mode == RecordingMode.ALL.value:
        answered = await start_recording(ctx, answered) or answered
    return answered


async def start_recording(ctx: Context, call: CallRow) -> CallRow | None:
    """Start the call's audio egress and store its id; None (logged) if LiveKit refuses."""
    try:
        egress_id = await ctx.livekit.start_audio_recording(call.data.room_name)
    except Exception as exc:
        log.warning("recording.start_failed", call_id=call.data.id, error=str(exc))
        return None
    log.info("recording.started", call_id=call.data.id, egress_id=egress_id)
    return await ctx.store.update_fields(call.data.id, recording_egress_id=egress_id)


# --- call history ----------------------------------------------------------------------------


async def list_calls(
    store: Store,
    principal: Principal,
    *,
    phone_number: str | None,
    direction: CallDirection | None,
    status: CallStatus | None,
    limit: int,
    cursor: str | None,
) -> CallPage:
    """The organization's calls, newest first."""
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise ValidationFailed.for_field("cursor", "Cursor is not valid") from exc
    number = None
    if phone_number:
        try:
            number = normalize_e164(phone_number)
        except InvalidPhoneNumber as exc:
            raise ValidationFailed.for_field("phone_number", str(exc)) from exc
    rows = await store.list_calls(
        principal.org_id,
        phone_number=number,
        direction=direction.value if direction else None,
        status=status.value if status else None,
        limit=limit + 1,
        after=after,
    )
    items = [r.data for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.started_at, last.id)
    return CallPage(items=items, next_cursor=next_cursor)


async def get_call(store: Store, principal: Principal, call_id: str) -> CallData:
    """One call of the organization."""
    call = await store.get_call(call_id, principal.org_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    return call.data


# --- LiveKit webhooks ------------------------------------------------------------------------


async def on_livekit_event(ctx: Context, event: WebhookEvent) -> str:
    """Drive call history from a verified LiveKit webhook; returns what it did (for logs)."""
    if not await ctx.store.first_time_webhook(event.id):
        return "duplicate"
    kind = event.event
    room_name = event.room.name if event.HasField("room") else ""
    if kind == "participant_joined" and event.HasField("participant"):
        return await _participant_joined(ctx, room_name, event.participant)
    if kind == "participant_left" and event.HasField("participant"):
        return await _participant_left(ctx, room_name, event.participant)
    if kind == "room_finished" and room_name:
        return await _room_finished(ctx, room_name)
    return "ignored"


def _is_sip(participant: ParticipantInfo) -> bool:
    return participant.kind == ParticipantInfo.Kind.SIP or ATTR_CALL_ID in participant.attributes


async def _participant_joined(ctx: Context, room_name: str, participant: ParticipantInfo) -> str:
    if not _is_sip(participant) or not room_name:
        return "ignored"
    existing = await ctx.store.call_in_room(room_name)
    if existing is not None and existing.data.status not in (
        CallStatus.COMPLETED,
        CallStatus.FAILED,
    ):
        return "known"
    attrs = participant.attributes
    if existing is not None and existing.data.direction is CallDirection.OUTBOUND:
        return "known"
    if ATTR_RULE_ID not in attrs and room_name.startswith("outbound_"):
        return "ignored"
    ours, caller = attrs.get(ATTR_TRUNK_NUMBER, ""), attrs.get(ATTR_PHONE_NUMBER, "")
    try:
        ours, caller = normalize_e164(ours), normalize_e164(caller) if caller else "unknown"
    except InvalidPhoneNumber:
        log.warning("webhook.inbound_unknown_number", room=room_name)
        return "ignored"
    target = await ctx.store.inbound_target(ours)
    if target is None:
        log.warning("webhook.inbound_number_not_in_read_model", room=room_name)
        return "ignored"
    try:
        call = await ctx.store.create_call(
            NewCall(
                id=new_call_id(),
                org_id=target.org_id,
                direction=CallDirection.INBOUND,
                phone_number_id=target.phone_number_id,
                phone_number=ours,
                from_number=caller,
                to_number=ours,
                agent_id=target.agent_id or None,
                agent_name=target.agent_name or None,
                room_name=room_name,
                webhook_url=target.webhook_url,
                recording_mode=target.recording_mode,
                participant_identity=participant.identity,
                sip_call_id=attrs.get(ATTR_CALL_ID),
            ),
            max_live_per_org=None,
            # LiveKit SIP puts an inbound caller in the room once it accepted the INVITE.
            then=CallStatus.ANSWERED,
        )
    except CallInProgress:
        return "known"
    log.info("call.inbound", call_id=call.data.id, room=room_name, org_id=target.org_id)
    if call.recording_mode == RecordingMode.ALL.value:
        await start_recording(ctx, call)
    return "inbound_call"


async def _participant_left(ctx: Context, room_name: str, participant: ParticipantInfo) -> str:
    if not _is_sip(participant) or not room_name:
        return "ignored"
    call = await ctx.store.call_in_room(room_name)
    if call is None or (
        call.participant_identity and call.participant_identity != participant.identity
    ):
        return "ignored"
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.store.transition(call.data.id, CallStatus.COMPLETED)
        return "completed" if done else "already_final"
    if call.data.status in (CallStatus.INITIATED, CallStatus.RINGING):
        # The dialer owns the outcome before the answer; note the departure for it.
        await ctx.store.update_fields(call.data.id, participant_left_at=utcnow())
        return "left_before_answer"
    return "ignored"


async def _room_finished(ctx: Context, room_name: str) -> str:
    call = await ctx.store.call_in_room(room_name)
    if call is None:
        return "ignored"
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.store.transition(call.data.id, CallStatus.COMPLETED)
        return "completed" if done else "already_final"
    if call.data.status in (CallStatus.INITIATED, CallStatus.RINGING):
        # Only a call whose dialer cannot still be waiting (ringing window over) is abandoned.
        age = (utcnow() - call.data.started_at).total_seconds()
        if age > ctx.settings.live_call_check_after_s:
            await ctx.store.transition(call.data.id, CallStatus.FAILED, failure_reason="abandoned")
            return "abandoned"
    return "ignored"


# --- calls whose end LiveKit never reported ---------------------------------------------------


async def close_calls_without_room(ctx: Context, *, batch: int = 200) -> int:
    """End live calls whose room LiveKit no longer has (their webhooks were lost: we were down,
    or LiveKit gave up): answered ones complete, the others fail as abandoned. Each frees its
    organization's live-call slot. Only calls older than any ringing window are looked at, so
    no dialer is still waiting on them. Returns how many it ended."""
    started_before = utcnow() - timedelta(seconds=ctx.settings.live_call_check_after_s)
    ended = 0
    after: tuple[datetime, str] | None = None
    while calls := await ctx.store.live_calls(started_before, batch, after):
        after = (calls[-1].data.started_at, calls[-1].data.id)
        rooms = await ctx.livekit.existing_rooms(sorted({c.data.room_name for c in calls}))
        for call in calls:
            if call.data.room_name not in rooms:
                ended += await _end_without_webhook(ctx, call)
        if len(calls) < batch:
            break
    return ended


async def _end_without_webhook(ctx: Context, call: CallRow) -> int:
    if call.data.status is CallStatus.ANSWERED:
        done = await ctx.store.advance(call, CallStatus.COMPLETED)
    else:
        done = await ctx.store.advance(call, CallStatus.FAILED, failure_reason="abandoned")
    if done is None:
        return 0
    log.warning(
        "call.ended_without_webhook",
        call_id=call.data.id,
        room=call.data.room_name,
        status=done.data.status.value,
    )
    return 1


async def refresh_read_model(store: Store, numbers: NumbersSource) -> tuple[int, int]:
    """Bring the read model up to numbers-api's current numbers and their last syncs: what the
    event stream no longer holds. Version-guarded like the events, so it never moves a number
    back, and a number deleted since (a tombstone) stays deleted. Returns (seen, changed).

    A number the read model holds but the list did not show may have been created during the
    listing: numbers-api is asked for it, and only a 404 removes it (with a tombstone).
    """
    before = await store.read_model_numbers()
    seen: set[str] = set()
    changed = 0
    async for page in numbers.pages():
        held = await store.read_model_versions([n.id for n in page])
        for number in page:
            seen.add(number.id)
            number_version, sync_version = held.get(number.id, (None, None))
            if (number_version is None or number_version < number.version) and (
                await store.apply_number(number.org_id, number, deleted=False)
            ):
                changed += 1
            sync = number.sync
            if (
                sync.state is SyncState.SYNCED
                and sync.synced_at is not None
                and (sync_version is None or sync_version < number.version)
            ):
                await store.apply_sync(
                    PhoneNumberSyncData(
                        phone_number_id=number.id,
                        phone_number=number.phone_number,
                        version=number.version,
                        state=SyncState.SYNCED,
                        resources=number.livekit,
                        at=sync.synced_at,
                    )
                )
    for number_id, version in before.items():
        if number_id not in seen and not await numbers.exists(number_id):
            await store.forget_number(number_id, version)
            changed += 1
    return len(seen), changed


async def refresh_read_model_periodically(
    store: Store, numbers: NumbersSource, interval_s: float
) -> None:
    """`refresh_read_model` at start and every `interval_s` (retried within seconds after a
    failure: numbers-api may start after us), until cancelled."""

    async def refresh() -> None:
        seen, changed = await refresh_read_model(store, numbers)
        log.info("read_model.refreshed", numbers=seen, changed=changed)

    await repeat(refresh, interval_s, failure_event="read_model.refresh_failed", jitter=JITTER)


async def check_live_calls_periodically(ctx: Context) -> None:
    """`close_calls_without_room` every `live_call_check_interval_s`, until cancelled."""
    await repeat(
        lambda: close_calls_without_room(ctx),
        ctx.settings.live_call_check_interval_s,
        failure_event="call.live_check_failed",
        first_now=False,
        jitter=JITTER,  # replicas drift apart instead of checking in step
    )


# --- recording consent (agent-runtime) -------------------------------------------------------


async def record_consent(ctx: Context, call_id: str) -> RecordingConsentResult:
    """The caller consented: start the recording of a `consent` number's answered call."""
    call = await ctx.store.get_call(call_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    if call.data.recording_egress_id:
        return RecordingConsentResult(
            call_id=call_id, recording_egress_id=call.data.recording_egress_id
        )
    if call.recording_mode != RecordingMode.CONSENT.value:
        raise Conflict(
            f"Call {call_id} is on a number whose recording mode is {call.recording_mode}, "
            "not consent"
        )
    if call.data.status is not CallStatus.ANSWERED:
        raise Conflict(f"Call {call_id} is {call.data.status.value}; only answered calls record")
    await ctx.store.update_fields(call_id, recording_consent_at=utcnow())
    started = await start_recording(ctx, call)
    if started is None or not started.data.recording_egress_id:
        raise Conflict(f"The recording of call {call_id} could not be started")
    return RecordingConsentResult(
        call_id=call_id, recording_egress_id=started.data.recording_egress_id
    )


async def record_consent_in_room(ctx: Context, room_name: str) -> RecordingConsentResult:
    """`record_consent` for the call in a room."""
    call = await ctx.store.call_in_room(room_name)
    if call is None:
        raise NotFound(f"No call in room {room_name}")
    return await record_consent(ctx, call.data.id)


def json_body(model: Any) -> Any:
    """A model as JSON-ready data (for idempotent replay)."""
    return json.loads(model.model_dump_json())
