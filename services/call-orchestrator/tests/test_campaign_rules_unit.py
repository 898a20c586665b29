"""The campaign rules with no I/O: windows across time zones and DST, retries by outcome, the
caller-ID rotation and the pace."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from call_orchestrator.campaign_rules import (
    CallEnd,
    after_outcome,
    from_number_for,
    next_dial_at,
    next_open,
    outcome_of,
    retried,
    window_open,
    zones_for_number,
)
from talkifai_common.campaigns import (
    AttemptOutcome,
    CallingWindows,
    RetryOn,
    RetryPolicy,
    RowStatus,
)

pytestmark = pytest.mark.unit

OFFICE = CallingWindows(days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="17:00")
EVERY_DAY = CallingWindows(start="09:00", end="17:00")
NEW_YORK = ("America/New_York",)
LOS_ANGELES = ("America/Los_Angeles",)


def utc(*parts: int) -> datetime:
    year, month, day, hour, minute = (*parts, 0, 0)[:5]
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_window_is_in_the_callees_local_time() -> None:
    monday_1430_utc = utc(2026, 12, 7, 14, 30)  # 09:30 in New York, 06:30 in Los Angeles
    assert window_open(OFFICE, NEW_YORK, monday_1430_utc)
    assert not window_open(OFFICE, LOS_ANGELES, monday_1430_utc)
    assert next_open(OFFICE, LOS_ANGELES, monday_1430_utc) == utc(2026, 12, 7, 17)


def test_a_number_in_several_zones_is_dialed_only_when_every_zone_is_open() -> None:
    both = NEW_YORK + LOS_ANGELES
    assert not window_open(OFFICE, both, utc(2026, 12, 7, 14, 30))
    # Open from 09:00 in Los Angeles (17:00 UTC) until 17:00 in New York (22:00 UTC).
    assert next_open(OFFICE, both, utc(2026, 12, 7, 14, 30)) == utc(2026, 12, 7, 17)
    assert window_open(OFFICE, both, utc(2026, 12, 7, 21, 59))
    assert not window_open(OFFICE, both, utc(2026, 12, 7, 22))
    assert next_open(OFFICE, both, utc(2026, 12, 7, 22)) == utc(2026, 12, 8, 17)


def test_weekends_and_blackout_dates_are_skipped_in_local_time() -> None:
    windows = OFFICE.model_copy(update={"blackout_dates": (date(2026, 12, 14),)})
    friday_evening = utc(2026, 12, 11, 23)  # 18:00 Friday in New York
    assert next_open(windows, NEW_YORK, friday_evening) == utc(2026, 12, 15, 14)
    # Friday 23:30 in New York is already Saturday in UTC: the local day counts.
    assert not window_open(CallingWindows(days=("sat",)), NEW_YORK, utc(2026, 12, 12, 4, 30))


def test_windows_follow_daylight_saving_time_in_both_directions() -> None:
    # New York springs forward on Sunday 2026-03-08: 09:00 is 14:00 UTC before, 13:00 after.
    assert next_open(EVERY_DAY, NEW_YORK, utc(2026, 3, 7, 22, 30)) == utc(2026, 3, 8, 13)
    assert not window_open(EVERY_DAY, NEW_YORK, utc(2026, 3, 8, 12, 59))
    assert window_open(EVERY_DAY, NEW_YORK, utc(2026, 3, 8, 20, 59))
    assert not window_open(EVERY_DAY, NEW_YORK, utc(2026, 3, 8, 21))
    # It falls back on Sunday 2026-11-01: 09:00 is 13:00 UTC the day before, 14:00 on the day.
    assert next_open(EVERY_DAY, NEW_YORK, utc(2026, 10, 31, 22)) == utc(2026, 11, 1, 14)
    assert window_open(EVERY_DAY, NEW_YORK, utc(2026, 11, 1, 21, 59))


def test_a_window_starting_in_the_spring_forward_gap_opens_when_local_time_reaches_it() -> None:
    windows = CallingWindows(start="02:30", end="04:00")
    # 02:30 does not exist in New York on 2026-03-08 (02:00 -> 03:00): the window opens at 03:00.
    opening = next_open(windows, NEW_YORK, utc(2026, 3, 8, 5))
    assert opening is not None
    assert window_open(windows, NEW_YORK, opening)
    assert opening == utc(2026, 3, 8, 7)


def test_zones_whose_windows_never_overlap_have_no_next_opening() -> None:
    one_hour = CallingWindows(start="09:00", end="10:00")
    assert next_open(one_hour, (*NEW_YORK, "Asia/Tokyo"), utc(2026, 12, 1, 12)) is None


def test_no_windows_means_any_time() -> None:
    assert window_open(None, NEW_YORK, utc(2026, 12, 6, 3))


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+12125550123", ("America/New_York",)),
        ("+13105550123", ("America/Los_Angeles",)),
        ("+442079460000", ("Europe/London",)),
        ("+81312345678", ("Asia/Tokyo",)),
    ],
)
def test_a_numbers_zones_come_from_phonenumbers(number: str, zones: tuple[str, ...]) -> None:
    assert zones_for_number(number) == zones


def test_a_number_spanning_zones_gives_them_all() -> None:
    assert len(zones_for_number("+18005550123")) > 1  # US toll-free: every US zone


POLICY = RetryPolicy(
    max_attempts=3,
    delay_s=600,
    on=RetryOn(busy=True, no_answer=False, failed=("500-599", "408"), agent_failed=True),
)


@pytest.mark.parametrize(
    ("end", "outcome", "is_retried"),
    [
        (CallEnd(True, None, None), AttemptOutcome.ANSWERED, False),
        (CallEnd(False, "busy", 486), AttemptOutcome.BUSY, True),
        (CallEnd(False, "no_answer", 480), AttemptOutcome.NO_ANSWER, False),
        (CallEnd(False, "carrier_error", 503), AttemptOutcome.FAILED, True),
        (CallEnd(False, "carrier_error", 408), AttemptOutcome.FAILED, True),
        (CallEnd(False, "carrier_error", 403), AttemptOutcome.FAILED, False),
        (CallEnd(False, "declined", 603), AttemptOutcome.FAILED, False),
        (CallEnd(False, "carrier_unreachable", None), AttemptOutcome.FAILED, True),
        (CallEnd(True, "agent_failed", None), AttemptOutcome.AGENT_FAILED, True),
    ],
)
def test_the_policy_retries_by_outcome_and_sip_status(
    end: CallEnd, outcome: AttemptOutcome, is_retried: bool
) -> None:
    assert outcome_of(end) is outcome
    assert retried(POLICY, outcome, end.sip_status_code) is is_retried


def test_a_failure_without_sip_status_is_not_retried_when_no_range_is() -> None:
    policy = RetryPolicy(on=RetryOn(failed=()))
    assert not retried(policy, AttemptOutcome.FAILED, None)


def test_a_row_waits_for_its_retry_until_its_attempts_are_spent() -> None:
    now = utc(2026, 12, 7, 12)
    second = after_outcome(POLICY, AttemptOutcome.BUSY, 486, 1, now, cancelled=False)
    last = after_outcome(POLICY, AttemptOutcome.BUSY, 486, 3, now, cancelled=False)
    answered = after_outcome(POLICY, AttemptOutcome.ANSWERED, None, 2, now, cancelled=False)
    not_retried = after_outcome(POLICY, AttemptOutcome.NO_ANSWER, 480, 1, now, cancelled=False)
    cancelled = after_outcome(POLICY, AttemptOutcome.BUSY, 486, 1, now, cancelled=True)
    assert second.status is RowStatus.WAITING_RETRY
    assert second.due_at == now + timedelta(seconds=600)
    assert last.status is RowStatus.FAILED
    assert answered.status is RowStatus.COMPLETED
    assert not_retried.status is RowStatus.FAILED
    assert cancelled.status is RowStatus.CANCELLED


def test_caller_ids_rotate_and_skip_a_busy_one() -> None:
    pool = ["+12025550100", "+12025550101", "+12025550102"]
    assert [from_number_for(pool, n) for n in range(4)] == [pool[0], pool[1], pool[2], pool[0]]
    assert from_number_for(pool, 1, busy=[pool[1]]) == pool[2]
    assert from_number_for(pool, 1, busy=pool) == pool[1]


def test_the_pace_spaces_dials_and_banks_no_idle_time() -> None:
    now = utc(2026, 12, 7, 12)
    assert next_dial_at(now, now, 4.0) == now + timedelta(seconds=0.25)
    # Idle for an hour: the next dial is one interval after now, not a burst of 14,400.
    assert next_dial_at(now - timedelta(hours=1), now, 4.0) == now + timedelta(seconds=0.25)
