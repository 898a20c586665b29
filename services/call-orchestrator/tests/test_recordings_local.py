"""Call recordings without object storage (`make run`): egress writes a local file, which the
service streams and deletes."""

from __future__ import annotations

import anyio

from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness

TO = "+12025550123"


async def test_a_local_recording_is_streamed_and_deleted(harness: Harness) -> None:
    seeded = await harness.seed(recording_mode="all")
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    await harness.wait_call(call_id, lambda c: c["recording"] is not None)
    owner = harness.headers(role=Role.OWNER)
    assert (await harness.http.post(f"/calls/{call_id}/hangup", headers=owner)).status_code == 200
    call = await harness.wait_call(
        call_id, lambda c: c["recording"]["status"] != "pending", within_s=15
    )
    assert call["recording"]["status"] == "available", call["recording"]
    db = await harness.db()
    path = anyio.Path(
        await db.fetchval("SELECT recording_location FROM calls WHERE id = $1", call_id)
    )

    fetched = await harness.http.get(f"/calls/{call_id}/recording", headers=harness.headers())

    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "audio/ogg"
    assert fetched.content == await path.read_bytes()
    assert len(fetched.content) == call["recording"]["size_bytes"]
    deleted = await harness.http.delete(f"/calls/{call_id}/recording", headers=owner)
    assert deleted.status_code == 200, deleted.text
    assert not await path.exists()
