"""SIP calls: `CreateSIPParticipant`, `TransferSIPParticipant`, carrier INVITEs and hangups.

An outbound call joins its participant at once (`sip.callStatus` = dialing), then plays out the
outcome programmed for the number: ringing, then active, or a final failure after which the
participant leaves. With `wait_until_answered` the API answers only when the call is decided.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.json_format import MessageToDict
from livekit.protocol.models import DisconnectReason, ParticipantInfo
from livekit.protocol.sip import (
    CreateSIPParticipantRequest,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPOutboundTrunkInfo,
    SIPParticipantInfo,
    SIPStatus,
    SIPTransferReason,
    SIPTransferStatus,
    TransferSIPParticipantRequest,
    TransferSIPParticipantResponse,
)

from livekit_emulator import auth, errors, ids, sip, sipdial, sipstatus
from livekit_emulator.auth import Grants
from livekit_emulator.errors import TwirpError, invalid
from livekit_emulator.index import normalize_number
from livekit_emulator.state import CallRecord, EmulatorState, Outcome
from livekit_emulator.twirp import Method

if TYPE_CHECKING:
    from livekit_emulator.rooms import RoomManager
    from livekit_emulator.runtime import Emulator
    from livekit_emulator.sipedge import SipEdge

ATTR_CALL_ID = "sip.callID"
ATTR_TRUNK_ID = "sip.trunkID"
ATTR_RULE_ID = "sip.ruleID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_TRUNK_NUMBER = "sip.trunkPhoneNumber"
ATTR_HOSTNAME = "sip.hostname"
ATTR_CALL_STATUS = "sip.callStatus"

AUTH_MISSING_CREDS = "sip server required auth, but no username or password was provided"
AUTH_MAX_RETRY = "max auth retry attempts reached for SIP invite"
REQUEST_TIMEOUT = "sip request timed out"

log = logging.getLogger("livekit_emulator.calls")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _seconds(duration: Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


class InboundRejected(errors.EmulatorError):
    """A carrier INVITE that LiveKit answers with a SIP failure instead of a room.

    `drop`: livekit/sip sends no final response at all (LiveKit OSS's dispatch evaluation
    answers DROP when no rule matches); the control API still reports the 404 it stands for.
    """

    def __init__(self, sip_status_code: int, reason: str, *, drop: bool = False) -> None:
        super().__init__(reason)
        self.sip_status_code = sip_status_code
        self.reason = reason
        self.drop = drop


@dataclass
class InboundResult:
    """Where an accepted inbound call landed."""

    room_name: str
    participant_identity: str
    participant_id: str
    sip_call_id: str
    sip_trunk_id: str
    sip_dispatch_rule_id: str
    agent_dispatch_ids: list[str] = field(default_factory=list)


def _disconnect_reason(code: int) -> int:
    """`classifyInviteError`: how the SIP participant's departure is explained."""
    if code in (404, 408, 480):
        return DisconnectReason.USER_UNAVAILABLE
    if 500 <= code < 600:
        return DisconnectReason.SIP_TRUNK_FAILURE
    if 400 <= code < 700:
        return DisconnectReason.USER_REJECTED
    return DisconnectReason.UNKNOWN_REASON


class CallManager:
    """Runs SIP calls against the programmed outcomes and keeps their records."""

    def __init__(
        self, state: EmulatorState, rooms: RoomManager, default_ringing_timeout_s: float
    ) -> None:
        self._state = state
        self._rooms = rooms
        self._default_ringing_timeout_s = default_ringing_timeout_s
        # The script of callees whose number has no programmed outcome.
        self.default_callee_script: list[dict[str, Any]] = []
        self._answers: dict[str, asyncio.Future[None]] = {}
        # Called when a call is answered (the line is open: an emulated person can talk).
        self.answered_hooks: list[Callable[[CallRecord], None]] = []
        # The SIP edge, when it runs: outbound trunks it may reach are dialled for real.
        self.sip_edge: SipEdge | None = None
        rooms.participant_left_hooks.append(self._on_participant_left)

    def outcome_for(self, number: str) -> Outcome:
        """The programmed outcome for a number (exact, then normalised); answer at once otherwise."""
        return self._state.outcomes.for_number(number) or Outcome(
            script=list(self.default_callee_script)
        )

    # --- outbound ---------------------------------------------------------------------------

    async def dial(self, req: CreateSIPParticipantRequest) -> SIPParticipantInfo:
        """Place an outbound call; with wait_until_answered, return once it is answered."""
        _validate_create(req)
        trunk = None
        if req.sip_trunk_id:
            trunk = self._state.outbound_trunks.get(req.sip_trunk_id)
            if trunk is None:
                raise errors.not_found(errors.SIP_TRUNK_NOT_FOUND)
        hostname = trunk.address if trunk else (req.trunk.hostname if req.HasField("trunk") else "")
        number = req.sip_number
        if not number:
            if trunk is None or not trunk.numbers:
                raise errors.from_psrpc("failed_precondition", "no numbers on outbound trunk")
            number = random.choice(list(trunk.numbers))
        if hostname.endswith("twilio.com") and not number.startswith("+"):
            number = "+" + number  # NewCreateSIPParticipantRequestResult: Twilio needs the "+"
        has_creds = (
            bool(trunk.auth_username and trunk.auth_password)
            if trunk
            else bool(req.trunk.auth_username and req.trunk.auth_password)
        )
        call_id = ids.new_id(ids.SIP_CALL)
        attributes = dict(req.participant_attributes)
        attributes[ATTR_CALL_ID] = call_id
        attributes[ATTR_TRUNK_ID] = req.sip_trunk_id
        if not req.hide_phone_number:
            attributes[ATTR_PHONE_NUMBER] = req.sip_call_to
            attributes[ATTR_HOSTNAME] = hostname
            attributes[ATTR_TRUNK_NUMBER] = number
        attributes[ATTR_CALL_STATUS] = "dialing"
        identity = req.participant_identity or "sip_" + req.sip_call_to

        room = self._rooms.ensure_room(req.room_name)
        participant = self._rooms.add_participant(
            room,
            ParticipantInfo(
                identity=identity,
                name=req.participant_name,
                metadata=req.participant_metadata,
                attributes=attributes,
                kind=ParticipantInfo.Kind.SIP,
            ),
        )
        call = CallRecord(
            sip_call_id=call_id,
            direction="outbound",
            room_name=req.room_name,
            participant_identity=identity,
            participant_id=participant.sid,
            sip_trunk_id=req.sip_trunk_id,
            from_number=number,
            to_number=req.sip_call_to,
            created_at_ms=_now_ms(),
            request=MessageToDict(req, preserving_proto_field_name=True),
        )
        outcome = self.outcome_for(req.sip_call_to)
        call.script = list(outcome.script)
        call.answered_by = outcome.answered_by
        self._state.calls[call_id] = call
        ringing_timeout = self._default_ringing_timeout_s
        if req.HasField("ringing_timeout") and _seconds(req.ringing_timeout) > 0:
            ringing_timeout = _seconds(req.ringing_timeout)
        max_duration = _seconds(req.max_call_duration) if req.HasField("max_call_duration") else 0.0
        answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._answers[call_id] = answered
        target = self._real_target(req, trunk, hostname, number)
        play = (
            self._dial_for_real(call, target, ringing_timeout, max_duration, has_creds)
            if target is not None
            else self._play_outbound(call, outcome, ringing_timeout, max_duration, has_creds)
        )
        call.task = asyncio.get_running_loop().create_task(play)
        log.info(
            "outbound call",
            extra={"sip_call_id": call_id, "room": req.room_name, "to": req.sip_call_to},
        )
        if req.wait_until_answered:
            # Shielded: a client giving up must not cancel the call itself.
            await asyncio.shield(answered)
        return SIPParticipantInfo(
            participant_id=participant.sid,
            participant_identity=identity,
            room_name=req.room_name,
            sip_call_id=call_id,
        )

    def _real_target(
        self,
        req: CreateSIPParticipantRequest,
        trunk: SIPOutboundTrunkInfo | None,
        hostname: str,
        number: str,
    ) -> sipdial.DialTarget | None:
        """Where to send a real INVITE, when the SIP edge runs and may dial the trunk's address."""
        edge = self.sip_edge
        if edge is None:
            return None
        host, port = sipdial.split_address(hostname)
        if not edge.may_dial(host):
            return None
        if trunk is not None:
            transport, headers = trunk.transport, dict(trunk.headers)
            username, password = trunk.auth_username, trunk.auth_password
        else:
            transport, headers = req.trunk.transport, {}
            username, password = req.trunk.auth_username, req.trunk.auth_password
        headers.update(req.headers)
        return sipdial.DialTarget(
            transport=transport,
            host=host,
            port=port,
            call_to=req.sip_call_to,
            number=number,
            to_user_override=req.to_user_override,
            display_name=req.display_name if req.HasField("display_name") else None,
            headers=dict(sorted(headers.items())),
            username=username,
            password=password,
        )

    async def _dial_for_real(
        self,
        call: CallRecord,
        target: sipdial.DialTarget,
        ringing_timeout: float,
        max_duration: float,
        has_creds: bool,
    ) -> None:
        """Send the INVITE over SIP and settle the call by the carrier's final response."""
        assert self.sip_edge is not None
        try:
            code, reason = await sipdial.invite(
                self.sip_edge, call, target, ringing_timeout, lambda: self._ringing(call)
            )
        except sipdial.DialFailed as exc:
            self._fail(call, exc.error, exc.code, exc.reason, exc.disconnect)
            return
        except asyncio.CancelledError:
            self._resolve(call.sip_call_id, errors.from_psrpc("canceled", "service shutting down"))
            raise
        self._settle(call, code, reason, has_creds, max_duration)

    def _ringing(self, call: CallRecord) -> None:
        if call.status == "dialing":
            self._set_status(call, "ringing")

    def _settle(
        self, call: CallRecord, code: int, reason: str | None, has_creds: bool, max_duration: float
    ) -> None:
        """A final response from the callee's side: answered, or the failure LiveKit reports."""
        if 200 <= code < 300:
            self._answer(call, max_duration)
            return
        if code in (401, 407):
            text = AUTH_MAX_RETRY if has_creds else AUTH_MISSING_CREDS
            err = errors.from_psrpc("failed_precondition", text)
            self._fail(call, err, code, None, DisconnectReason.USER_REJECTED)
            return
        self._fail(
            call, sipstatus.call_failed(code, reason), code, reason, _disconnect_reason(code)
        )

    async def _play_outbound(
        self,
        call: CallRecord,
        outcome: Outcome,
        ringing_timeout: float,
        max_duration: float,
        has_creds: bool,
    ) -> None:
        try:
            if outcome.unreachable:
                err = errors.from_psrpc(
                    "unavailable", "INVITE failed: dial udp: connect: connection refused"
                )
                self._fail(call, err, None, None, DisconnectReason.SIP_TRUNK_FAILURE)
                return
            ring_s = outcome.ring_ms / 1000
            if outcome.no_answer or ring_s > 0:
                self._set_status(call, "ringing")
            if outcome.no_answer or ring_s >= ringing_timeout:
                await asyncio.sleep(ringing_timeout)
                err = errors.from_psrpc("canceled", REQUEST_TIMEOUT)
                self._fail(call, err, None, None, DisconnectReason.USER_UNAVAILABLE)
                return
            if ring_s > 0:
                await asyncio.sleep(ring_s)
            self._settle(call, outcome.sip_status_code, outcome.reason, has_creds, max_duration)
        except asyncio.CancelledError:
            self._resolve(call.sip_call_id, errors.from_psrpc("canceled", "service shutting down"))
            raise

    def _set_status(self, call: CallRecord, status: str) -> None:
        call.status = status  # type: ignore[assignment]
        self._rooms.set_attributes(
            call.room_name, call.participant_identity, {ATTR_CALL_STATUS: status}
        )

    def _answer(self, call: CallRecord, max_duration: float) -> None:
        self._set_status(call, "active")
        call.answered_at_ms = _now_ms()
        call.sip_status_code = 200
        call.sip_status = "OK"
        self._resolve(call.sip_call_id, None)
        if max_duration > 0:
            call.duration_timer = asyncio.get_running_loop().call_later(
                max_duration, self._end_call, call.sip_call_id, "max call duration reached"
            )
        for hook in list(self.answered_hooks):
            hook(call)

    def _fail(
        self,
        call: CallRecord,
        err: TwirpError,
        code: int | None,
        reason: str | None,
        disconnect: int,
    ) -> None:
        call.status = "failed"
        call.sip_status_code = code
        call.sip_status = (
            reason if reason is not None else (sipstatus.reason_phrase(code) if code else None)
        )
        call.error = err.msg
        call.ended_at_ms = _now_ms()
        log.info(
            "call failed",
            extra={"sip_call_id": call.sip_call_id, "code": err.code, "error": err.msg},
        )
        self._resolve(call.sip_call_id, err)
        self._rooms.remove_participant(call.room_name, call.participant_identity, disconnect)

    def _resolve(self, call_id: str, err: TwirpError | None) -> None:
        future = self._answers.pop(call_id, None)
        if future is None or future.done():
            return
        if err is None:
            future.set_result(None)
        else:
            future.set_exception(err)
            # Nobody may wait on it (no wait_until_answered); do not warn about it.
            future.exception()

    # --- hangups ----------------------------------------------------------------------------

    def hangup(self, call_id: str) -> CallRecord | None:
        """The far end hangs up: the SIP participant leaves the room."""
        call = self._state.calls.get(call_id)
        if call is None:
            return None
        self._end_call(call_id, "far end hung up")
        return call

    def _end_call(self, call_id: str, why: str) -> None:
        call = self._state.calls.get(call_id)
        if call is None or call.ended_at_ms is not None:
            return
        if call.line is not None:
            call.line.hang_up()
        if call.status in ("dialing", "ringing"):
            # Cancelled before an answer: the caller abandoned the call.
            self._fail(
                call,
                errors.from_psrpc("canceled", REQUEST_TIMEOUT),
                487,
                None,
                DisconnectReason.CLIENT_INITIATED,
            )
            if call.task is not None:
                call.task.cancel()
            return
        self._set_status(call, "hangup")
        call.status = "hangup"
        call.ended_at_ms = _now_ms()
        log.info("call ended", extra={"sip_call_id": call_id, "why": why})
        self._rooms.remove_participant(
            call.room_name, call.participant_identity, DisconnectReason.CLIENT_INITIATED
        )

    def _on_participant_left(
        self, room_name: str, participant: ParticipantInfo, reason: int
    ) -> None:
        call_id = participant.attributes.get(ATTR_CALL_ID, "")
        call = self._state.calls.get(call_id)
        if (
            call is None
            or call.ended_at_ms is not None
            or call.participant_identity != participant.identity
        ):
            return
        # Removed from the room by the API or a room deletion: the SIP bridge hangs up.
        if call.line is not None:
            call.line.hang_up()
        call.status = "hangup"
        call.ended_at_ms = _now_ms()
        if call.duration_timer is not None:
            call.duration_timer.cancel()
        if call.task is not None and not call.task.done():
            call.task.cancel()
        self._resolve(call_id, errors.from_psrpc("canceled", "participant removed"))

    def shutdown(self) -> None:
        """Stop every running call (the server is stopping or being reset)."""
        for call in self._state.calls.values():
            if call.task is not None and not call.task.done():
                call.task.cancel()
            if call.duration_timer is not None:
                call.duration_timer.cancel()
        for future in self._answers.values():
            if not future.done():
                future.cancel()
        self._answers.clear()

    # --- inbound ----------------------------------------------------------------------------

    def match_inbound_trunk(
        self, from_number: str, to_number: str, source_address: str = "", from_host: str = ""
    ) -> SIPInboundTrunkInfo | None:
        """`GetSIPTrunkAuthentication`: the trunk a carrier INVITE comes through, if any."""
        trunks = sip.lookup_candidates(
            self._state.inbound_trunks, keys=[normalize_number(to_number)]
        )
        return sip.match_trunk(trunks, from_number, to_number, source_address, from_host)

    def receive(
        self,
        from_number: str,
        to_number: str,
        pin: str = "",
        script: Sequence[dict[str, Any]] = (),
        *,
        source_address: str | None = None,
        auth_username: str | None = None,
        auth_password: str | None = None,
    ) -> InboundResult:
        """A carrier INVITE: match a trunk and a rule, create the room, join the caller.

        `source_address` is checked against the trunks' `allowed_addresses`, and credentials,
        when given, against the matched trunk's; left out, the call is taken as having passed
        those checks (the control API's INVITE that reached the SIP service)."""
        trunk = self.match_inbound_trunk(from_number, to_number, source_address or "")
        if (
            trunk is not None
            and trunk.auth_username
            and trunk.auth_password
            and (auth_username is not None or auth_password is not None)
            and (auth_username != trunk.auth_username or auth_password != trunk.auth_password)
        ):
            raise InboundRejected(401, "Unauthorized")
        return self.dispatch_inbound(trunk, from_number, to_number, pin, script)

    def dispatch_inbound(
        self,
        trunk: SIPInboundTrunkInfo | None,
        from_number: str,
        to_number: str,
        pin: str = "",
        script: Sequence[dict[str, Any]] = (),
        *,
        sip_call_id: str = "",
        answer: bool = True,
    ) -> InboundResult:
        """`EvaluateSIPDispatchRules` for a call past the trunk checks, then the room and the
        caller; `answer=False` leaves the call ringing (the SIP edge answers it)."""
        rules = sip.lookup_candidates(
            self._state.dispatch_rules, keys=[trunk.sip_trunk_id] if trunk else None
        )
        rule = sip.match_dispatch_rule(trunk, rules, from_number, to_number, pin)
        if rule is None:
            if trunk is None:
                raise InboundRejected(404, "Does not match any SIP Trunks", drop=True)
            raise InboundRejected(404, "Does not match Trunks or Dispatch Rules", drop=True)
        _, rule_pin = sip.rule_room_and_pin(rule)
        if rule_pin and not pin:
            raise InboundRejected(
                400, "dispatch rule requires a PIN; the emulator cannot prompt for one"
            )
        return self._admit(
            trunk, rule, from_number, to_number, script, call_id=sip_call_id, answer=answer
        )

    def answer_inbound(self, call: CallRecord) -> None:
        """The SIP edge accepted a ringing inbound call (200 OK sent)."""
        if call.status != "ringing" or call.ended_at_ms is not None:
            return
        trunk = self._state.inbound_trunks.get(call.sip_trunk_id)
        max_duration = (
            _seconds(trunk.max_call_duration)
            if trunk and trunk.HasField("max_call_duration")
            else 0.0
        )
        self._answer(call, max_duration)

    def _admit(
        self,
        trunk: SIPInboundTrunkInfo | None,
        rule: SIPDispatchRuleInfo,
        from_number: str,
        to_number: str,
        script: Sequence[dict[str, Any]] = (),
        *,
        call_id: str = "",
        answer: bool = True,
    ) -> InboundResult:
        call_id = call_id or ids.new_id(ids.SIP_CALL)
        trunk_id = trunk.sip_trunk_id if trunk else ""
        attributes: dict[str, str] = dict(rule.attributes)
        attributes[ATTR_CALL_ID] = call_id
        attributes[ATTR_TRUNK_ID] = trunk_id
        caller = from_number
        identity = "sip_" + from_number
        if rule.hide_phone_number:
            identity = "sip_" + hashlib.sha256(from_number.encode()).hexdigest()[:16]
            caller = from_number[-(4 if len(from_number) > 4 else 1) :]
        else:
            attributes[ATTR_PHONE_NUMBER] = from_number
            attributes[ATTR_HOSTNAME] = ""
            attributes[ATTR_TRUNK_NUMBER] = to_number
        attributes[ATTR_RULE_ID] = rule.sip_dispatch_rule_id
        room_name = _room_name(rule, caller, to_number)
        attributes[ATTR_CALL_STATUS] = "ringing"
        config = rule.room_config if rule.HasField("room_config") else None
        room = self._rooms.ensure_room(
            room_name,
            agents=list(config.agents) if config else [],
            empty_timeout=config.empty_timeout if config else 0,
            departure_timeout=config.departure_timeout if config else 0,
            max_participants=config.max_participants if config else 0,
            metadata=config.metadata if config else "",
        )
        participant = self._rooms.add_participant(
            room,
            ParticipantInfo(
                identity=identity,
                name="Phone " + caller,
                metadata=rule.metadata,
                attributes=attributes,
                kind=ParticipantInfo.Kind.SIP,
            ),
        )
        call = CallRecord(
            sip_call_id=call_id,
            direction="inbound",
            room_name=room_name,
            participant_identity=identity,
            participant_id=participant.sid,
            sip_trunk_id=trunk_id,
            sip_dispatch_rule_id=rule.sip_dispatch_rule_id,
            from_number=from_number,
            to_number=to_number,
            created_at_ms=_now_ms(),
            status="ringing",
            script=list(script),
        )
        self._state.calls[call_id] = call
        # The bridge accepts the INVITE once the caller is in the room; media then flows.
        if answer:
            self.answer_inbound(call)
        log.info(
            "inbound call", extra={"sip_call_id": call_id, "room": room_name, "from": from_number}
        )
        return InboundResult(
            room_name=room_name,
            participant_identity=identity,
            participant_id=participant.sid,
            sip_call_id=call_id,
            sip_trunk_id=trunk_id,
            sip_dispatch_rule_id=rule.sip_dispatch_rule_id,
            agent_dispatch_ids=list(room.dispatches),
        )

    # --- transfer ---------------------------------------------------------------------------

    async def transfer(self, req: TransferSIPParticipantRequest) -> TransferSIPParticipantResponse:
        """A SIP REFER: on success the call leaves LiveKit; a failure is reported in the response."""
        record = self._rooms.get(req.room_name)
        participant = record.participants.get(req.participant_identity) if record else None
        if participant is None:
            raise errors.from_psrpc("not_found", errors.PARTICIPANT_NOT_FOUND)
        call_id = participant.attributes.get(ATTR_CALL_ID)
        if not call_id:
            raise errors.from_psrpc(
                "invalid_argument", "no SIP session associated with participant"
            )
        target = req.transfer_to.strip("<>")
        for scheme in ("sips:", "sip:", "tel:"):
            if target.startswith(scheme):
                target = target[len(scheme) :]
        outcome = self.outcome_for(target.split("@", 1)[0].split(";", 1)[0])
        response = TransferSIPParticipantResponse(transfer_id=ids.new_id(ids.SIP_TRANSFER))
        if outcome.ring_ms:
            await asyncio.sleep(outcome.ring_ms / 1000)
        if outcome.no_answer:
            response.status = SIPTransferStatus.STS_TRANSFER_FAILED
            response.reason = SIPTransferReason.STR_RINGING_TIMEOUT
            return response
        code = outcome.sip_status_code
        response.sip_status.CopyFrom(
            SIPStatus(code=code, status=outcome.reason or sipstatus.reason_phrase(code))  # type: ignore[arg-type]
        )
        if 200 <= code < 300:
            response.status = SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
            response.reason = SIPTransferReason.STR_COMPLETED
            call = self._state.calls.get(call_id)
            if call is not None:
                call.transferred_to = req.transfer_to
            self._end_call(call_id, "transferred")
        else:
            response.status = SIPTransferStatus.STS_TRANSFER_FAILED
            response.reason = SIPTransferReason.STR_REJECTED
        return response


def _room_name(rule: SIPDispatchRuleInfo, caller: str, callee: str) -> str:
    """`EvaluateDispatchRule`: the room a rule sends a call to."""
    kind = rule.rule.WhichOneof("rule")
    if kind == "dispatch_rule_individual":
        r = rule.rule.dispatch_rule_individual
        room = f"{r.room_prefix}_{caller}" if r.room_prefix else caller
        return room if r.no_randomness else f"{room}_{ids.new_id('')}"
    if kind == "dispatch_rule_callee":
        c = rule.rule.dispatch_rule_callee
        room = f"{c.room_prefix}_{callee}" if c.room_prefix else callee
        return f"{room}_{ids.new_id('')}" if c.randomize else room
    return rule.rule.dispatch_rule_direct.room_name


def _validate_create(req: CreateSIPParticipantRequest) -> None:
    """`CreateSIPParticipantRequest.ValidateResult`."""
    if not req.sip_trunk_id and not req.HasField("trunk") and not req.sip_number:
        raise invalid("missing sip trunk id and sip number")
    if req.HasField("trunk"):
        try:
            sip.validate_outbound_config(req.trunk)
        except sip.GoError as exc:
            raise invalid(str(exc)) from exc
    if not req.sip_call_to:
        raise invalid("missing sip callee number")
    if "@" in req.sip_call_to:
        raise invalid("SipCallTo should be a phone number or SIP user, not a full SIP URI")
    if req.to_user_override and "@" in req.to_user_override:
        raise invalid("ToUserOverride should be a phone number or SIP user, not a full SIP URI")
    if not req.room_name:
        raise invalid("missing room name")
    if req.HasField("display_name") and len(req.display_name) > 128:
        raise invalid("DisplayName too long (max 128 characters)")
    try:
        sip.validate_media(req.media if req.HasField("media") else None)
    except sip.GoError as exc:
        raise invalid(str(exc)) from exc


def _validate_transfer(req: TransferSIPParticipantRequest) -> None:
    """`TransferSIPParticipantRequest.ValidateResult` (room and identity already checked)."""
    if not req.transfer_to:
        raise invalid("missing transfer to")
    inner = req.transfer_to
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    if not inner.startswith(("sip:", "sips:", "tel:")):
        raise invalid("transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)")


async def create_sip_participant(
    emu: Emulator, grants: Grants | None, req: CreateSIPParticipantRequest
) -> SIPParticipantInfo:
    """SIP.CreateSIPParticipant (needs sip.call)."""
    auth.ensure_sip_call(grants)
    return await emu.calls.dial(req)


async def transfer_sip_participant(
    emu: Emulator, grants: Grants | None, req: TransferSIPParticipantRequest
) -> TransferSIPParticipantResponse:
    """SIP.TransferSIPParticipant (needs sip.call and roomAdmin for the room)."""
    # LiveKit checks these two before any grant.
    if not req.room_name:
        raise errors.from_psrpc("invalid_argument", "Missing room name")
    if not req.participant_identity:
        raise errors.from_psrpc("invalid_argument", "Missing participant identity")
    auth.ensure_sip_call(grants)
    auth.ensure_room_admin(grants, req.room_name)
    _validate_transfer(req)
    return await emu.calls.transfer(req)


METHODS: dict[str, Method] = {
    "CreateSIPParticipant": Method(CreateSIPParticipantRequest, create_sip_participant),
    "TransferSIPParticipant": Method(TransferSIPParticipantRequest, transfer_sip_participant),
}
