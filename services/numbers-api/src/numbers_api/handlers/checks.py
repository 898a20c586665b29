"""The trunk doctor: probe a number's carrier as LiveKit would reach it, store the report on the
number and publish it (`telephony.phone_number.checked`), on request and periodically.

The probe (`adapters.sip_probe.check_trunk`) makes no database work wait: the number is read, the
carrier probed, then the report written with its event in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import SecretStr

from numbers_api.adapters.postgres import Store
from numbers_api.adapters.sip_probe import check_trunk
from numbers_api.config import Settings
from numbers_api.domain import SOURCE
from numbers_api.errors import PhoneNumberNotFound
from numbers_api.trunk_check import CheckTarget, TrunkCheck
from talkifai_common import carriers
from talkifai_common.auth import Principal
from talkifai_common.crypto import SecretBox
from talkifai_common.errors import ValidationFailed
from talkifai_common.events import EventName, PhoneNumberCheckedData, SipTransport, new_event

log = structlog.get_logger(__name__)
NO_TERMINATION = "Add the carrier's termination URI before checking the trunk"


def check_target(row: Any, box: SecretBox, *, allow_private: bool) -> CheckTarget:
    """What to probe for a stored number: its termination host over its transport, with its
    outbound credentials (the ones LiveKit answers the carrier's challenges with)."""
    profile = carriers.profiles().get(row["carrier"])
    transport = SipTransport(row["sip_transport"])
    ciphertext = row["sip_password_ciphertext"]
    return CheckTarget(
        termination_uri=row["termination_uri"],
        transport=transport,
        default_port=profile.port if profile and profile.transport == transport else None,
        username=row["sip_username"],
        password=SecretStr(box.decrypt(ciphertext)) if ciphertext is not None else None,
        allow_private=allow_private,
    )


async def check_number(
    store: Store, principal: Principal, number_id: str, box: SecretBox, settings: Settings
) -> TrunkCheck:
    """Check one number of the caller's organization now (owner/admin)."""
    principal.require_manager()
    async with store.reader() as tx:
        row = await tx.number_row(principal.org_id, number_id)
    if row is None:
        raise PhoneNumberNotFound(number_id)
    if row["termination_uri"] is None:
        raise ValidationFailed.for_field("termination_uri", NO_TERMINATION)
    report = await _probe(row, box, settings)
    if not await _record(store, row, report, settings):
        raise PhoneNumberNotFound(number_id)  # deleted while it was being checked
    return report


async def recheck_due(store: Store, box: SecretBox, settings: Settings) -> int:
    """Check the numbers whose periodic re-check is due (a batch); how many were checked."""
    async with store.transaction() as tx:
        due = await tx.claim_due_checks(settings.trunk_check_batch, settings.trunk_check_interval_s)
    checked = 0
    for number_id in due:
        async with store.reader() as tx:
            row = await tx.number_row(None, number_id)
        if row is None or row["termination_uri"] is None:
            continue
        report = await _probe(row, box, settings)
        checked += await _record(store, row, report, settings)
    return checked


async def _probe(row: Any, box: SecretBox, settings: Settings) -> TrunkCheck:
    target = check_target(row, box, allow_private=settings.allows_private_sip_destinations)
    report = await check_trunk(target, timeout_s=settings.trunk_check_timeout_s)
    log.info(
        "trunk.checked",
        phone_number_id=row["id"],
        verdict=report.verdict.value,
        target=report.target,
        round_trip_ms=report.round_trip_ms,
    )
    return report


async def _record(store: Store, row: Any, report: TrunkCheck, settings: Settings) -> bool:
    interval = settings.trunk_check_interval_s
    next_due = datetime.now(UTC) + timedelta(seconds=interval) if interval else None
    data = PhoneNumberCheckedData(
        phone_number_id=row["id"], phone_number=row["phone_number"], check=report
    )
    async with store.transaction() as tx:
        if not await tx.record_check(row["id"], report.model_dump(mode="json"), next_due):
            return False
        await tx.emit(
            new_event(
                EventName.PHONE_NUMBER_CHECKED,
                source=SOURCE,
                subject=row["id"],
                orgid=row["org_id"],
                data=data,
            )
        )
    return True
