"""The postgres adapter speaks in domain errors and typed changes; the list's serialization
shortcut writes exactly what FastAPI's response model would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from numbers_api.adapters.postgres import Store, new_number_row, number_from_row
from numbers_api.api.phone_numbers import page_json
from numbers_api.domain import SOURCE, PhoneNumberChanges
from numbers_api.errors import AlreadyRegistered
from numbers_api.schemas import Page
from talkifai_common.db import create_pool
from talkifai_common.events import (
    EventName,
    MediaEncryption,
    PhoneNumberData,
    RecordingMode,
    SipTransport,
    new_event,
)
from tests.support.numbers_api import Api


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        yield Store(pool)
    finally:
        await pool.close()


async def _insert(store: Store, org_id: str, number_id: str, phone_number: str) -> None:
    changes = PhoneNumberChanges(
        phone_number=phone_number,
        recording_mode=RecordingMode.DISABLED,
        sip_transport=SipTransport.AUTO,
        media_encryption=MediaEncryption.ALLOW,
    )
    row = new_number_row(org_id, number_id, changes, datetime.now(UTC))
    event = new_event(
        EventName.PHONE_NUMBER_CREATED,
        source=SOURCE,
        subject=number_id,
        orgid=org_id,
        data=number_from_row(row),
    )
    async with store.writer() as tx:
        await tx.insert_number(row, event)


async def test_store_reports_a_number_registered_anywhere_as_already_registered(
    store: Store,
) -> None:
    await _insert(store, "org_a", "pn_first", "+12025550123")
    with pytest.raises(AlreadyRegistered, match=r"\+12025550123 is already registered"):
        await _insert(store, "org_b", "pn_second", "+12025550123")


async def test_store_reports_a_change_to_a_taken_number_as_already_registered(
    store: Store,
) -> None:
    await _insert(store, "org_a", "pn_first", "+12025550123")
    await _insert(store, "org_a", "pn_second", "+12025550124")
    with pytest.raises(AlreadyRegistered, match=r"\+12025550123 is already registered"):
        async with store.transaction() as tx:
            await tx.update_number("pn_second", PhoneNumberChanges(phone_number="+12025550123"))


async def test_phone_number_changes_write_only_the_fields_set_with_enums_as_enums() -> None:
    changes = PhoneNumberChanges(webhook_url=None, recording_mode=RecordingMode.ALL)
    assert changes.columns() == {"webhook_url": None, "recording_mode": RecordingMode.ALL}
    with pytest.raises(ValidationError):
        PhoneNumberChanges.model_validate({"search_text": "x"})


async def test_numbers_page_shortcut_writes_the_bytes_fastapi_would(api: Api) -> None:
    agent = await api.agent()
    await api.number("+12025550123", termination_uri="trunk.example.com", webhook_url=None)
    await api.number("+12025550124")
    assigned = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": "+12025550123", "inbound_agent_id": agent["id"]},
    )
    assert assigned.status_code == 200, assigned.text
    listed = await api.request("GET", "/phone-numbers", params={"limit": 1})
    page = Page[PhoneNumberData].model_validate_json(listed.content)
    assert page.items[0].inbound_agent is not None and page.next_cursor is not None

    reference = FastAPI()

    @reference.get("/page", response_model=Page[PhoneNumberData])
    async def through_response_model() -> Page[PhoneNumberData]:
        return page

    transport = httpx.ASGITransport(app=reference)
    async with httpx.AsyncClient(transport=transport, base_url="http://reference") as client:
        expected = await client.get("/page")
    assert bytes(page_json(page).body) == expected.content
    assert listed.content == expected.content
