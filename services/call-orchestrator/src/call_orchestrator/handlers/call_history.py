"""The call history the organization reads: its calls page by page, and one call."""

from __future__ import annotations

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
) -> CallPage:
    """The organization's calls, newest first."""
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
    )
    items = [r.data for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(last.started_at, last.id)
    return CallPage(items=items, next_cursor=next_cursor)


async def get_call(store: CallStore, principal: Principal, call_id: str) -> CallData:
    """One call of the organization."""
    call = await store.get_call(call_id, principal.org_id)
    if call is None:
        raise NotFound(f"Call {call_id} not found")
    return call.data
