"""HTTP bodies of the campaign and do-not-call routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from call_orchestrator.schemas import MAX_RINGING_TIMEOUT_S
from talkifai_common.campaigns import (
    AttemptOutcome,
    CallingWindows,
    CampaignData,
    Pacing,
    RetryPolicy,
    RowStatus,
)

MAX_FROM_NUMBERS = 100


class CampaignSettings(BaseModel):
    """A campaign's settings: the multipart upload's `campaign` part, and the JSON body less
    its rows."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["December renewals"])
    agent_id: str = Field(
        min_length=1,
        max_length=64,
        description="The organization's voice agent that places the calls.",
    )
    from_numbers: list[str] = Field(
        min_length=1,
        max_length=MAX_FROM_NUMBERS,
        description="Caller IDs, rotated round-robin: each the organization's active number "
        "with a synced outbound trunk.",
        examples=[["+12025550100"]],
    )
    windows: CallingWindows | None = Field(
        default=None,
        description="When calls may be placed in the callee's local time (the row's "
        "`time_zone`, else every zone its number may be in); null: any time.",
    )
    pacing: Pacing = Pacing()
    retry: RetryPolicy = RetryPolicy()
    start_at: datetime | None = Field(
        default=None, description="Nothing is dialed before this instant (ISO 8601)."
    )
    ringing_timeout_s: int | None = Field(default=None, ge=1, le=MAX_RINGING_TIMEOUT_S, strict=True)


class CampaignCreate(CampaignSettings):
    """`POST /campaigns` as JSON."""

    rows: list[Any] = Field(
        description="`{to_number, metadata?, time_zone?}` each; invalid rows are reported in "
        "`rejected_rows` with their 1-based index, not refused.",
        examples=[[{"to_number": "+12025550123", "metadata": {"first_name": "Ada"}}]],
    )


class RejectedRowOut(BaseModel):
    """A row left out of the campaign."""

    line: int = Field(description="CSV line (the header is line 1), or 1-based index in `rows`.")
    to_number: str
    reason: str = Field(examples=["duplicate of line 3"])


class CampaignCreated(CampaignData):
    """The campaign created (a draft), and the rows left out."""

    rejected_rows: list[RejectedRowOut] = Field(description="The first 1,000 rows left out.")
    rejected_count: int


class PreviewRow(BaseModel):
    """An accepted row as it would be stored."""

    line: int
    to_number: str
    time_zone: str | None
    metadata: dict[str, Any]


class CampaignDryRun(BaseModel):
    """`?dry_run=true`: what would be stored, nothing stored."""

    accepted: int
    rejected_rows: list[RejectedRowOut]
    rejected_count: int
    preview: list[PreviewRow] = Field(description="The first 20 accepted rows.")


class CampaignPage(BaseModel):
    """The organization's campaigns, newest first."""

    campaigns: list[CampaignData]
    next_cursor: str | None


class AttemptOut(BaseModel):
    """One attempt at a row."""

    number: int
    call_id: str
    from_number: str
    started_at: datetime
    ended_at: datetime | None
    outcome: AttemptOutcome | None = Field(description="null while the call is being placed.")
    sip_status_code: int | None
    detail: str | None


class RowOut(BaseModel):
    """A row of a campaign, with its attempts."""

    id: str
    line: int
    to_number: str
    time_zone: str | None
    metadata: dict[str, Any]
    status: RowStatus
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None = Field(
        description="When it is due (pending or waiting_retry rows); windows may delay it."
    )


class RowPage(BaseModel):
    """A page of a campaign's rows in line order."""

    rows: list[RowOut]
    next_cursor: str | None


class DoNotCallEntry(BaseModel):
    """A number the organization's campaigns never dial."""

    number: str
    reason: str | None
    added_at: datetime
    added_by: str


class DoNotCallPage(BaseModel):
    """The organization's do-not-call list in number order."""

    numbers: list[DoNotCallEntry]
    next_cursor: str | None


class DoNotCallAdd(BaseModel):
    """Numbers to put on the list."""

    model_config = ConfigDict(extra="forbid")

    # 200 numbers of at most 40 characters stay under the service's 64 KiB body limit, even
    # written as JSON escapes.
    numbers: list[Annotated[str, Field(max_length=40)]] = Field(
        min_length=1,
        max_length=200,
        description="At most 200 a request; E.164 (typed forms such as +1 (202) 555-0123 too).",
        examples=[["+12025550123"]],
    )
    reason: str | None = Field(default=None, max_length=200, examples=["asked not to be called"])


class DoNotCallAdded(BaseModel):
    """How many numbers were new on the list."""

    added: int
