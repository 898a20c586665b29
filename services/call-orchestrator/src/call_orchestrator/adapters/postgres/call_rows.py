"""The call aggregate as rows: a new call, a stored call, its typed changes and moves."""

from __future__ import annotations

import base64
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

import asyncpg

from talkifai_common.events import (
    CallAgentRef,
    CallCampaignRef,
    CallCost,
    CallData,
    CallDirection,
    CallRecording,
    CallStatus,
    RecordingMode,
    RecordingStatus,
)

TIMESTAMP_BY_STATUS = {
    CallStatus.RINGING: "ringing_at",
    CallStatus.ANSWERED: "answered_at",
    CallStatus.COMPLETED: "ended_at",
    CallStatus.FAILED: "ended_at",
}


@dataclass(frozen=True)
class CampaignCall:
    """The campaign row attempt a call is for, with the attempt's fencing token: the call is
    recorded only while the attempt still holds that token and has no outcome."""

    ref: CallCampaignRef
    fence: int


@dataclass(frozen=True)
class NewCall:
    """A call about to be recorded."""

    id: str
    org_id: str
    direction: CallDirection
    phone_number_id: str | None
    phone_number: str
    from_number: str
    to_number: str
    agent_id: str | None
    agent_name: str | None
    room_name: str
    webhook_url: str | None
    recording_mode: RecordingMode
    participant_identity: str | None = None
    sip_call_id: str | None = None
    campaign: CampaignCall | None = None


@dataclass(frozen=True)
class CallChanges:
    """Fields a write sets on a call; a None field leaves the stored value alone."""

    failure_reason: str | None = None
    failure_detail: str | None = None
    sip_status_code: int | None = None
    sip_call_id: str | None = None
    participant_identity: str | None = None
    dispatch_id: str | None = None
    recording_egress_id: str | None = None
    recording_consent_at: datetime | None = None
    participant_left_at: datetime | None = None
    end_reason: str | None = None
    hangup_requested_at: datetime | None = None

    def given(self) -> dict[str, Any]:
        """The fields this change sets, by column name."""
        values = ((f.name, getattr(self, f.name)) for f in fields(self))
        return {name: value for name, value in values if value is not None}


@dataclass(frozen=True)
class CallRow:
    """A call with the internal fields the public CallData leaves out."""

    data: CallData
    org_id: str
    webhook_url: str | None
    recording_mode: RecordingMode
    participant_identity: str | None
    participant_left_at: datetime | None
    recording_consent_at: datetime | None
    rev: int = 0
    """Bumped by every write of the call; a write from a snapshot checks it (`CallStore.advance`)."""
    hangup_requested_at: datetime | None = None
    """A user asked to hang the call up (`POST /calls/{id}/hangup`): its completion says so."""


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 3)


def _durations(
    started_at: datetime | None, answered_at: datetime | None, ended_at: datetime | None
) -> dict[str, float | None]:
    """A call's `duration_s` (talking) and `total_duration_s` from its timestamps."""
    return {
        "duration_s": _seconds(answered_at, ended_at),
        "total_duration_s": _seconds(started_at, ended_at),
    }


def _agent_ref(agent_id: str | None, agent_name: str | None) -> CallAgentRef | None:
    return CallAgentRef(id=agent_id, name=agent_name or "") if agent_id else None


def recording_from_row(row: asyncpg.Record) -> CallRecording | None:
    """The public view of the call's recording (never where it is stored)."""
    if row["recording_status"] is None:
        return None
    return CallRecording(
        status=RecordingStatus(row["recording_status"]),
        duration_s=row["recording_duration_s"],
        size_bytes=row["recording_size_bytes"],
        error=row["recording_error"],
        stored_at=row["recording_stored_at"],
        upload_attempts=row["recording_upload_attempts"],
        deleted_at=row["recording_deleted_at"],
    )


def call_from_row(row: asyncpg.Record) -> CallRow:
    """The call in a `calls` row."""
    data = CallData(
        id=row["id"],
        direction=CallDirection(row["direction"]),
        status=CallStatus(row["status"]),
        phone_number_id=row["phone_number_id"],
        phone_number=row["phone_number"],
        from_number=row["from_number"],
        to_number=row["to_number"],
        agent=_agent_ref(row["agent_id"], row["agent_name"]),
        room_name=row["room_name"],
        failure_reason=row["failure_reason"],
        failure_detail=row["failure_detail"],
        end_reason=row["end_reason"],
        sip_status_code=row["sip_status_code"],
        sip_call_id=row["sip_call_id"],
        recording_egress_id=row["recording_egress_id"],
        recording=recording_from_row(row),
        started_at=row["started_at"],
        ringing_at=row["ringing_at"],
        answered_at=row["answered_at"],
        ended_at=row["ended_at"],
        **_durations(row["started_at"], row["answered_at"], row["ended_at"]),
        cost=CallCost.model_validate(row["cost"]) if row["cost"] is not None else None,
        campaign=_campaign_ref(row),
    )
    return CallRow(
        data=data,
        org_id=row["org_id"],
        webhook_url=row["webhook_url"],
        recording_mode=RecordingMode(row["recording_mode"]),
        participant_identity=row["participant_identity"],
        participant_left_at=row["participant_left_at"],
        recording_consent_at=row["recording_consent_at"],
        rev=row["rev"],
        hangup_requested_at=row["hangup_requested_at"],
    )


def _campaign_ref(row: asyncpg.Record) -> CallCampaignRef | None:
    if row["campaign_id"] is None:
        return None
    return CallCampaignRef(
        id=row["campaign_id"], row_id=row["campaign_row_id"], attempt=row["campaign_attempt"]
    )


def initiated(call: NewCall, now: datetime) -> CallRow:
    """The row a new call gets."""
    data = CallData(
        id=call.id,
        direction=call.direction,
        status=CallStatus.INITIATED,
        phone_number_id=call.phone_number_id,
        phone_number=call.phone_number,
        from_number=call.from_number,
        to_number=call.to_number,
        agent=_agent_ref(call.agent_id, call.agent_name),
        room_name=call.room_name,
        sip_call_id=call.sip_call_id,
        started_at=now,
        campaign=call.campaign.ref if call.campaign else None,
    )
    return CallRow(
        data=data,
        org_id=call.org_id,
        webhook_url=call.webhook_url,
        recording_mode=call.recording_mode,
        participant_identity=call.participant_identity,
        participant_left_at=None,
        recording_consent_at=None,
    )


_DATA_FIELDS = frozenset(CallData.model_fields)
_ROW_FIELDS = frozenset(
    {"participant_identity", "participant_left_at", "recording_consent_at", "hangup_requested_at"}
)


def advanced(call: CallRow, status: CallStatus, changes: CallChanges, now: datetime) -> CallRow:
    """`call` moved to `status` at `now` with `changes` set: the status's timestamp is kept if it
    is already there, and a None field leaves the stored value alone."""
    given = changes.given()
    update: dict[str, Any] = {"status": status}
    update.update({k: v for k, v in given.items() if k in _DATA_FIELDS})
    if (column := TIMESTAMP_BY_STATUS.get(status)) and getattr(call.data, column) is None:
        update[column] = now
    data = call.data.model_copy(update=update)
    data = data.model_copy(update=_durations(data.started_at, data.answered_at, data.ended_at))
    row_fields = {k: v for k, v in given.items() if k in _ROW_FIELDS}
    return replace(call, data=data, rev=call.rev + 1, **row_fields)


def encode_cursor(started_at: datetime, call_id: str) -> str:
    """An opaque cursor after this call."""
    return base64.urlsafe_b64encode(f"{started_at.isoformat()}|{call_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; ValueError when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        when, call_id = text.split("|", 1)
        return datetime.fromisoformat(when), call_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not valid") from exc
