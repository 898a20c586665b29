"""The AsyncAPI document in the repository matches the event models."""

from pathlib import Path

import pytest

from talkifai_common.asyncapi import EVENT_DATA, render, specification
from talkifai_common.events import EventName

pytestmark = pytest.mark.unit

DOCUMENT = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def test_committed_document_is_current() -> None:
    assert DOCUMENT.read_text() == render(), "docs/asyncapi.json is stale: run `make asyncapi`"


def test_every_modelled_event_has_a_channel_and_no_secret_field() -> None:
    spec = specification()
    assert set(spec["channels"]) == {name.subject for name in EVENT_DATA}
    assert '"sip_password"' not in DOCUMENT.read_text()
    assert EventName.PHONE_NUMBER_SYNCED in EVENT_DATA
