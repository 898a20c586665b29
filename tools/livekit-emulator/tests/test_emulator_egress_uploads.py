"""Room-composite egress with an `s3` file output uploads its file, as LiveKit Egress does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import anyio
import pytest
from livekit import api
from livekit.protocol import egress as egress_pb

from livekit_emulator.testing import RunningEmulator
from livekit_emulator.uploads import S3Target
from tests.support.emulator import WAIT_S
from tests.support.object_storage import ObjectStorage, object_storage, unused_endpoint


@pytest.fixture(scope="module")
def storage() -> Iterator[ObjectStorage]:
    with object_storage() as running:
        yield running


def s3_output(storage: ObjectStorage, bucket: str, endpoint: str = "") -> api.EncodedFileOutput:
    return api.EncodedFileOutput(
        file_type=egress_pb.EncodedFileType.OGG,
        filepath="recordings/{room_name}.ogg",
        s3=egress_pb.S3Upload(
            access_key=storage.access_key,
            secret=storage.secret_key,
            region=storage.region,
            endpoint=endpoint or storage.endpoint,
            bucket=bucket,
            force_path_style=True,
        ),
    )


async def _ended(lkapi: api.LiveKitAPI, egress_id: str) -> egress_pb.EgressInfo:
    async with asyncio.timeout(WAIT_S):
        while True:
            listed = await lkapi.egress.list_egress(api.ListEgressRequest(egress_id=egress_id))
            info = listed.items[0]
            if info.status in (
                egress_pb.EgressStatus.EGRESS_COMPLETE,
                egress_pb.EgressStatus.EGRESS_FAILED,
            ):
                return info
            await asyncio.sleep(0.02)


async def test_a_room_composite_recording_is_uploaded_to_the_s3_bucket(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, storage: ObjectStorage
) -> None:
    bucket = storage.new_bucket()
    await lkapi.room.create_room(api.CreateRoomRequest(name="rec-s3"))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="rec-s3", audio_only=True, file_outputs=[s3_output(storage, bucket)]
        )
    )
    # The credentials never come back, as LiveKit redacts them.
    returned = started.room_composite.file_outputs[0].s3
    assert (returned.access_key, returned.secret) == ("{access_key}", "{secret}")
    assert returned.bucket == bucket

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    info = await _ended(lkapi, started.egress_id)

    assert info.status == egress_pb.EgressStatus.EGRESS_COMPLETE, info.error
    [result] = info.file_results
    assert storage.keys(bucket) == ["recordings/rec-s3.ogg"]
    assert result.filename == "recordings/rec-s3.ogg"
    assert result.location == f"{storage.endpoint}/{bucket}/recordings/rec-s3.ogg"
    body = storage.read(bucket, "recordings/rec-s3.ogg")
    assert result.size == len(body) > 0
    assert body.startswith(b"OggS")
    # The local copy egress uploaded from is gone.
    assert lk.control.emulator is not None
    recordings = anyio.Path(lk.control.emulator.config.recordings_dir)
    assert not await (recordings / "recordings" / "rec-s3.ogg").exists()


async def test_an_upload_that_fails_fails_the_egress_with_the_error(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, storage: ObjectStorage
) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="rec-down"))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="rec-down",
            audio_only=True,
            file_outputs=[s3_output(storage, "recordings", endpoint=unused_endpoint())],
        )
    )

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    info = await _ended(lkapi, started.egress_id)

    assert info.status == egress_pb.EgressStatus.EGRESS_FAILED
    assert info.error.startswith("S3 upload failed: ")
    assert list(info.file_results) == []


async def test_an_upload_that_fails_lands_in_egress_backup_storage(
    lk: RunningEmulator,
    lkapi: api.LiveKitAPI,
    storage: ObjectStorage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a backup storage (livekit/egress `backup:`), the file is kept there and the egress
    completes with `backup_storage_used`, its location the backup file."""
    emulator = lk.control.emulator
    assert emulator is not None
    monkeypatch.setattr(
        emulator, "config", replace(emulator.config, egress_backup_dir=str(tmp_path))
    )
    await lkapi.room.create_room(api.CreateRoomRequest(name="rec-backup"))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="rec-backup",
            audio_only=True,
            file_outputs=[s3_output(storage, "recordings", endpoint=unused_endpoint())],
        )
    )

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    info = await _ended(lkapi, started.egress_id)

    assert info.status == egress_pb.EgressStatus.EGRESS_COMPLETE, info.error
    assert info.backup_storage_used
    [result] = info.file_results
    kept = tmp_path / "recordings" / "rec-backup.ogg"
    assert (result.filename, result.location) == ("recordings/rec-backup.ogg", str(kept))
    assert result.size == kept.stat().st_size > 0
    assert kept.read_bytes().startswith(b"OggS")


async def test_a_missing_bucket_fails_the_egress(
    lk: RunningEmulator, lkapi: api.LiveKitAPI, storage: ObjectStorage
) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="rec-nobucket"))
    started = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(
            room_name="rec-nobucket",
            audio_only=True,
            file_outputs=[s3_output(storage, "no-such-bucket")],
        )
    )

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
    info = await _ended(lkapi, started.egress_id)

    assert info.status == egress_pb.EgressStatus.EGRESS_FAILED
    assert "NoSuchBucket" in info.error


@pytest.mark.unit
@pytest.mark.parametrize(
    ("endpoint", "path_style", "location"),
    [
        ("http://127.0.0.1:9000", True, "http://127.0.0.1:9000/rec/a/b.ogg"),
        ("https://r2.example.com", False, "https://rec.r2.example.com/a/b.ogg"),
        ("", False, "https://rec.s3.eu-west-1.amazonaws.com/a/b.ogg"),
    ],
)
def test_the_location_reads_as_the_s3_upload_managers(
    endpoint: str, path_style: bool, location: str
) -> None:
    output = api.EncodedFileOutput(
        s3=egress_pb.S3Upload(
            bucket="rec", region="eu-west-1", endpoint=endpoint, force_path_style=path_style
        )
    )
    target = S3Target.of(output)
    assert target is not None
    assert target.location("a/b.ogg") == location
