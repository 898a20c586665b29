"""The call history the organization reads: its calls page by page, and one call."""

from __future__ import annotations

from datetime import UTC, datetime

from call_orchestrator.adapters.postgres import CallStore
from call_orchestrator.adapters.postgres.call_rows import decode_cursor, encode_cursor
from call_orchestrator.schemas import CallPage
from talkifai_common.auth import Principal
from talkifai_common.e164 import InvalidPhoneNumber, normalize_e164
from talkifai_common.errors import NotFound, ValidationFailed
from talkifai_common.events import CallData, CallDirection, CallStatus


async def list_calls(
    store: CallStore,
    principal: Principal,
    *,
    phone_number: str | None,
    direction: CallDirection | None,
    status: CallStatus | None,
    limit: int,
    cursor: str | None,
    agent_id: str | None = None,
    started_from: datetime | None = None,
    started_before: datetime | None = None,
) -> CallPage:
    """The organization's calls, newest first; `started_from` (inclusive) and `started_before`
    (exclusive) bound when they started (a time without a zone is UTC)."""
    started_from, started_before = _aware(started_from), _aware(started_before)
    if started_from and started_before and started_from >= started_before:
        raise ValidationFailed.for_field(
            "started_before", "started_before must be later than started_from"
        )
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise ValidationFailed.for_field("cursor", "Cursor is not valid") from exc
    number = None
    if phone_number:
        try:
            number = normalize_e164(phone_number)
        except InvalidPhoneNumber as exc:
            raise ValidationFailed.for_field("phone_number", str(exc)) from exc
    rows = await store.list_calls(
        principal.org_id,
        phone_number=number,
        direction=direction,
        status=status,
        limit=limit + 1,
        after=after,
        agent_id=agent_id,
        started_from=started_from,
        started_before=started_before,
    )
    items = [r.data for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.started_at, last.id)
    return CallPage(items=items, next_cursor=next_cursor)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


async def get_call(store: CallStore, principal: Principal, call_id: str) -> CallData:
    """One call of the organization."""
    call = await store.get_call(call_id, principal.org_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    return call.data
