"""Routes of a campaign's rows: each with its attempts, and the results as CSV (problem+json)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Response
from fastapi.responses import StreamingResponse

from call_orchestrator.api import ContextDep, PrincipalDep
from call_orchestrator.campaign_schemas import AttemptOut, RowOut, RowPage
from call_orchestrator.campaigns_api import (
    CAMPAIGNS_PATH,
    CampaignId,
    cursor_value,
    json_response,
)
from call_orchestrator.handlers import campaigns as handlers
from talkifai_common.campaigns import RowStatus
from talkifai_common.web import problem_responses
from talkifai_common.web_input import refuse_invalid_text

campaign_rows = APIRouter(tags=["campaigns"])


@campaign_rows.get(
    CAMPAIGNS_PATH + "/{campaign_id}/rows",
    response_model=RowPage,
    responses=problem_responses(401, 404, 422),
)
async def list_rows(
    ctx: ContextDep,
    principal: PrincipalDep,
    campaign_id: CampaignId,
    status: RowStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    """The campaign's rows in line order, each with its attempts and their call ids."""
    await handlers.get_campaign(ctx.stores, principal, campaign_id)
    after = cursor_value(cursor, _line_cursor) if cursor else 0
    rows = await ctx.stores.campaign_rows.page(
        campaign_id, status=status, after_line=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    out = [
        RowOut(
            id=r.id,
            line=r.line,
            to_number=r.to_number,
            time_zone=r.time_zone,
            metadata=r.metadata,
            status=r.status,
            next_attempt_at=r.next_attempt_at,
            attempts=[AttemptOut(**a.__dict__) for a in r.attempts],
        )
        for r in rows
    ]
    return json_response(RowPage(rows=out, next_cursor=str(rows[-1].line) if more else None))


_RESULT_COLUMNS = [
    "line",
    "to_number",
    "status",
    "attempts",
    "last_outcome",
    "last_sip_status_code",
    "last_call_id",
    "completed_at",
]


@campaign_rows.get(
    CAMPAIGNS_PATH + "/{campaign_id}/results.csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problem_responses(401, 404, 422),
    },
)
async def results_csv(
    ctx: ContextDep, principal: PrincipalDep, campaign_id: CampaignId
) -> StreamingResponse:
    """One CSV line per row: line, to_number, status, attempts (calls placed), last outcome, its
    SIP status and call id, completed_at, then the metadata columns (a value or column name that
    a spreadsheet would read as a formula, `=`, `+`, `-`, `@`, starts with an apostrophe)."""
    columns = await ctx.stores.campaigns.metadata_columns(principal.org_id, campaign_id)
    if columns is None:
        raise handlers.CampaignNotFound()

    async def lines() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*_RESULT_COLUMNS, *(_spreadsheet_safe(c) for c in columns)])
        count = 0
        async for r in ctx.stores.campaign_rows.results(campaign_id):
            meta = [_cell(r.metadata.get(c)) for c in columns]
            writer.writerow(
                [
                    r.line,
                    r.to_number,
                    r.status,
                    r.attempts,
                    r.last_outcome or "",
                    r.last_sip_status_code or "",
                    r.last_call_id or "",
                    r.completed_at.isoformat() if r.completed_at else "",
                    *meta,
                ]
            )
            count += 1
            if count % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"{campaign_id}-results.csv"
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return _spreadsheet_safe(value if isinstance(value, str) else json.dumps(value))


# A spreadsheet opening the CSV runs a cell starting with one of these as a formula (CSV
# injection): the uploaded values are written with a leading apostrophe, as OWASP advises.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _line_cursor(cursor: str) -> int:
    line = int(cursor)
    if not 0 <= line < 2**31:
        raise ValueError("line out of range")
    return line


def include_campaign_row_routes(app: FastAPI) -> None:
    """Mount the campaign row routes."""
    app.include_router(campaign_rows, dependencies=[Depends(refuse_invalid_text)])
