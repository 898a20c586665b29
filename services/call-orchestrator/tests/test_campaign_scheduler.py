"""The scheduler pass by pass, with a controllable clock: windows in each callee's time zone, the
organization's share with one-off calls and between its campaigns, an attempt that placed no
call, and a replica that lost its lease never dialing."""

from __future__ import annotations

from typing import Any

import pytest

from call_orchestrator.adapters.postgres import Claimed
from call_orchestrator.domain import new_call_id
from call_orchestrator.handlers.campaign_scheduler import CampaignScheduler
from tests.support.call_orchestrator import Harness, eventually
from tests.support.campaigns import ManualClock, action, campaign_body, create, rows, utc

MANUAL = {"campaign_scheduler": False}
OFFICE = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
HANG_UP: list[dict[str, Any]] = [{"wait_ms": 100}, {"hangup": True}]


async def _campaign(harness: Harness, body: dict[str, Any]) -> str:
    created = await create(harness, body)
    assert created.status_code == 201, created.text
    campaign_id: str = created.json()["id"]
    assert (await action(harness, campaign_id, "start")).status_code == 200
    return campaign_id


async def _dialed(harness: Harness) -> list[str]:
    calls = (await harness.lk.control.state())["calls"]
    return [c["to_number"] for c in calls if c["direction"] == "outbound"]


@pytest.mark.parametrize("overrides", [MANUAL])
async def test_rows_are_dialed_only_inside_the_window_in_their_own_time_zone(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    new_york, los_angeles, tokyo = "+12125550123", "+13105550123", "+12125550124"
    body = campaign_body(
        seeded,
        [
            {"to_number": new_york},
            {"to_number": los_angeles},
            {"to_number": tokyo, "time_zone": "Asia/Tokyo"},
        ],
        windows=OFFICE,
    )
    campaign_id = await _campaign(harness, body)
    clock = ManualClock(utc(2026, 12, 7, 14, 30))  # Monday: 09:30 New York, 06:30 LA, 23:30 Tokyo
    scheduler = CampaignScheduler(harness.context, clock)

    await scheduler.run_once()
    clock.advance(1)
    await scheduler.run_once()

    assert await _dialed(harness) == [new_york]
    waiting = {r["to_number"]: r for r in await rows(harness, campaign_id, status="pending")}
    assert waiting[los_angeles]["next_attempt_at"] == "2026-12-07T17:00:00Z"
    assert waiting[tokyo]["next_attempt_at"] == "2026-12-08T00:00:00Z"  # 09:00 Tuesday in Tokyo

    clock.set(utc(2026, 12, 7, 16, 59))
    await scheduler.run_once()
    assert await _dialed(harness) == [new_york]

    clock.set(utc(2026, 12, 7, 17, 0))
    await scheduler.run_once()
    assert await _dialed(harness) == [new_york, los_angeles]

    clock.set(utc(2026, 12, 8, 0, 0))
    await scheduler.run_once()
    assert await _dialed(harness) == [new_york, los_angeles, tokyo]


@pytest.mark.parametrize(
    "overrides",
    [{**MANUAL, "max_concurrent_calls_per_org": 3, "campaign_reserved_slots": 1}],
)
async def test_campaigns_share_the_organizations_limit_round_robin_and_leave_one_off_calls_a_slot(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    first = await _campaign(
        harness,
        campaign_body(
            seeded,
            [{"to_number": f"+1202555031{n}"} for n in range(4)],
            pacing={"calls_per_second": 50, "max_concurrent": 3},
        ),
    )
    second = await _campaign(
        harness,
        campaign_body(
            seeded,
            [{"to_number": f"+1202555032{n}"} for n in range(4)],
            pacing={"calls_per_second": 50, "max_concurrent": 3},
        ),
    )
    clock = ManualClock(utc(2026, 12, 7, 15))
    scheduler = CampaignScheduler(harness.context, clock)

    for _ in range(3):
        await scheduler.run_once()
        clock.advance(1)

    # Three slots, one kept for one-off calls: one call of each campaign, not two of the first.
    dialed = await _dialed(harness)
    assert sorted(n[:-1] for n in dialed) == ["+1202555031", "+1202555032"]
    one_off = await harness.call("+12025550399", seeded.phone_number)
    assert one_off.status_code == 200, one_off.text
    await scheduler.run_once()
    assert len(await _dialed(harness)) == 3
    for campaign_id in (first, second):
        in_progress = await rows(harness, campaign_id, status="in_progress")
        assert len(in_progress) == 1


@pytest.mark.parametrize("overrides", [MANUAL])
async def test_an_attempt_refused_before_its_call_is_recorded_waits_without_counting(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    callee = "+12025550330"
    live = (await harness.call(callee, seeded.phone_number)).json()  # holds the room
    campaign_id = await _campaign(harness, campaign_body(seeded, [{"to_number": callee}]))
    clock = ManualClock(utc(2026, 12, 7, 15))
    scheduler = CampaignScheduler(harness.context, clock)

    await scheduler.run_once()

    [row] = await rows(harness, campaign_id)
    assert row["status"] == "pending"
    assert [(a["outcome"], a["detail"]) for a in row["attempts"]] == [
        ("not_placed", f"A call from {seeded.phone_number} to {callee} is already in progress")
    ]
    assert await _dialed(harness) == [callee]  # only the one-off call

    sip_call_id = (await harness.get_call(live["call_id"])).json()["sip_call_id"]
    await harness.lk.control.set_outcome(callee, script=HANG_UP)
    await harness.lk.control.hangup(sip_call_id)
    await harness.wait_call(live["call_id"], lambda c: c["status"] == "completed")
    clock.advance(6)
    await scheduler.run_once()

    async def settled() -> dict[str, Any]:
        await scheduler.run_once()
        [found] = await rows(harness, campaign_id)
        return found

    row = await eventually(settled, lambda r: r["status"] == "completed")
    assert [a["outcome"] for a in row["attempts"]] == ["not_placed", "answered"]
    results = await harness.http.get(
        f"/campaigns/{campaign_id}/results.csv", headers=harness.headers()
    )
    assert results.text.splitlines()[1].split(",")[2:5] == ["completed", "1", "answered"]


@pytest.mark.parametrize("overrides", [MANUAL])
async def test_the_caller_id_rotation_skips_a_number_already_on_a_call_with_the_callee(
    harness: Harness,
) -> None:
    first = await harness.seed("+12025550100")
    second = await harness.seed("+12025550101")
    callee = "+12025550335"
    on_a_call = await harness.call(callee, first.phone_number)  # first's room with the callee
    assert on_a_call.status_code == 200, on_a_call.text
    campaign_id = await _campaign(
        harness,
        campaign_body(
            first,
            [{"to_number": callee}],
            from_numbers=[first.phone_number, second.phone_number],
        ),
    )
    clock = ManualClock(utc(2026, 12, 7, 15))

    await CampaignScheduler(harness.context, clock).run_once()

    [row] = await rows(harness, campaign_id)
    assert [(a["from_number"], a["outcome"]) for a in row["attempts"]] == [
        (second.phone_number, None)
    ]
    assert row["status"] == "in_progress"


@pytest.mark.parametrize("overrides", [{**MANUAL, "campaign_lease_s": 5}])
async def test_a_replica_whose_lease_expired_never_dials_its_attempt(harness: Harness) -> None:
    seeded = await harness.seed()
    callee = "+12025550340"
    await harness.lk.control.set_outcome(callee, script=HANG_UP)
    campaign_id = await _campaign(harness, campaign_body(seeded, [{"to_number": callee}]))
    clock = ManualClock(utc(2026, 12, 7, 15))
    # A replica claims the row, then stalls (a long GC pause, a partition) past its lease.
    stalled = await harness.context.stores.campaign_dials.claim(
        owner="stalled-replica",
        now=clock.now(),
        lease_s=5,
        org_limit=50,
        reserved=1,
        skip=[],
        new_call_id=new_call_id,
    )
    assert isinstance(stalled, Claimed)
    clock.advance(6)
    healthy = CampaignScheduler(harness.context, clock, owner="healthy-replica")

    await healthy.run_once()  # recovers the attempt, then dials the row again
    placed = await CampaignScheduler(harness.context, clock).place(stalled)

    assert placed is False
    assert await _dialed(harness) == [callee]
    assert (await harness.get_call(stalled.call_id)).status_code == 404
    [row] = await rows(harness, campaign_id)
    assert [(a["number"], a["outcome"]) for a in row["attempts"]] == [
        (1, "not_placed"),
        (2, None),
    ]
    assert row["attempts"][0]["detail"] == (
        "the replica placing it stopped before the call was recorded"
    )
