"""Recordings are never lost to an object storage outage: LiveKit Egress keeps a file it could not
upload in its backup storage, call-orchestrator shows the recording pending and uploads it from
there until the storage takes it; and a call's end-of-call report waits (bounded) for its
recording, links it, and carries the call's cost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from call_orchestrator.config import Settings
from call_orchestrator.handlers.recording_files import KEPT_IN_BACKUP
from call_orchestrator.handlers.recording_uploads import backup_path, retry_in_s
from talkifai_common.auth import Role
from talkifai_common.events import EventName
from tests.support.call_orchestrator import Harness, eventually
from tests.support.call_reports import Hook, customer_hook, transcript_parts
from tests.support.object_storage import ObjectStorage, recording_settings

TO = "+12025550123"
PREFIX = "calls"
PUBLIC_API_URL = "https://api.example.com"


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    return tmp_path / "egress-backup"


@pytest.fixture
def report_wait_s() -> float:
    return 60.0


@pytest.fixture
def overrides(
    storage: ObjectStorage, bucket: str, backup_dir: Path, report_wait_s: float
) -> dict[str, Any]:
    return {
        **recording_settings(storage, bucket, PREFIX),
        "recording_backup_dir": str(backup_dir),
        "recording_upload_interval_s": 0.2,
        "recording_upload_retry_max_s": 0.4,
        "public_api_url": PUBLIC_API_URL,
        "report_wait_s": report_wait_s,
        "report_interval_s": 0.2,
    }


@pytest.fixture
def egress_backup(harness: Harness, backup_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LiveKit Egress configured with a backup storage (`backup:`) in `backup_dir`."""
    emulator = harness.lk.control.emulator
    assert emulator is not None
    monkeypatch.setattr(
        emulator, "config", replace(emulator.config, egress_backup_dir=str(backup_dir))
    )
    return backup_dir


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    async with customer_hook() as running:
        yield running


async def _recording_call(harness: Harness, webhook_url: str | None = None) -> dict[str, Any]:
    """An answered call of a number that records everything, once its recording started."""
    seeded = await harness.seed(recording_mode="all", webhook_url=webhook_url)
    response = await harness.call(TO, seeded.phone_number)
    assert response.status_code == 200, response.text
    call = await harness.wait_call(response.json()["call_id"], lambda c: c["recording"] is not None)
    call["seeded"] = seeded
    return call


def _kept_files(backup_dir: Path) -> list[Path]:
    """The files egress wrote to its backup storage."""
    return [path for path in backup_dir.rglob("*") if path.is_file()]


async def _hang_up(harness: Harness, call_id: str) -> None:
    owner = harness.headers(role=Role.OWNER)
    response = await harness.http.post(f"/calls/{call_id}/hangup", headers=owner)
    assert response.status_code == 200, response.text


async def _ended_with_upload_failing(
    harness: Harness, storage: ObjectStorage, bucket: str, webhook_url: str
) -> dict[str, Any]:
    """A recorded call, ended while object storage refuses uploads, once an upload from egress's
    backup storage has failed."""
    call = await _recording_call(harness, webhook_url=webhook_url)
    storage.client().delete_bucket(Bucket=bucket)
    await _hang_up(harness, call["id"])
    await harness.wait_call(
        call["id"], lambda c: c["recording"]["upload_attempts"] >= 1, within_s=15
    )
    return call


async def _publish_transcript(harness: Harness, call: dict[str, Any]) -> None:
    seeded = call["seeded"]
    for part in transcript_parts(call["id"], seeded, call["room_name"]):
        await harness.publish(EventName.CALL_TRANSCRIPT, seeded.org_id, call["id"], part)


async def test_a_recording_egress_could_not_upload_stays_pending_and_is_uploaded_later(
    harness: Harness, storage: ObjectStorage, bucket: str, egress_backup: Path
) -> None:
    call = await _recording_call(harness)
    storage.client().delete_bucket(Bucket=bucket)  # object storage refuses every upload

    await _hang_up(harness, call["id"])
    kept = await harness.wait_call(
        call["id"], lambda c: c["recording"]["upload_attempts"] >= 2, within_s=15
    )

    # Pending, with why; the file waits in egress's backup storage; the failure is an event.
    assert kept["recording"]["status"] == "pending"
    assert kept["recording"]["error"].startswith("Upload to object storage failed again")
    [backup] = _kept_files(egress_backup)
    kept_bytes = backup.read_bytes()
    assert kept_bytes.startswith(b"OggS")
    events = await harness.settled_events(EventName.CALL_RECORDING_UPLOAD_FAILED.value)
    [event] = [e for e in events if e["subject"] == call["id"]]
    assert event["data"]["recording"]["status"] == "pending"
    assert event["data"]["recording"]["error"] == KEPT_IN_BACKUP
    fetched = await harness.http.get(f"/calls/{call['id']}/recording", headers=harness.headers())
    assert fetched.status_code == 404
    assert "pending" in fetched.json()["detail"]

    storage.client().create_bucket(Bucket=bucket)  # storage is back
    stored = await harness.wait_call(
        call["id"], lambda c: c["recording"]["status"] == "available", within_s=15
    )

    [key] = storage.keys(bucket)
    assert key.startswith(f"{PREFIX}/recordings/{call['room_name']}-")
    assert storage.read(bucket, key) == kept_bytes
    assert stored["recording"]["size_bytes"] == len(storage.read(bucket, key))
    assert stored["recording"]["error"] is None
    assert not backup.exists()
    fetched = await harness.http.get(f"/calls/{call['id']}/recording", headers=harness.headers())
    assert fetched.status_code == 307


async def test_a_kept_recording_whose_file_is_gone_fails_with_its_event(
    harness: Harness, storage: ObjectStorage, bucket: str, egress_backup: Path
) -> None:
    call = await _recording_call(harness)
    storage.client().delete_bucket(Bucket=bucket)
    await _hang_up(harness, call["id"])
    await harness.wait_call(
        call["id"], lambda c: c["recording"]["upload_attempts"] >= 1, within_s=15
    )

    for path in _kept_files(egress_backup):
        path.unlink()
    failed = await harness.wait_call(
        call["id"], lambda c: c["recording"]["status"] == "failed", within_s=15
    )

    assert "gone" in failed["recording"]["error"]
    events = await harness.settled_events(EventName.CALL_RECORDING_FAILED.value)
    assert [e for e in events if e["subject"] == call["id"]]


async def test_the_report_waits_for_the_recording_then_links_it_with_the_cost(
    harness: Harness, storage: ObjectStorage, bucket: str, egress_backup: Path, hook: Hook
) -> None:
    call = await _ended_with_upload_failing(harness, storage, bucket, hook.url)

    await _publish_transcript(harness, call)
    await eventually(
        lambda: harness.http.get(f"/calls/{call['id']}/transcript", headers=harness.headers()),
        lambda r: r.status_code == 200,
    )
    # The transcript is in and the call has ended, but its recording is still pending.
    await harness.wait_call(call["id"], lambda c: c["cost"] is not None)
    assert await hook.reports() == []

    storage.client().create_bucket(Bucket=bucket)
    [(_, report)] = await eventually(hook.reports, lambda r: len(r) >= 1, within_s=15)

    data = report["data"]
    assert data["call"]["recording"]["status"] == "available"
    assert data["recording_url"] == f"{PUBLIC_API_URL}/calls/{call['id']}/recording"
    # Priced from the transcript's usage: agent-runtime's usage event never came in this test.
    assert data["call"]["cost"]["total"] is not None
    assert data["usage"]["llm_input_tokens"] == 120


@pytest.mark.parametrize("report_wait_s", [0.5])
async def test_a_report_that_waited_long_enough_goes_with_the_recording_pending(
    harness: Harness, storage: ObjectStorage, bucket: str, egress_backup: Path, hook: Hook
) -> None:
    call = await _ended_with_upload_failing(harness, storage, bucket, hook.url)

    await _publish_transcript(harness, call)
    [(_, report)] = await eventually(hook.reports, lambda r: len(r) >= 1, within_s=15)

    assert report["data"]["call"]["recording"]["status"] == "pending"
    assert report["data"]["recording_url"] is None
    storage.client().create_bucket(Bucket=bucket)


@pytest.mark.unit
def test_only_files_inside_the_backup_directory_are_read(tmp_path: Path) -> None:
    settings = Settings.model_construct(
        recording_backup_dir=str(tmp_path / "mine"),
        recording_backup_egress_dir="/workspace/backup",
    )
    assert (
        backup_path(settings, "/workspace/backup/calls/a.ogg")
        == (tmp_path / "mine" / "calls" / "a.ogg").resolve()
    )
    assert backup_path(settings, "/workspace/backup/../../etc/passwd") is None
    assert backup_path(settings, "/etc/passwd") is None
    unset = Settings.model_construct(recording_backup_dir=None)
    assert backup_path(unset, "/workspace/backup/a.ogg") is None


@pytest.mark.unit
def test_the_wait_between_uploads_doubles_up_to_its_maximum() -> None:
    settings = Settings.model_construct(
        recording_upload_interval_s=30.0, recording_upload_retry_max_s=3600.0
    )
    assert [retry_in_s(settings, n) for n in range(9)] == [
        30.0,
        60.0,
        120.0,
        240.0,
        480.0,
        960.0,
        1920.0,
        3600.0,
        3600.0,
    ]
