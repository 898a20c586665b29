"""Recording settings without a server: where objects go, what the settings never show (the
egress request itself is checked against the emulator in test_recordings.py)."""

from __future__ import annotations

import pytest

from call_orchestrator.config import Settings

pytestmark = pytest.mark.unit
SECRET = "s3-secret-that-must-never-show"


def _settings(**values: object) -> Settings:
    return Settings(dev_mode=True, **values)  # type: ignore[arg-type]


def test_object_storage_is_off_without_a_bucket() -> None:
    assert _settings().recording_s3 is None


def test_object_keys_go_under_the_prefix() -> None:
    s3 = _settings(recording_s3_bucket="rec", recording_s3_prefix="/calls/").recording_s3
    assert s3 is not None
    assert s3.key("recordings/{room_name}-{time}.ogg") == "calls/recordings/{room_name}-{time}.ogg"
    assert _settings(recording_s3_bucket="rec").recording_s3.key("/a.ogg") == "a.ogg"  # type: ignore[union-attr]


def test_the_secret_key_never_shows_in_settings_or_their_reprs() -> None:
    settings = _settings(
        recording_s3_bucket="rec", recording_s3_access_key="AKIA", recording_s3_secret_key=SECRET
    )
    s3 = settings.recording_s3
    assert s3 is not None and s3.secret_key == SECRET
    assert SECRET not in repr(settings)
    assert SECRET not in repr(s3)
    assert SECRET not in settings.model_dump_json()
