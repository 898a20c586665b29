"""Call recordings without object storage (`make run`): egress writes a local file, which the
service streams and deletes."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from call_orchestrator.handlers.recording_files import delete_expired_recordings
from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness

TO = "+12025550123"


@pytest.fixture
def overrides() -> dict[str, Any]:
    """No object storage; the service's default retention is a day."""
    return {"recording_retention_days": 1}


async def _recorded(harness: Harness) -> tuple[str, anyio.Path]:
    """A completed call with an available local recording, and the file's path."""
    seeded = await harness.seed(recording_mode="all")
    call_id: str = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    await harness.wait_call(call_id, lambda c: c["recording"] is not None)
    owner = harness.headers(role=Role.OWNER)
    assert (await harness.http.post(f"/calls/{call_id}/hangup", headers=owner)).status_code == 200
    call = await harness.wait_call(
        call_id, lambda c: c["recording"]["status"] != "pending", within_s=15
    )
    assert call["recording"]["status"] == "available", call["recording"]
    db = await harness.db()
    location = await db.fetchval("SELECT recording_location FROM calls WHERE id = $1", call_id)
    return call_id, anyio.Path(location)


async def test_a_local_recording_is_streamed_and_deleted(harness: Harness) -> None:
    call_id, path = await _recorded(harness)
    call = (await harness.get_call(call_id)).json()
    owner = harness.headers(role=Role.OWNER)

    fetched = await harness.http.get(f"/calls/{call_id}/recording", headers=harness.headers())

    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "audio/ogg"
    assert fetched.content == await path.read_bytes()
    assert len(fetched.content) == call["recording"]["size_bytes"]
    deleted = await harness.http.delete(f"/calls/{call_id}/recording", headers=owner)
    assert deleted.status_code == 200, deleted.text
    assert not await path.exists()


async def test_the_default_retention_deletes_an_expired_local_recording(harness: Harness) -> None:
    call_id, path = await _recorded(harness)
    assert await delete_expired_recordings(harness.context) == 0
    db = await harness.db()
    await db.execute(
        "UPDATE calls SET recording_stored_at = now() - interval '2 days' WHERE id = $1", call_id
    )

    assert await delete_expired_recordings(harness.context) == 1

    assert not await path.exists()
    recording = (await harness.get_call(call_id)).json()["recording"]
    assert recording["status"] == "deleted"
    events = await harness.settled_events("telephony.call.recording_deleted")
    assert [e["data"]["deleted_by"] for e in events if e["subject"] == call_id] == ["retention"]
