"""Rules of campaigns, with no I/O: calling windows in the callee's time zones, what a call's end
means for its row (retry or not), the caller-ID rotation and the pace.

Windows are evaluated on instants (UTC) converted through `zoneinfo`, so DST transitions need no
special case: 09:00 local is whatever instant the zone's rules make it on that date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from phonenumbers import timezone as number_timezones

from talkifai_common.campaigns import (
    DAYS,
    AttemptOutcome,
    CallingWindows,
    RetryPolicy,
    RowStatus,
    minutes_of,
)

UNKNOWN_ZONE = "Etc/Unknown"
FALLBACK_ZONE = "UTC"
# How far ahead the next opening of a window is looked for (a year of blackout dates at most).
_HORIZON_DAYS = 400


class Clock(Protocol):
    """Where the scheduler reads the time: the system's, or a test's controllable one."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """Now, in UTC."""
        return datetime.now(UTC)


@lru_cache(maxsize=4096)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name` (ZoneInfoNotFoundError / ValueError when there is none)."""
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows."""
    if name not in _known_zones():
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=65536)
def zones_for_number(e164: str) -> tuple[str, ...]:
    """The time zones a number may be in, from phonenumbers' geocoding (several for a country
    or area code spanning zones); UTC when it knows none."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (FALLBACK_ZONE,)
    found = [
        name
        for name in number_timezones.time_zones_for_number(parsed)
        if name != UNKNOWN_ZONE and is_known_zone(name)
    ]
    return tuple(found) or (FALLBACK_ZONE,)


def window_open_in(windows: CallingWindows, zone_name: str, instant: datetime) -> bool:
    """Whether `instant` is inside the windows in the zone's local time."""
    local = instant.astimezone(zone(zone_name))
    if DAYS[local.weekday()] not in windows.days or local.date() in windows.blackout_dates:
        return False
    minute = local.hour * 60 + local.minute
    return minutes_of(windows.start) <= minute < minutes_of(windows.end)


def window_open(windows: CallingWindows | None, zones: Sequence[str], instant: datetime) -> bool:
    """Whether a row may be dialed at `instant`: inside the windows in every zone it may be in."""
    if windows is None:
        return True
    return all(window_open_in(windows, name, instant) for name in zones)


def _local_instant(day: date, minute: int, zone_name: str) -> datetime:
    """The first instant whose local time on `day` is `minute` after midnight or later: the
    wall time itself, its first occurrence when the clocks fall back, and the end of the gap when
    they spring forward over it (02:30 on a day that goes from 02:00 to 03:00 opens at 03:00)."""
    tz = zone(zone_name)
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    first, second = sorted(
        (wall.replace(fold=0).astimezone(UTC), wall.replace(fold=1).astimezone(UTC))
    )
    if first.astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return first
    # In a gap: bisect (to the second) for the instant local time passes the wall time.
    low, high = first, second
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall.replace(tzinfo=None):
            high = middle
        else:
            low = middle
    # Whole seconds, rounded up: still past the gap.
    return high.replace(microsecond=0) + timedelta(seconds=1 if high.microsecond else 0)


def next_open(
    windows: CallingWindows | None, zones: Sequence[str], after: datetime
) -> datetime | None:
    """The first instant at or after `after` when the row may be dialed; None if there is none
    within about a year (every day blacked out, say)."""
    if window_open(windows, zones, after):
        return after
    assert windows is not None
    # An opening of the intersection is an opening of one zone's window: try each zone's local
    # starts in order.
    candidates: set[datetime] = set()
    start = minutes_of(windows.start)
    for name in zones:
        first = after.astimezone(zone(name)).date()
        for offset in range(_HORIZON_DAYS):
            candidates.add(_local_instant(first + timedelta(days=offset), start, name))
    for candidate in sorted(c for c in candidates if c > after):
        if window_open(windows, zones, candidate):
            return candidate
    return None


@dataclass(frozen=True)
class CallEnd:
    """What the call of an attempt recorded when it ended."""

    answered: bool
    failure_reason: str | None
    sip_status_code: int | None


def outcome_of(end: CallEnd) -> AttemptOutcome:
    """The attempt's outcome from its call: the agent failing wins over an answer."""
    if end.failure_reason == "agent_failed":
        return AttemptOutcome.AGENT_FAILED
    if end.answered:
        return AttemptOutcome.ANSWERED
    if end.failure_reason == "busy":
        return AttemptOutcome.BUSY
    if end.failure_reason == "no_answer":
        return AttemptOutcome.NO_ANSWER
    return AttemptOutcome.FAILED


def retried(policy: RetryPolicy, outcome: AttemptOutcome, sip_status: int | None) -> bool:
    """Whether the policy tries a row again after this outcome (attempts left aside)."""
    match outcome:
        case AttemptOutcome.BUSY:
            return policy.on.busy
        case AttemptOutcome.NO_ANSWER:
            return policy.on.no_answer
        case AttemptOutcome.AGENT_FAILED:
            return policy.on.agent_failed
        case AttemptOutcome.FAILED:
            return policy.on.retries_sip_status(sip_status)
        case _:
            return False


@dataclass(frozen=True)
class RowNext:
    """Where a row goes after an attempt's outcome, and when it is due again."""

    status: RowStatus
    due_at: datetime | None = None


def after_outcome(
    policy: RetryPolicy,
    outcome: AttemptOutcome,
    sip_status: int | None,
    counted_attempts: int,
    now: datetime,
    *,
    cancelled: bool,
) -> RowNext:
    """The row's next status after an attempt that counted (`counted_attempts` includes it)."""
    if outcome is AttemptOutcome.ANSWERED:
        return RowNext(RowStatus.COMPLETED)
    if retried(policy, outcome, sip_status) and counted_attempts < policy.max_attempts:
        if cancelled:
            return RowNext(RowStatus.CANCELLED)
        return RowNext(RowStatus.WAITING_RETRY, now + timedelta(seconds=policy.delay_s))
    return RowNext(RowStatus.FAILED)


def from_number_for(pool: Sequence[str], dial_number: int, busy: Iterable[str] = ()) -> str:
    """The caller ID of a campaign's `dial_number`-th dial: round-robin over the pool, skipping
    numbers known to be busy for this callee when another is free."""
    skip = set(busy)
    for step in range(len(pool)):
        candidate = pool[(dial_number + step) % len(pool)]
        if candidate not in skip:
            return candidate
    return pool[dial_number % len(pool)]


def next_dial_at(previous: datetime, now: datetime, calls_per_second: float) -> datetime:
    """The slot after a dial claimed at `now` (its own slot: `previous`, or `now` when that has
    passed): one interval later, never banking the time the campaign spent idle (no burst
    after a pause)."""
    return max(previous, now) + timedelta(seconds=1 / calls_per_second)


def eta(remaining_dials: int, calls_per_second: float, now: datetime) -> datetime:
    """When `remaining_dials` more dials are done at the configured pace."""
    return now + timedelta(seconds=remaining_dials / calls_per_second)
