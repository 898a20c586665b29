"""Call recordings without object storage (`make run`): egress writes a local file, which the
service streams and deletes."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import pytest

from call_orchestrator.handlers.recording_files import delete_expired_recordings
from talkifai_common.auth import Role, issue_hs256_token
from talkifai_common.telemetry import configure_logging
from tests.support.call_orchestrator import JWT_SECRET, Harness

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


def _token(org_id: str = "org_a", role: Role = Role.MEMBER) -> str:
    return issue_hs256_token(JWT_SECRET, sub="user-1", org_id=org_id, role=role)


async def test_an_audio_element_fetches_the_recording_with_the_token_in_the_query(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    call_id, path = await _recorded(harness)
    url = f"/calls/{call_id}/recording"
    token = _token()
    caplog.set_level(logging.DEBUG)

    fetched = await harness.http.get(url, params={"access_token": token})
    bad = await harness.http.get(url, params={"access_token": "not-a-jwt"})
    none = await harness.http.get(url)
    other_org = await harness.http.get(url, params={"access_token": _token("org_b")})
    # The header wins when both are sent, whichever of them is the bad one.
    header_wins = await harness.http.get(
        url, params={"access_token": "not-a-jwt"}, headers=harness.headers()
    )
    header_other_org = await harness.http.get(
        url, params={"access_token": token}, headers=harness.headers("org_b")
    )

    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["content-type"] == "audio/ogg"
    assert fetched.content == await path.read_bytes()
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"
    assert none.status_code == 401
    assert "access_token" in none.json()["detail"]
    assert other_org.status_code == 404
    assert header_wins.status_code == 200
    assert header_other_org.status_code == 404
    # No log line of the service carries the token: uvicorn's access log, which prints query
    # strings, is off where the service runs (below); httpx and httpcore are this test's client.
    not_ours = ("uvicorn.access", "httpx", "httpcore")
    leaked = [r for r in caplog.records if token in r.getMessage()]
    assert [r for r in leaked if not r.name.startswith(not_ours)] == []


def test_the_access_log_that_would_print_the_query_token_is_off() -> None:
    access = logging.getLogger("uvicorn.access")
    root = logging.getLogger()
    before = (access.level, root.level, list(root.handlers))
    try:
        configure_logging("call-orchestrator", level="DEBUG")
        assert not access.isEnabledFor(logging.INFO)
    finally:
        access.setLevel(before[0])
        root.setLevel(before[1])
        root.handlers[:] = before[2]


async def test_only_the_download_takes_a_query_token(harness: Harness) -> None:
    call_id, _ = await _recorded(harness)
    token = {"access_token": _token(role=Role.OWNER)}

    assert (await harness.http.get(f"/calls/{call_id}", params=token)).status_code == 401
    deleted = await harness.http.delete(f"/calls/{call_id}/recording", params=token)
    assert deleted.status_code == 401
    assert (await harness.get_call(call_id)).json()["recording"]["status"] == "available"
