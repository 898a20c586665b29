"""A call's typed changes: what a move sets, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from call_orchestrator.adapters.postgres import CallChanges
from call_orchestrator.adapters.postgres.call_rows import advanced, initiated
from talkifai_common.events import CallStatus
from tests.support.call_orchestrator import new_call

pytestmark = pytest.mark.unit

STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_change_sets_only_the_fields_it_gives() -> None:
    changes = CallChanges(failure_reason="busy", sip_status_code=486)

    assert changes.given() == {"failure_reason": "busy", "sip_status_code": 486}
    assert CallChanges().given() == {}


def test_a_move_stamps_its_status_time_once_and_keeps_fields_a_change_leaves_out() -> None:
    created = initiated(new_call("call_1", "room_1"), STARTED)
    answered = advanced(
        created, CallStatus.ANSWERED, CallChanges(sip_call_id="SCL_1"), STARTED + timedelta(1)
    )
    answered_at = answered.data.answered_at

    ended = advanced(answered, CallStatus.COMPLETED, CallChanges(), STARTED + timedelta(2))

    assert answered.data.sip_call_id == "SCL_1" and answered.rev == created.rev + 1
    assert ended.data.sip_call_id == "SCL_1"
    assert ended.data.answered_at == answered_at
    assert ended.data.duration_s == timedelta(1).total_seconds()
    assert ended.data.total_duration_s == timedelta(2).total_seconds()


def test_row_only_fields_of_a_change_land_on_the_row_not_the_public_call() -> None:
    created = initiated(new_call("call_1", "room_1"), STARTED)
    at = STARTED + timedelta(seconds=5)

    consented = advanced(created, CallStatus.ANSWERED, CallChanges(recording_consent_at=at), at)

    assert consented.recording_consent_at == at
    assert "recording_consent_at" not in consented.data.model_dump()
