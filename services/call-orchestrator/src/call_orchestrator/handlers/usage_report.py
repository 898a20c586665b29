"""`GET /usage`: the organization's calls, billed minutes and costs per number, agent or day."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from call_orchestrator.adapters.postgres import CostStore, GroupBy, UsageRow
from call_orchestrator.pricing import micros_text
from call_orchestrator.schemas import UsageAmounts, UsageGroup, UsageReport
from talkifai_common.auth import Principal
from talkifai_common.errors import ValidationFailed

MAX_RANGE = timedelta(days=366)


def _utc(value: datetime, field: str) -> datetime:
    """The time in UTC (one without a zone is UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before the first representable time
        raise ValidationFailed.for_field(field, "is out of range") from exc


async def usage_report(
    store: CostStore, principal: Principal, start: datetime, end: datetime, group_by: GroupBy
) -> UsageReport:
    """Totals per group of the calls started in [start, end), summed by the database."""
    start, end = _utc(start, "from"), _utc(end, "to")
    if start >= end:
        raise ValidationFailed.for_field("to", "must be after from")
    if end - start > MAX_RANGE:
        raise ValidationFailed.for_field("to", "the period may be at most 366 days")
    rows = await store.totals(principal.org_id, group_by, start, end)
    return UsageReport(
        start=start,
        end=end,
        group_by=group_by,
        groups=[_group(row, group_by) for row in _fold_unpriced(rows)],
    )


def _fold_unpriced(rows: list[UsageRow]) -> list[UsageRow]:
    """Fold a group's calls never priced into its priced calls when those have one currency, so
    a group is one line unless its calls were priced in several currencies."""
    by_key: dict[str | None, list[UsageRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    folded: list[UsageRow] = []
    for group in by_key.values():
        priced = [r for r in group if r.currency is not None]
        unpriced = [r for r in group if r.currency is None]
        if len(priced) == 1 and unpriced:
            row, extra = priced[0], unpriced[0]
            folded.append(
                replace(
                    row,
                    calls=row.calls + extra.calls,
                    agent_name=row.agent_name or extra.agent_name,
                )
            )
        else:
            folded.extend(group)
    return folded


def _group(row: UsageRow, group_by: GroupBy) -> UsageGroup:
    return UsageGroup(
        key=row.key,
        agent_name=row.agent_name if group_by is GroupBy.AGENT else None,
        currency=row.currency,
        calls=row.calls,
        costed_calls=row.costed_calls,
        billed_s=row.billed_s,
        billed_minutes=format(
            (Decimal(row.billed_s) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP), "f"
        ),
        cost=UsageAmounts(
            carrier=micros_text(row.carrier_micros),
            llm=micros_text(row.llm_micros),
            stt=micros_text(row.stt_micros),
            tts=micros_text(row.tts_micros),
            total=micros_text(row.total_micros),
        ),
        cost_micros={
            "carrier": row.carrier_micros,
            "llm": row.llm_micros,
            "stt": row.stt_micros,
            "tts": row.tts_micros,
            "total": row.total_micros,
        },
    )
