"""Campaigns: create one from rows (JSON or CSV), read it, start, pause, resume, cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

from call_orchestrator.adapters.postgres import NewCampaign, NewRow, Stores
from call_orchestrator.campaign_input import (
    AcceptedRow,
    RowCheck,
    RowInput,
    TooManyRows,
    check_rows,
    metadata_columns,
)
from call_orchestrator.campaign_schemas import (
    CampaignCreated,
    CampaignDryRun,
    CampaignSettings,
    PreviewRow,
    RejectedRowOut,
)
from call_orchestrator.config import Settings
from talkifai_common.auth import Principal
from talkifai_common.campaigns import CampaignAgentRef, CampaignData, CampaignStatus
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.errors import (
    Conflict,
    FieldError,
    NotFound,
    TalkifaiError,
    ValidationFailed,
)
from talkifai_common.events import EventName
from talkifai_common.ids import random_id
from talkifai_common.voice import Architecture
from talkifai_common.web_input import text_problem

PREVIEW_ROWS = 20


class PayloadTooLarge(TalkifaiError):
    """More rows or bytes than a campaign may take."""

    status_code = 413
    title = "Payload too large"


class CampaignNotFound(NotFound):
    """No such campaign in the caller's organization."""

    def __init__(self) -> None:
        super().__init__("Campaign not found")


class WrongCampaignStatus(Conflict):
    """The transition is not allowed from the campaign's status."""

    def __init__(self, action: str, current: CampaignStatus) -> None:
        super().__init__(f"Cannot {action} a campaign that is {current.value}")


_TRANSITIONS: dict[str, tuple[CampaignStatus, tuple[CampaignStatus, ...], EventName]] = {
    "start": (CampaignStatus.RUNNING, (CampaignStatus.DRAFT,), EventName.CAMPAIGN_STARTED),
    "pause": (CampaignStatus.PAUSED, (CampaignStatus.RUNNING,), EventName.CAMPAIGN_PAUSED),
    "resume": (CampaignStatus.RUNNING, (CampaignStatus.PAUSED,), EventName.CAMPAIGN_RESUMED),
    "cancel": (
        CampaignStatus.CANCELLED,
        (CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED),
        EventName.CAMPAIGN_CANCELLED,
    ),
}


def utcnow() -> datetime:
    """Now, in UTC (the API's clock; the scheduler has its own)."""
    return datetime.now(UTC)


async def create_campaign(
    stores: Stores,
    settings: Settings,
    principal: Principal,
    campaign: CampaignSettings,
    rows: Iterable[RowInput],
    *,
    csv_header: list[str] | None,
    dry_run: bool,
) -> CampaignCreated | CampaignDryRun:
    """Check the settings and every row; store the campaign as a draft with its accepted rows
    (or, for a dry run, say what would be stored)."""
    principal.require_manager()
    for field, text in (("name", campaign.name), ("agent_id", campaign.agent_id)):
        if problem := text_problem(text):
            raise ValidationFailed.for_field(field, problem)
    agent = await _agent(stores, principal.org_id, campaign.agent_id)
    from_numbers = await _from_numbers(stores, settings, principal.org_id, campaign, agent)
    if campaign.pacing.max_concurrent > settings.max_concurrent_calls_per_org:
        raise ValidationFailed.for_field(
            "pacing.max_concurrent",
            f"must be at most the organization's concurrent-call limit "
            f"({settings.max_concurrent_calls_per_org})",
        )
    try:
        # Reading a file of 100,000 lines and checking each number takes a while: off the loop.
        check = await asyncio.to_thread(
            partial(check_rows, derive_zones=campaign.windows is not None),
            rows,
            settings.campaign_max_rows,
        )
    except TooManyRows as exc:
        raise PayloadTooLarge(str(exc)) from exc
    blocked = await stores.do_not_call.on_list(
        principal.org_id, [r.to_number for r in check.accepted]
    )
    check.drop_blocked(blocked)
    rejected = [
        RejectedRowOut(line=r.line, to_number=r.to_number, reason=r.reason) for r in check.rejected
    ]
    if dry_run:
        return CampaignDryRun(
            accepted=len(check.accepted),
            rejected_rows=rejected,
            rejected_count=check.rejected_count,
            preview=[_preview(r) for r in check.accepted[:PREVIEW_ROWS]],
        )
    if not check.accepted:
        field = "file" if csv_header is not None else "rows"
        raise ValidationFailed.for_field(field, _no_valid_row(check))
    new = NewCampaign(
        id=random_id("cmp"),
        org_id=principal.org_id,
        name=campaign.name,
        agent=agent,
        from_numbers=from_numbers,
        windows=campaign.windows,
        pacing=campaign.pacing,
        retry=campaign.retry,
        start_at=campaign.start_at,
        ringing_timeout_s=campaign.ringing_timeout_s,
        metadata_columns=metadata_columns(csv_header, check.accepted),
        created_by=principal.sub,
    )
    stored = [
        NewRow(random_id("cmr"), r.line, r.to_number, r.time_zone, r.zones, r.metadata)
        for r in check.accepted
    ]
    data = await stores.campaigns.create(new, stored, utcnow())
    return CampaignCreated(
        **data.model_dump(), rejected_rows=rejected, rejected_count=check.rejected_count
    )


def _no_valid_row(check: RowCheck) -> str:
    if not check.rejected:
        return "No rows: give at least one row with a to_number"
    first = check.rejected[0]
    return f"No valid row ({check.rejected_count} rejected; line {first.line}: {first.reason})"


def _preview(row: AcceptedRow) -> PreviewRow:
    return PreviewRow(
        line=row.line, to_number=row.to_number, time_zone=row.time_zone, metadata=row.metadata
    )


async def _agent(stores: Stores, org_id: str, agent_id: str) -> CampaignAgentRef:
    """The organization's voice agent (404 for another organization's or none)."""
    found = await stores.campaigns.agent(org_id, agent_id)
    if found is None:
        raise NotFound("Agent not found")
    name, architecture = found
    if not Architecture(architecture).is_voice:
        raise ValidationFailed.for_field(
            "agent_id", "Agent is a text-only agent and cannot make voice calls"
        )
    return CampaignAgentRef(id=agent_id, name=name)


async def _from_numbers(
    stores: Stores,
    settings: Settings,
    org_id: str,
    campaign: CampaignSettings,
    agent: CampaignAgentRef,
) -> tuple[str, ...]:
    """The caller-ID pool in E.164: each the organization's active number with a synced
    outbound trunk (404 for a number of another organization, 422 naming the entry otherwise)."""
    errors: list[FieldError] = []
    numbers: list[str] = []
    for index, raw in enumerate(campaign.from_numbers):
        field = f"from_numbers[{index}]"
        try:
            number = normalize_e164(raw)
        except InvalidPhoneNumber as exc:
            errors.append(FieldError(field, str(exc)))
            continue
        if number in numbers:
            errors.append(FieldError(field, f"{number} is given twice"))
            continue
        numbers.append(number)
        target = await stores.targets.outbound_target(
            org_id,
            number,
            number,
            max_live_per_org=settings.max_concurrent_calls_per_org,
            agent_id=agent.id,
        )
        if target is None:
            raise NotFound(f"Phone number {number} not found")
        if target.inactive:
            errors.append(FieldError(field, f"{number} is inactive: it cannot place calls"))
        elif not target.outbound_trunk_id:
            errors.append(
                FieldError(field, f"the outbound trunk of {number} is not synced with LiveKit yet")
            )
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    return tuple(numbers)


async def get_campaign(stores: Stores, principal: Principal, campaign_id: str) -> CampaignData:
    """One campaign of the caller's organization."""
    data = await stores.campaigns.get(principal.org_id, campaign_id, utcnow())
    if data is None:
        raise CampaignNotFound()
    return data


async def change_status(
    stores: Stores, principal: Principal, campaign_id: str, action: str
) -> CampaignData:
    """start, pause, resume or cancel (409 when the campaign's status does not allow it)."""
    principal.require_manager()
    to, allowed, event = _TRANSITIONS[action]
    moved = await stores.campaigns.transition(
        principal.org_id, campaign_id, to, allowed, event, utcnow()
    )
    if moved is None:
        raise CampaignNotFound()
    if isinstance(moved, CampaignStatus):
        raise WrongCampaignStatus(action, moved)
    return moved
