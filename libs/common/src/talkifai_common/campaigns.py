"""The campaign contract: a batch of outbound calls, as the API shows it and events carry it.

call-orchestrator owns campaigns; `telephony.campaign.*` events carry `CampaignData` (the same
object `GET /campaigns/{id}` answers). Windows, pacing and the retry policy are value objects
with their rules, so the HTTP edge and the scheduler read the same thing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_SIP_RANGE = re.compile(r"^(\d{3})(?:-(\d{3}))?$")


class CampaignStatus(StrEnum):
    """Where a campaign is: it dials only while `running`; completed and cancelled are final."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RowStatus(StrEnum):
    """Where one row (one number to call) is."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    WAITING_RETRY = "waiting_retry"
    COMPLETED = "completed"
    FAILED = "failed"
    DO_NOT_CALL = "do_not_call"
    CANCELLED = "cancelled"


TERMINAL_ROW_STATUSES = frozenset(
    {RowStatus.COMPLETED, RowStatus.FAILED, RowStatus.DO_NOT_CALL, RowStatus.CANCELLED}
)


class AttemptOutcome(StrEnum):
    """How one attempt ended; `not_placed`: no call was recorded, so nobody was dialed."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    AGENT_FAILED = "agent_failed"
    NOT_PLACED = "not_placed"


def minutes_of(clock: str) -> int:
    """`"09:30"` as minutes after midnight (`"24:00"` is 1440)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CallingWindows(_Value):
    """When rows may be dialed, in the callee's local time."""

    days: tuple[Day, ...] = Field(
        default=DAYS, min_length=1, description="Days of the week calls may be placed."
    )
    start: str = Field(
        default="00:00",
        description="Local time of day calls may start (HH:MM).",
        examples=["09:00"],
    )
    end: str = Field(
        default="24:00",
        description="Local time of day after which no call starts (HH:MM, exclusive; 24:00 is "
        "the end of the day); after `start`.",
        examples=["20:00"],
    )
    blackout_dates: tuple[date, ...] = Field(
        default=(), max_length=366, description="Local dates with no calls at all."
    )

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError("must be a time of day HH:MM (00:00 to 24:00)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CallingWindows:
        if minutes_of(self.end) <= minutes_of(self.start):
            raise ValueError("end must be after start (windows do not span midnight)")
        return self


class Pacing(_Value):
    """How fast a campaign dials: new calls per second and calls live at once."""

    calls_per_second: float = Field(
        default=1.0, gt=0, le=100, description="New calls per second, at most."
    )
    max_concurrent: int = Field(
        default=1,
        ge=1,
        le=10_000,
        description="Calls of this campaign live at once, at most (and never more than the "
        "organization's concurrent-call limit, shared with its other calls).",
    )


class RetryOn(_Value):
    """Which outcomes are tried again."""

    busy: bool = True
    no_answer: bool = True
    failed: tuple[str, ...] = Field(
        default=("500-599",),
        max_length=50,
        description="SIP status codes or ranges (`408`, `500-599`) of failures to retry; a "
        "failure with no SIP status (carrier unreachable, LiveKit or dispatch error) is retried "
        "when this list is not empty.",
    )
    agent_failed: bool = True

    @field_validator("failed")
    @classmethod
    def _ranges(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            match = _SIP_RANGE.match(item)
            if not match:
                raise ValueError(f"{item!r} is not a SIP status code or range like 500-599")
            low, high = int(match[1]), int(match[2] or match[1])
            if not (100 <= low <= high <= 699):
                raise ValueError(f"{item!r} is not a range of SIP status codes (100-699)")
        return value

    def retries_sip_status(self, sip_status: int | None) -> bool:
        """Whether a failure with this SIP status is tried again."""
        if sip_status is None:
            return bool(self.failed)
        for item in self.failed:
            low, _, high = item.partition("-")
            if int(low) <= sip_status <= int(high or low):
                return True
        return False


class RetryPolicy(_Value):
    """How often a row is tried, and after which outcomes."""

    max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Attempts per row, the first included (attempts that placed no call do "
        "not count).",
    )
    delay_s: int = Field(
        default=3600, ge=0, le=30 * 24 * 3600, description="Wait before a retry, in seconds."
    )
    on: RetryOn = RetryOn()


class CampaignAgentRef(BaseModel):
    """The agent placing a campaign's calls."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str


class RowCounts(BaseModel):
    """How many rows are in each status."""

    model_config = ConfigDict(frozen=True)

    total: int = 0
    pending: int = 0
    in_progress: int = 0
    waiting_retry: int = 0
    completed: int = 0
    failed: int = 0
    do_not_call: int = 0
    cancelled: int = 0


class CampaignData(BaseModel):
    """A campaign as `GET /campaigns/{id}` shows it and `telephony.campaign.*` events carry it."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(examples=["cmp_4m6q9s1v3x5z8d2k"])
    name: str = Field(examples=["December renewals"])
    status: CampaignStatus
    agent: CampaignAgentRef
    from_numbers: tuple[str, ...] = Field(description="The caller-ID pool (E.164), rotated.")
    windows: CallingWindows | None = Field(
        description="When calls may be placed, in the callee's local time; null: any time."
    )
    pacing: Pacing
    retry: RetryPolicy
    start_at: datetime | None = Field(description="Nothing is dialed before this instant.")
    ringing_timeout_s: int | None
    counts: RowCounts
    calls_in_progress: int = Field(description="Attempts being dialed or live now.")
    eta_at: datetime | None = Field(
        description="When the rows still to dial should be done at the configured pace "
        "(running campaigns only; windows and retries can push it later)."
    )
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime
    created_by: str = Field(description="The `sub` of the user who created it.")
