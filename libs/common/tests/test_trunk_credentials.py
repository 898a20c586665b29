"""Outbound credentials: the SIP password travels from numbers-api to trunk-sync and shows nowhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talkifai_common.events import MediaEncryption, SipTransport, SyncState, SyncStatus
from talkifai_common.internal_api import (
    InternalPhoneNumber,
    NumberForSync,
    NumbersForSync,
    TrunkCredentials,
    reveal_json,
)

pytestmark = pytest.mark.unit

PASSWORD = "s3cret-sip-pw"


def _credentials(password: str | None = PASSWORD) -> TrunkCredentials:
    return TrunkCredentials(
        phone_number_id="pn_1",
        phone_number="+12025550123",
        org_id="org_a",
        version=3,
        termination_uri="example.pstn.twilio.com",
        sip_username="trunk-user",
        sip_password=password,
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
    )


def _number() -> InternalPhoneNumber:
    now = datetime.now(UTC)
    return InternalPhoneNumber(
        id="pn_1",
        phone_number="+12025550123",
        termination_uri="example.pstn.twilio.com",
        sip_username="trunk-user",
        has_sip_password=True,
        inbound_agent=None,
        outbound_agent=None,
        webhook_url=None,
        recording_mode="disabled",
        sip_transport=SipTransport.TLS,
        media_encryption=MediaEncryption.REQUIRE,
        status="inactive",
        sync=SyncStatus(state=SyncState.PENDING),
        version=3,
        created_at=now,
        updated_at=now,
        org_id="org_a",
    )


def test_the_password_never_shows_in_repr_str_or_an_ordinary_dump() -> None:
    creds = _credentials()
    for shown in (
        repr(creds),
        str(creds),
        creds.model_dump_json(),
        str(creds.model_dump()),
        repr(NumberForSync(number=_number(), trunk_credentials=creds)),
    ):
        assert PASSWORD not in shown


def test_numbers_apis_revealed_answer_reads_back_with_the_password_in_trunk_sync() -> None:
    written = NumbersForSync(
        items=[NumberForSync(number=_number(), trunk_credentials=_credentials())]
    )
    wire = reveal_json(written)
    assert PASSWORD in wire
    [read] = NumbersForSync.model_validate_json(wire).items
    assert read.trunk_credentials == _credentials()
    assert read.trunk_credentials.sip_password is not None
    assert read.trunk_credentials.sip_password.get_secret_value() == PASSWORD


def test_a_number_without_a_password_reads_back_without_one() -> None:
    read = TrunkCredentials.model_validate_json(reveal_json(_credentials(None)))
    assert read.sip_password is None
