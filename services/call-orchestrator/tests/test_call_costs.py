"""Cost per call through the running service: the rate deck's routes, a call priced from its
usage event (once, however often the event comes), and the usage totals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talkifai_common.auth import Role
from talkifai_common.events import CallUsageData, EventName, UsageModel
from talkifai_common.voice import Architecture
from tests.support.call_orchestrator import Harness, Seeded, eventually

TO = "+12025550123"
DECK: dict[str, Any] = {
    "currency": "EUR",
    "carrier": {
        "default_increment": {"first_s": 1, "next_s": 1},
        "rates": [
            {"prefix": "+1", "direction": "outbound", "per_minute": "0.6000"},
            {"prefix": "+1202", "direction": "outbound", "per_minute": "1.2000"},
        ],
    },
    "llm": {
        "default": {"input_per_million_tokens": "1.00", "output_per_million_tokens": "2.00"},
        "models": [
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "input_per_million_tokens": "0.15",
                "output_per_million_tokens": "0.60",
            }
        ],
    },
    "stt": {"default": {"per_minute": "0.0060"}},
    "tts": {"default": {"per_million_characters": "15.00"}},
}


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Calls whose usage came first are priced within a tenth of a second of their end."""
    return {"costing_interval_s": 0.1}


def usage_of(call: dict[str, Any], **changes: Any) -> CallUsageData:
    """agent-runtime's usage report for a call."""
    values: dict[str, Any] = {
        "call_id": call["id"],
        "room_name": call["room_name"],
        "agent_id": call["agent"]["id"],
        "architecture": Architecture.PIPELINE,
        "direction": call["direction"],
        "phone_number": call["phone_number"],
        "llm_input_tokens": 10_000,
        "llm_output_tokens": 1_000,
        "tts_characters": 2_000,
        "stt_seconds": 30.0,
        "duration_s": call.get("duration_s") or 0.0,
        "end_reason": "caller_hangup",
        "started_at": call["started_at"],
        "ended_at": call.get("ended_at") or call["started_at"],
        "llm": UsageModel(provider="openai", model="gpt-4o-mini"),
    }
    values.update(changes)
    return CallUsageData(**values)


async def put_deck(harness: Harness, deck: dict[str, Any], org_id: str = "org_a") -> Any:
    return await harness.http.put(
        "/rate-deck", json=deck, headers=harness.headers(org_id, Role.ADMIN)
    )


async def completed_call(harness: Harness, seeded: Seeded, to: str = TO) -> dict[str, Any]:
    """A call answered and hung up."""
    response = await harness.call(to, seeded.phone_number, org_id=seeded.org_id)
    assert response.status_code == 200, response.text
    call_id = response.json()["call_id"]
    sip_call_id = (await harness.get_call(call_id, seeded.org_id)).json()["sip_call_id"]
    await harness.lk.control.hangup(sip_call_id)

    async def ended() -> dict[str, Any]:
        return dict((await harness.get_call(call_id, seeded.org_id)).json())

    return await eventually(ended, lambda c: c["status"] == "completed")


async def priced(harness: Harness, call_id: str, org_id: str = "org_a") -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        return dict((await harness.get_call(call_id, org_id)).json())

    return await eventually(read, lambda c: c["cost"] is not None, within_s=10)


async def test_the_deck_is_the_default_until_an_admin_sets_one_and_stays_in_its_org(
    harness: Harness,
) -> None:
    before = await harness.http.get("/rate-deck", headers=harness.headers())
    put = await put_deck(harness, DECK)
    again = await put_deck(harness, DECK)
    member_view = await harness.http.get("/rate-deck", headers=harness.headers())
    other_org = await harness.http.get("/rate-deck", headers=harness.headers("org_b"))
    by_member = await harness.http.put("/rate-deck", json=DECK, headers=harness.headers())
    by_owner = await harness.http.put(
        "/rate-deck", json=DECK, headers=harness.headers("org_b", Role.OWNER)
    )
    anonymous = await harness.http.get("/rate-deck")

    assert before.status_code == 200
    assert before.json()["is_default"] is True and before.json()["version"] == 0
    assert before.json()["deck"]["currency"] == "USD"
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 1 and put.json()["updated_by"] == "user-1"
    assert again.json()["version"] == 2
    assert member_view.json()["version"] == 2 and member_view.json()["is_default"] is False
    assert member_view.json()["deck"]["carrier"]["rates"][1] == {
        "prefix": "+1202",
        "direction": "outbound",
        "per_minute": "1.2000",
        "increment": None,
    }
    assert other_org.json()["is_default"] is True
    assert by_member.status_code == 403
    assert by_member.headers["content-type"] == "application/problem+json"
    assert by_owner.status_code == 200 and by_owner.json()["version"] == 1
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "EURO"}, "currency"),
        (
            {
                "carrier": {
                    "rates": [{"prefix": "+1-202", "direction": "outbound", "per_minute": "1"}]
                }
            },
            "carrier.rates.0.prefix",
        ),
        (
            {
                "carrier": {
                    "rates": [{"prefix": "+1", "direction": "outbound", "per_minute": "-0.5"}]
                }
            },
            "carrier.rates.0.per_minute",
        ),
        (
            {"tts": {"default": {"per_million_characters": 15}}},
            "tts.default.per_million_characters",
        ),
        ({"stt": {"default": {"per_minute": "1"}, "extra": 1}}, "stt.extra"),
    ],
)
async def test_an_invalid_deck_is_422_naming_the_field(
    harness: Harness, change: dict[str, Any], field: str
) -> None:
    response = await put_deck(harness, {**DECK, **change})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    current = await harness.http.get("/rate-deck", headers=harness.headers())
    assert current.json()["is_default"] is True


async def test_a_completed_call_is_priced_once_from_its_usage_even_when_the_event_repeats(
    harness: Harness,
) -> None:
    await put_deck(harness, DECK)
    seeded = await harness.seed()
    call = await completed_call(harness, seeded)
    usage = usage_of(call)

    await harness.publish(EventName.CALL_USAGE, "org_a", call["id"], usage)
    costed = await priced(harness, call["id"])
    await harness.publish(EventName.CALL_USAGE, "org_a", call["id"], usage)
    await harness.publish(
        EventName.CALL_USAGE, "org_a", call["id"], usage_of(call, llm_input_tokens=999_999)
    )
    events = await harness.settled_events("telephony.call.")
    page = await harness.http.get("/calls", headers=harness.headers())

    cost = costed["cost"]
    talk = datetime.fromisoformat(call["ended_at"]) - datetime.fromisoformat(call["answered_at"])
    billed = max(1, math.ceil(talk / timedelta(seconds=1)))
    assert cost["billed_s"] == billed
    assert cost["currency"] == "EUR" and cost["rate_deck_version"] == 1
    assert cost["destination_prefix"] == "+1202"
    lines = {line["component"]: line for line in cost["breakdown"]}
    assert lines["carrier"]["amount_micros"] == billed * 20_000  # 1.2000/min = 0.02/s
    assert lines["llm_input"]["amount_micros"] == 1500  # 10,000 x 0.15 / 1M
    assert lines["llm_output"]["amount_micros"] == 600
    assert lines["stt"]["amount_micros"] == 3000  # 30 s at 0.0060/min
    assert lines["tts"]["amount_micros"] == 30_000
    assert cost["total_micros"] == sum(line["amount_micros"] for line in lines.values())
    costed_events = [
        e for e in events if e["subject"] == call["id"] and e["type"].endswith("costed.v1")
    ]
    assert len(costed_events) == 1
    data = costed_events[0]["data"]
    assert data["call_id"] == call["id"] and data["org_id"] == "org_a"
    assert data["phone_number"] == seeded.phone_number
    assert data["agent"] == {"id": seeded.agent.id, "name": "Sales Agent"}
    assert data["total"] == cost["total"] and data["currency"] == "EUR"
    assert data["breakdown"] == cost["breakdown"]
    [listed] = page.json()["items"]
    assert listed["cost"] == cost
    assert (await harness.get_call(call["id"])).json()["cost"] == cost


async def test_usage_that_arrives_before_the_call_ends_is_priced_when_it_ends(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    response = await harness.call(TO, seeded.phone_number)
    call = (await harness.get_call(response.json()["call_id"])).json()

    await harness.publish(EventName.CALL_USAGE, "org_a", call["id"], usage_of(call))
    db = await harness.db()

    async def usage_kept() -> Any:
        return await db.fetchval("SELECT count(*) FROM call_usage WHERE call_id = $1", call["id"])

    await eventually(usage_kept, lambda n: n == 1)
    assert (await harness.get_call(call["id"])).json()["cost"] is None
    await harness.lk.control.hangup(call["sip_call_id"])
    costed = await priced(harness, call["id"])

    assert costed["status"] == "completed"
    assert costed["cost"]["rate_deck_version"] == 0  # the default deck
    assert costed["cost"]["currency"] == "USD"


async def test_usage_of_a_call_of_another_org_prices_nothing(harness: Harness) -> None:
    seeded = await harness.seed()
    call = await completed_call(harness, seeded)

    await harness.publish(EventName.CALL_USAGE, "org_b", call["id"], usage_of(call))
    await harness.publish(EventName.CALL_USAGE, "org_a", "sentinel", usage_of(call))
    await priced(harness, call["id"])
    db = await harness.db()

    assert await db.fetchval("SELECT org_id FROM call_usage WHERE call_id = $1", call["id"]) == (
        "org_a"
    )
    assert (await harness.get_call(call["id"], "org_b")).status_code == 404


async def test_usage_totals_group_calls_by_number_agent_and_day(harness: Harness) -> None:
    await put_deck(harness, DECK)
    first = await harness.seed("+12025550100")
    second = await harness.seed("+12025550111")
    calls = [
        await completed_call(harness, first),
        await completed_call(harness, first, to="+13105550123"),
        await completed_call(harness, second),
    ]
    for call in calls:
        await harness.publish(EventName.CALL_USAGE, "org_a", call["id"], usage_of(call))
    costs = [(await priced(harness, c["id"]))["cost"] for c in calls]
    other = await harness.seed("+12025550122", org_id="org_b")
    await completed_call(harness, other)
    today = datetime.now(UTC).date()
    period = {"from": f"{today}T00:00:00Z", "to": f"{today + timedelta(days=1)}T00:00:00Z"}

    async def usage(group_by: str, org_id: str = "org_a") -> list[dict[str, Any]]:
        response = await harness.http.get(
            "/usage", params={**period, "group_by": group_by}, headers=harness.headers(org_id)
        )
        assert response.status_code == 200, response.text
        return list(response.json()["groups"])

    by_number = {g["key"]: g for g in await usage("number")}
    by_agent = await usage("agent")
    [by_day] = await usage("day")
    [other_org] = await usage("number", "org_b")

    assert set(by_number) == {first.phone_number, second.phone_number}
    one = by_number[first.phone_number]
    assert one["calls"] == one["costed_calls"] == 2 and one["currency"] == "EUR"
    assert one["cost_micros"]["total"] == costs[0]["total_micros"] + costs[1]["total_micros"]
    assert one["billed_s"] == costs[0]["billed_s"] + costs[1]["billed_s"]
    carrier = sum(
        line["amount_micros"]
        for cost in costs[:2]
        for line in cost["breakdown"]
        if line["component"] == "carrier"
    )
    assert one["cost_micros"]["carrier"] == carrier
    assert {g["key"] for g in by_agent} == {first.agent.id, second.agent.id}
    assert all(g["agent_name"] == "Sales Agent" for g in by_agent)
    assert by_day["key"] == str(today) and by_day["calls"] == 3
    assert by_day["cost_micros"]["total"] == sum(c["total_micros"] for c in costs)
    assert by_day["cost"]["total"] == f"{sum(c['total_micros'] for c in costs) / 1e6:.6f}"
    assert other_org["calls"] == 1 and other_org["costed_calls"] == 0
    assert other_org["currency"] is None and other_org["cost"]["total"] == "0.000000"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-12-02T00:00:00Z"}, "from"),
        ({"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "to"),
        ({"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}, "to"),
        ({"from": "yesterday", "to": "2026-12-01T00:00:00Z"}, "from"),
        ({"from": "0001-01-01T00:00:00+01:00", "to": "2026-12-01T00:00:00Z"}, "from"),
        ({"from": "2026-12-01", "to": "2026-12-02", "group_by": "week"}, "group_by"),
    ],
)
async def test_usage_parameters_breaking_a_rule_are_422_naming_the_field(
    harness: Harness, params: dict[str, str], field: str
) -> None:
    response = await harness.http.get("/usage", params=params, headers=harness.headers())

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
