"""Call recordings in S3-compatible storage (moto's server on loopback): LiveKit egress uploads,
the egress_ended webhook stores the result, users fetch and delete, retention expires, and an
object storage outage loses nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from call_orchestrator.handlers.recording_files import delete_expired_recordings
from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness, eventually
from tests.support.object_storage import ObjectStorage, recording_settings

TO = "+12025550123"
PREFIX = "calls"


@pytest.fixture
def overrides(storage: ObjectStorage, bucket: str) -> dict[str, Any]:
    return {
        **recording_settings(storage, bucket, PREFIX),
        "recording_url_ttl_s": 60,
    }


async def _recording_call(harness: Harness, org_id: str = "org_a") -> str:
    """An answered call of a number that records everything; its id once recording."""
    seeded = await harness.seed(recording_mode="all", org_id=org_id)
    response = await harness.call(TO, seeded.phone_number, org_id=org_id)
    assert response.status_code == 200, response.text
    call_id: str = response.json()["call_id"]
    return call_id


async def _hang_up(harness: Harness, call_id: str, org_id: str = "org_a") -> None:
    response = await harness.http.post(
        f"/calls/{call_id}/hangup", headers=harness.headers(org_id, role=Role.OWNER)
    )
    assert response.status_code == 200, response.text


async def _recorded(harness: Harness, org_id: str = "org_a") -> dict[str, Any]:
    """A completed call whose recording is available."""
    call_id = await _recording_call(harness, org_id)
    await harness.wait_call(call_id, lambda c: c["recording"] is not None)
    await _hang_up(harness, call_id, org_id)

    async def fetch() -> dict[str, Any]:
        response = await harness.http.get(f"/calls/{call_id}", headers=harness.headers(org_id))
        return dict(response.json())

    return await eventually(
        fetch, lambda c: c["recording"]["status"] in ("available", "failed"), within_s=15
    )


async def test_a_recorded_call_shows_its_recording_available_with_size_and_duration(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call_id = await _recording_call(harness)
    pending = await harness.wait_call(call_id, lambda c: c["recording"] is not None)
    assert pending["recording"]["status"] == "pending"
    # The egress request carried the upload; LiveKit keeps its credentials to itself.
    [egress] = (await harness.lk.control.state())["egresses"]
    s3 = egress["room_composite"]["file_outputs"][0]["s3"]
    assert (s3["bucket"], s3["access_key"], s3["secret"]) == (bucket, "{access_key}", "{secret}")

    await _hang_up(harness, call_id)
    call = await harness.wait_call(
        call_id, lambda c: c["recording"]["status"] != "pending", within_s=15
    )

    assert call["status"] == "completed"
    [key] = storage.keys(bucket)
    assert key.startswith(f"{PREFIX}/recordings/{call['room_name']}-")
    recording = call["recording"]
    assert recording["status"] == "available", recording
    assert recording["size_bytes"] == len(storage.read(bucket, key)) > 0
    assert recording["duration_s"] is not None and recording["duration_s"] >= 0
    assert recording["stored_at"] is not None
    assert "location" not in recording and "key" not in recording


async def test_get_redirects_to_a_presigned_url_with_the_same_bytes(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call = await _recorded(harness)

    response = await harness.http.get(f"/calls/{call['id']}/recording", headers=harness.headers())

    assert response.status_code == 307, response.text
    location = response.headers["location"]
    assert location.startswith(f"{storage.endpoint}/{bucket}/{PREFIX}/")
    assert "X-Amz-Expires=60" in location
    async with httpx.AsyncClient() as client:
        downloaded = await client.get(location)
    [key] = storage.keys(bucket)
    assert downloaded.status_code == 200
    assert downloaded.content == storage.read(bucket, key)
    assert downloaded.content.startswith(b"OggS")


async def test_another_organization_gets_404_for_the_recording(harness: Harness) -> None:
    call = await _recorded(harness)
    path = f"/calls/{call['id']}/recording"

    other_get = await harness.http.get(path, headers=harness.headers("org_b"))
    other_delete = await harness.http.delete(path, headers=harness.headers("org_b", Role.OWNER))

    assert other_get.status_code == 404
    assert other_delete.status_code == 404
    assert (await harness.get_call(call["id"])).json()["recording"]["status"] == "available"


async def test_deleting_removes_the_object_and_publishes_the_event(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call = await _recorded(harness)
    path = f"/calls/{call['id']}/recording"

    as_member = await harness.http.delete(path, headers=harness.headers())
    deleted = await harness.http.delete(path, headers=harness.headers(role=Role.ADMIN))
    again = await harness.http.delete(path, headers=harness.headers(role=Role.ADMIN))
    fetched = await harness.http.get(path, headers=harness.headers())

    assert as_member.status_code == 403
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["recording"]["status"] == "deleted"
    assert deleted.json()["recording"]["deleted_at"] is not None
    assert storage.keys(bucket) == []
    assert again.status_code == 404
    assert fetched.status_code == 404
    events = await harness.settled_events("telephony.call.recording_deleted")
    [event] = [e for e in events if e["subject"] == call["id"]]
    assert event["type"] == "talkifai.telephony.call.recording_deleted.v1"
    assert event["orgid"] == "org_a"
    assert event["data"]["deleted_by"] == "user"
    assert event["data"]["deleted_by_user"] == "user-1"
    assert event["data"]["recording"]["status"] == "deleted"
    assert storage.secret_key not in str(event)


async def test_the_retention_pass_deletes_recordings_past_the_organizations_period(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call = await _recorded(harness)
    set_by_member = await harness.http.put(
        "/recording-retention", json={"days": 30}, headers=harness.headers()
    )
    set_by_owner = await harness.http.put(
        "/recording-retention", json={"days": 30}, headers=harness.headers(role=Role.OWNER)
    )
    assert set_by_member.status_code == 403
    assert set_by_owner.json()["days"] == 30
    assert set_by_owner.json()["is_default"] is False

    assert await delete_expired_recordings(harness.context) == 0
    assert len(storage.keys(bucket)) == 1
    db = await harness.db()
    await db.execute(
        "UPDATE calls SET recording_stored_at = now() - interval '31 days' WHERE id = $1",
        call["id"],
    )
    assert await delete_expired_recordings(harness.context) == 1

    assert storage.keys(bucket) == []
    now = (await harness.get_call(call["id"])).json()
    assert now["recording"]["status"] == "deleted"
    events = await harness.settled_events("telephony.call.recording_deleted")
    [event] = [e for e in events if e["subject"] == call["id"]]
    assert event["data"]["deleted_by"] == "retention"
    assert event["data"]["deleted_by_user"] is None


async def test_the_retention_pass_skips_a_recording_another_deletion_holds(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call = await _recorded(harness)
    await harness.http.put(
        "/recording-retention", json={"days": 1}, headers=harness.headers(role=Role.OWNER)
    )
    db = await harness.db()
    await db.execute(
        "UPDATE calls SET recording_stored_at = now() - interval '2 days' WHERE id = $1",
        call["id"],
    )
    holder = await asyncpg.connect(harness.database_url)
    try:
        # A user's DELETE holds the call's row while it removes the object.
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM calls WHERE id = $1 FOR UPDATE", call["id"])
            assert await delete_expired_recordings(harness.context) == 0
            assert len(storage.keys(bucket)) == 1
    finally:
        await holder.close()

    assert await delete_expired_recordings(harness.context) == 1
    assert storage.keys(bucket) == []


async def test_object_storage_down_is_503_and_nothing_is_lost(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call = await _recorded(harness)
    path = f"/calls/{call['id']}/recording"
    await harness.http.put(
        "/recording-retention", json={"days": 1}, headers=harness.headers(role=Role.OWNER)
    )
    db = await harness.db()
    await db.execute(
        "UPDATE calls SET recording_stored_at = now() - interval '2 days' WHERE id = $1",
        call["id"],
    )
    storage.stop()
    try:
        fetched = await harness.http.get(path, headers=harness.headers())
        deleted = await harness.http.delete(path, headers=harness.headers(role=Role.OWNER))
        with pytest.raises(Exception, match="object storage did not answer"):
            await delete_expired_recordings(harness.context)
    finally:
        storage.start_again()

    assert fetched.status_code == 503, fetched.text
    assert fetched.headers["content-type"].startswith("application/problem+json")
    assert deleted.status_code == 503, deleted.text
    assert (await harness.get_call(call["id"])).json()["recording"]["status"] == "available"
    assert len(storage.keys(bucket)) == 1
    # Storage back: the same recording is served again.
    assert (await harness.http.get(path, headers=harness.headers())).status_code == 307


async def test_a_failed_upload_shows_on_the_call_and_is_published(
    harness: Harness, storage: ObjectStorage, bucket: str
) -> None:
    call_id = await _recording_call(harness)
    await harness.wait_call(call_id, lambda c: c["recording"] is not None)
    storage.client().delete_bucket(Bucket=bucket)

    await _hang_up(harness, call_id)
    call = await harness.wait_call(
        call_id, lambda c: c["recording"]["status"] != "pending", within_s=15
    )

    assert call["recording"]["status"] == "failed"
    assert call["recording"]["error"].startswith("S3 upload failed: ")
    fetched = await harness.http.get(f"/calls/{call_id}/recording", headers=harness.headers())
    assert fetched.status_code == 404
    assert "failed" in fetched.json()["detail"]
    events = await harness.settled_events("telephony.call.recording_failed")
    [event] = [e for e in events if e["subject"] == call_id]
    assert event["data"]["recording"]["status"] == "failed"
    assert event["data"]["recording_egress_id"] == call["recording_egress_id"]
