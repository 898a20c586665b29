"""The control API (JSON, no auth) that tests and local development use to drive the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from livekit_emulator.calls import InboundRejected
from livekit_emulator.errors import TwirpError
from livekit_emulator.people import Person, SpeechUnavailable
from livekit_emulator.state import Faults, Outcome

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

M = TypeVar("M", bound=BaseModel)


DTMF_DIGITS = r"^[0-9*#A-D]{1,32}$"


class SayStep(BaseModel):
    """Speak these words (espeak-ng), then go on once they are said."""

    model_config = ConfigDict(extra="forbid")
    say: str = Field(min_length=1, max_length=2000)


class WaitStep(BaseModel):
    """Do nothing for this long."""

    model_config = ConfigDict(extra="forbid")
    wait_ms: int = Field(ge=0, le=600_000)


class WaitForSilenceStep(BaseModel):
    """Wait for the other side to speak and then be silent this long (their turn ended)."""

    model_config = ConfigDict(extra="forbid")
    wait_for_silence_ms: int = Field(ge=50, le=60_000)


class DtmfStep(BaseModel):
    """Press these keys (LiveKit SIP DTMF)."""

    model_config = ConfigDict(extra="forbid")
    dtmf: str = Field(pattern=DTMF_DIGITS)


class HangupStep(BaseModel):
    """Hang up."""

    model_config = ConfigDict(extra="forbid")
    hangup: Literal[True]


Step = SayStep | WaitStep | WaitForSilenceStep | DtmfStep | HangupStep
Script = Annotated[list[Step], Field(max_length=200)]


def _steps(script: list[Step]) -> list[dict[str, Any]]:
    return [step.model_dump() for step in script]


class OutcomeIn(BaseModel):
    """How the far end answers calls to `number`, and what the person who answers does."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1)
    sip_status_code: int = Field(default=200, ge=200, le=699)
    ring_ms: int = Field(default=0, ge=0)
    no_answer: bool = False
    reason: str | None = None
    unreachable: bool = False
    script: Script = []
    answered_by: Literal["human", "machine"] = "human"


class InboundCallIn(BaseModel):
    """A carrier INVITE from `from_number` to `to_number`; the caller then follows `script`."""

    model_config = ConfigDict(extra="forbid")

    from_number: str = Field(min_length=1)
    to_number: str = Field(min_length=1)
    pin: str = ""
    script: Script = []
    # Checked as the SIP edge checks an INVITE: the source against the trunks'
    # allowed_addresses, the credentials against the matched trunk's. Left out, the call is one
    # that reached the SIP service past those checks.
    source_address: IPvAnyAddress | None = None
    auth_username: str | None = None
    auth_password: str | None = None


class SayIn(BaseModel):
    """Words for the person on a call to say now."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


class DtmfIn(BaseModel):
    """Keys for the person on a call to press now."""

    model_config = ConfigDict(extra="forbid")
    digits: str = Field(pattern=DTMF_DIGITS)


class InboundCallOut(BaseModel):
    """Where the call landed."""

    room_name: str
    participant_identity: str
    participant_id: str
    sip_call_id: str
    sip_trunk_id: str
    sip_dispatch_rule_id: str
    agent_dispatch_ids: list[str]


class FaultsIn(BaseModel):
    """Replace the injected faults (an empty body clears them)."""

    model_config = ConfigDict(extra="forbid")

    unavailable: bool = False
    latency_ms: int = Field(default=0, ge=0)
    refuse_joins: bool = False


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _problem(status: int, error: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, **extra}, status_code=status)


async def _body(request: Request, model: type[M]) -> M | JSONResponse:
    raw = await request.body()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return _problem(422, "invalid request body", details=details)


async def get_state(request: Request) -> Response:
    """`GET /emulator/state`: every resource as protobuf JSON with snake_case names."""
    return JSONResponse(_emu(request).state.snapshot())


async def post_outcome(request: Request) -> Response:
    """`POST /emulator/outcomes`: program how calls to a number end."""
    body = await _body(request, OutcomeIn)
    if isinstance(body, JSONResponse):
        return body
    _emu(request).state.outcomes.program(
        body.number,
        Outcome(
            sip_status_code=body.sip_status_code,
            ring_ms=body.ring_ms,
            no_answer=body.no_answer,
            reason=body.reason,
            unreachable=body.unreachable,
            script=_steps(body.script),
            answered_by=body.answered_by,
        ),
    )
    return JSONResponse(body.model_dump())


async def post_inbound_call(request: Request) -> Response:
    """`POST /emulator/inbound-calls`: a carrier INVITE, matched as LiveKit matches it."""
    body = await _body(request, InboundCallIn)
    if isinstance(body, JSONResponse):
        return body
    try:
        result = _emu(request).calls.receive(
            body.from_number,
            body.to_number,
            body.pin,
            _steps(body.script),
            source_address=str(body.source_address) if body.source_address else None,
            auth_username=body.auth_username,
            auth_password=body.auth_password,
        )
    except InboundRejected as exc:
        return _problem(exc.sip_status_code, exc.reason, sip_status_code=exc.sip_status_code)
    except TwirpError as exc:
        # A conflicting configuration makes the SIP service answer the carrier with an error.
        return _problem(500, exc.msg, sip_status_code=500)
    out = InboundCallOut(
        room_name=result.room_name,
        participant_identity=result.participant_identity,
        participant_id=result.participant_id,
        sip_call_id=result.sip_call_id,
        sip_trunk_id=result.sip_trunk_id,
        sip_dispatch_rule_id=result.sip_dispatch_rule_id,
        agent_dispatch_ids=result.agent_dispatch_ids,
    )
    return JSONResponse(out.model_dump(), status_code=201)


async def post_hangup(request: Request) -> Response:
    """`POST /emulator/calls/{sip_call_id}/hangup`: the far end hangs up."""
    call_id = request.path_params["sip_call_id"]
    call = _emu(request).calls.hangup(call_id)
    if call is None:
        return _problem(404, f"no call {call_id}")
    return JSONResponse(call.to_dict())


async def get_call(request: Request) -> Response:
    """`GET /emulator/calls/{sip_call_id}`: the call, with what its person heard and did."""
    call_id = request.path_params["sip_call_id"]
    call = _emu(request).state.calls.get(call_id)
    if call is None:
        return _problem(404, f"no call {call_id}")
    return JSONResponse(call.to_dict())


def _person(request: Request) -> Person | JSONResponse:
    call_id = request.path_params["sip_call_id"]
    call = _emu(request).state.calls.get(call_id)
    if call is None:
        return _problem(404, f"no call {call_id}")
    person: Person | None = call.person
    if person is None:
        if call.status != "active":
            return _problem(409, f"call {call_id} is not answered (status {call.status})")
        person = _emu(request).media.add_person(call)
    if person is None or person.closed:
        return _problem(409, f"call {call_id} has ended")
    return person


async def get_call_audio(request: Request) -> Response:
    """`GET /emulator/calls/{sip_call_id}/audio`: a WAV of what the call's person heard."""
    call_id = request.path_params["sip_call_id"]
    call = _emu(request).state.calls.get(call_id)
    if call is None:
        return _problem(404, f"no call {call_id}")
    if call.person is None:
        return _problem(404, f"call {call_id} has no emulated person (nobody spoke or listened)")
    return Response(call.person.ear.wav(), media_type="audio/wav")


async def post_say(request: Request) -> Response:
    """`POST /emulator/calls/{sip_call_id}/say`: the person says something now."""
    body = await _body(request, SayIn)
    if isinstance(body, JSONResponse):
        return body
    person = _person(request)
    if isinstance(person, JSONResponse):
        return person
    try:
        seconds = await person.say(body.text)
    except SpeechUnavailable as exc:
        return _problem(503, str(exc))
    return JSONResponse({"text": body.text, "duration_ms": round(seconds * 1000)}, status_code=202)


async def post_dtmf(request: Request) -> Response:
    """`POST /emulator/calls/{sip_call_id}/dtmf`: the person presses keys now."""
    body = await _body(request, DtmfIn)
    if isinstance(body, JSONResponse):
        return body
    person = _person(request)
    if isinstance(person, JSONResponse):
        return person
    person.press(body.digits)
    return JSONResponse({"digits": body.digits}, status_code=202)


async def post_faults(request: Request) -> Response:
    """`POST /emulator/faults`: make Twirp calls fail or slow down, or refuse room joins."""
    body = await _body(request, FaultsIn)
    if isinstance(body, JSONResponse):
        return body
    _emu(request).state.faults = Faults(
        unavailable=body.unavailable, latency_ms=body.latency_ms, refuse_joins=body.refuse_joins
    )
    return JSONResponse(body.model_dump())


async def get_sip(request: Request) -> Response:
    """`GET /emulator/sip`: whether the SIP edge runs, its host and bound ports."""
    edge = _emu(request).sip
    if edge is None:
        return JSONResponse({"enabled": False, "host": None, "ports": {}})
    return JSONResponse({"enabled": True, "host": edge.config.sip_host, "ports": edge.ports})


async def post_reset(request: Request) -> Response:
    """`POST /emulator/reset`: forget every resource, call, outcome and fault."""
    _emu(request).reset()
    return JSONResponse({"reset": True})


ROUTES = [
    Route("/emulator/state", get_state, methods=["GET"]),
    Route("/emulator/outcomes", post_outcome, methods=["POST"]),
    Route("/emulator/inbound-calls", post_inbound_call, methods=["POST"]),
    Route("/emulator/calls/{sip_call_id}", get_call, methods=["GET"]),
    Route("/emulator/calls/{sip_call_id}/audio", get_call_audio, methods=["GET"]),
    Route("/emulator/calls/{sip_call_id}/say", post_say, methods=["POST"]),
    Route("/emulator/calls/{sip_call_id}/dtmf", post_dtmf, methods=["POST"]),
    Route("/emulator/calls/{sip_call_id}/hangup", post_hangup, methods=["POST"]),
    Route("/emulator/faults", post_faults, methods=["POST"]),
    Route("/emulator/reset", post_reset, methods=["POST"]),
    Route("/emulator/sip", get_sip, methods=["GET"]),
]
