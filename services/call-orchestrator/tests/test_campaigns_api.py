"""Campaigns through their routes: creating from JSON or CSV with bad rows reported by line, limits,
tenancy, validation naming fields, transitions, the do-not-call list and the campaign events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness, eventually
from tests.support.campaigns import action, admin, campaign_body, create, get, rows, upload


async def test_json_rows_keep_the_valid_ones_and_report_each_invalid_one_by_index(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    body = campaign_body(
        seeded,
        [
            {"to_number": "+12025550123", "metadata": {"first_name": "Ada"}},
            {"to_number": "12"},
            {"to_number": "+1 202 555 0123"},
            {"to_number": "+442079460000", "time_zone": "Mars/Olympus"},
            {"to_number": "+442079460001", "time_zone": "Europe/London"},
            {"to_number": "+12025550124", "metadata": ["not", "an", "object"]},
            "not a row",
        ],
    )

    response = await create(harness, body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "draft"
    assert created["counts"]["total"] == 2
    assert created["counts"]["pending"] == 2
    assert created["agent"] == {"id": seeded.agent.id, "name": "Sales Agent"}
    assert created["from_numbers"] == [seeded.phone_number]
    assert created["created_by"] == "user-1"
    assert [(r["line"], r["reason"]) for r in created["rejected_rows"]] == [
        (2, "invalid number: Phone number must be in E.164 format and start with +"),
        (3, "duplicate of line 1"),
        (4, "unknown time zone 'Mars/Olympus'"),
        (6, "metadata is not a JSON object"),
        (7, "invalid number: Phone number is required"),
    ]
    assert created["rejected_count"] == 5
    stored = await rows(harness, created["id"])
    assert [(r["line"], r["to_number"], r["time_zone"], r["metadata"]) for r in stored] == [
        (1, "+12025550123", None, {"first_name": "Ada"}),
        (5, "+442079460001", "Europe/London", {}),
    ]
    assert all(r["status"] == "pending" and r["attempts"] == [] for r in stored)


async def test_a_csv_upload_reports_rejected_rows_by_line_and_keeps_other_columns_as_metadata(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    settings = campaign_body(seeded, [])
    del settings["rows"]
    csv_text = (
        "to_number,first_name,time_zone,metadata\n"
        '+12025550123,Ada,,"{""plan"": ""gold""}"\n'
        "not-a-number,Bob,,\n"
        "\n"
        "+12025550123,Carl,,\n"
        "+12025550125,Dee,Nowhere/City,\n"
        '+12025550126,Eve,America/Chicago,"[1]"\n'
        "+12025550127,Fay,America/Chicago,\n"
    )

    response = await upload(harness, csv_text, settings)

    assert response.status_code == 201, response.text
    created = response.json()
    assert [(r["line"], r["to_number"], r["reason"]) for r in created["rejected_rows"]] == [
        (
            3,
            "not-a-number",
            "invalid number: Phone number must be in E.164 format and start with +",
        ),
        (5, "+12025550123", "duplicate of line 2"),
        (6, "+12025550125", "unknown time zone 'Nowhere/City'"),
        (7, "+12025550126", "metadata is not a JSON object"),
    ]
    stored = await rows(harness, created["id"])
    assert [(r["line"], r["time_zone"], r["metadata"]) for r in stored] == [
        (2, None, {"plan": "gold", "first_name": "Ada"}),
        (8, "America/Chicago", {"first_name": "Fay"}),
    ]


async def test_a_dry_run_previews_the_accepted_rows_and_stores_nothing(harness: Harness) -> None:
    seeded = await harness.seed()
    body = campaign_body(
        seeded, [{"to_number": f"+1202555{i:04d}"} for i in range(30)] + [{"to_number": "x"}]
    )

    response = await create(harness, body, dry_run=True)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 30
    assert result["rejected_count"] == 1
    assert result["rejected_rows"][0]["line"] == 31
    assert len(result["preview"]) == 20
    assert result["preview"][0] == {
        "line": 1,
        "to_number": "+12025550000",
        "time_zone": None,
        "metadata": {},
    }
    listed = await harness.http.get("/campaigns", headers=harness.headers())
    assert listed.json() == {"campaigns": [], "next_cursor": None}


@pytest.mark.parametrize("overrides", [{"campaign_max_rows": 5}])
async def test_more_rows_than_the_limit_is_413_naming_it(harness: Harness) -> None:
    seeded = await harness.seed()
    body = campaign_body(seeded, [{"to_number": f"+1202555{i:04d}"} for i in range(6)])
    settings = {k: v for k, v in body.items() if k != "rows"}
    csv_text = "to_number\n" + "".join(f"+1202555{i:04d}\n" for i in range(6))

    as_json = await create(harness, body)
    as_csv = await upload(harness, csv_text, settings)

    for response in (as_json, as_csv):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "at most 5 rows" in response.json()["detail"]


async def test_a_csv_of_a_million_rows_is_413_without_storing_anything(harness: Harness) -> None:
    seeded = await harness.seed()
    settings = {k: v for k, v in campaign_body(seeded, []).items() if k != "rows"}
    csv_text = "to_number\n" + "".join(f"+1{2025550000 + i}\n" for i in range(1_000_000))

    response = await upload(harness, csv_text, settings)

    assert response.status_code == 413, response.text
    assert response.json()["detail"] == (
        "A campaign holds at most 100000 rows; split the list into campaigns"
    )
    listed = await harness.http.get("/campaigns", headers=harness.headers())
    assert listed.json()["campaigns"] == []


@pytest.mark.parametrize("overrides", [{"campaign_max_upload_bytes": 200_000}])
async def test_an_upload_may_pass_the_generic_body_limit_up_to_its_own(harness: Harness) -> None:
    seeded = await harness.seed()
    many = [{"to_number": f"+1202{i:07d}", "metadata": {"n": i}} for i in range(3000)]
    too_many = many * 3

    fits = await create(harness, campaign_body(seeded, many))  # ~120 KB: over 64 KB
    too_big = await create(harness, campaign_body(seeded, too_many))

    assert fits.status_code == 201, fits.text
    assert fits.json()["counts"]["total"] == 3000
    assert too_big.status_code == 413
    assert too_big.json()["detail"] == "Request body must be at most 200000 bytes"
    other_route = await harness.http.post(
        "/do-not-call",
        json={"numbers": ["+12025550123"] * 5000},  # ~80 KB
        headers=admin(harness),
    )
    assert other_route.status_code == 413


async def test_an_agent_or_from_number_of_another_organization_is_404(harness: Harness) -> None:
    ours = await harness.seed("+12025550100")
    theirs = await harness.seed("+12025550199", org_id="org_b")
    rows_ = [{"to_number": "+12025550123"}]

    their_number = await create(
        harness, campaign_body(ours, rows_, from_numbers=[theirs.phone_number])
    )
    their_agent = await create(harness, campaign_body(ours, rows_, agent_id=theirs.agent.id))

    assert their_number.status_code == 404, their_number.text
    assert their_number.json()["detail"] == "Phone number +12025550199 not found"
    assert their_agent.status_code == 404
    assert their_agent.json()["detail"] == "Agent not found"


async def test_validation_failures_are_422_naming_the_field(harness: Harness) -> None:
    seeded = await harness.seed()
    unsynced = await harness.seed("+12025550111", synced=False)
    rows_ = [{"to_number": "+12025550123"}]

    async def field_errors(**settings: Any) -> list[str]:
        response = await create(harness, {**campaign_body(seeded, rows_), **settings})
        assert response.status_code == 422, response.text
        return [e["field"] for e in response.json()["errors"]]

    assert await field_errors(pacing={"calls_per_second": 0}) == ["pacing.calls_per_second"]
    assert await field_errors(pacing={"max_concurrent": 51}) == ["pacing.max_concurrent"]
    assert await field_errors(windows={"start": "18:00", "end": "09:00"}) == ["windows"]
    assert await field_errors(windows={"start": "9am"}) == ["windows.start"]
    assert await field_errors(retry={"on": {"failed": ["5xx"]}}) == ["retry.on.failed"]
    assert await field_errors(from_numbers=[seeded.phone_number, unsynced.phone_number]) == [
        "from_numbers[1]"
    ]
    assert await field_errors(from_numbers=["12"]) == ["from_numbers[0]"]
    assert await field_errors(rows=[{"to_number": "bad"}]) == ["rows"]
    assert await field_errors(name="") == ["name"]


async def test_a_member_reads_campaigns_but_cannot_create_or_start_one(harness: Harness) -> None:
    seeded = await harness.seed()
    body = campaign_body(seeded, [{"to_number": "+12025550123"}])
    member = harness.headers("org_a", Role.MEMBER)

    refused = await harness.http.post("/campaigns", json=body, headers=member)
    campaign_id = (await create(harness, body)).json()["id"]
    start = await harness.http.post(f"/campaigns/{campaign_id}/start", headers=member)
    read = await harness.http.get(f"/campaigns/{campaign_id}", headers=member)
    other_org = await harness.http.get(
        f"/campaigns/{campaign_id}", headers=harness.headers("org_b")
    )

    assert refused.status_code == 403
    assert start.status_code == 403
    assert read.status_code == 200
    assert other_org.status_code == 404


@pytest.mark.parametrize("overrides", [{"campaign_scheduler": False}])
async def test_transitions_follow_the_lifecycle_and_others_are_409(harness: Harness) -> None:
    seeded = await harness.seed()
    campaign_id = (
        await create(harness, campaign_body(seeded, [{"to_number": "+12025550123"}]))
    ).json()["id"]

    wrong_first = await action(harness, campaign_id, "pause")
    started = await action(harness, campaign_id, "start")
    started_again = await action(harness, campaign_id, "start")
    paused = await action(harness, campaign_id, "pause")
    resumed = await action(harness, campaign_id, "resume")
    cancelled = await action(harness, campaign_id, "cancel")
    after_cancel = await action(harness, campaign_id, "resume")

    assert wrong_first.status_code == 409
    assert wrong_first.json()["detail"] == "Cannot pause a campaign that is draft"
    assert (started.status_code, started.json()["status"]) == (200, "running")
    assert started.json()["started_at"] is not None
    assert started_again.status_code == 409
    assert started_again.json()["detail"] == "Cannot start a campaign that is running"
    assert (paused.status_code, paused.json()["status"]) == (200, "paused")
    assert (resumed.status_code, resumed.json()["status"]) == (200, "running")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert cancelled.json()["counts"]["cancelled"] == 1
    assert after_cancel.status_code == 409
    assert after_cancel.json()["detail"] == "Cannot resume a campaign that is cancelled"
    unknown = await action(harness, "cmp_unknown", "start")
    assert unknown.status_code == 404
    events = await harness.settled_events("telephony.campaign.")
    assert [e["type"] for e in events] == [
        f"talkifai.telephony.campaign.{name}.v1"
        for name in ("created", "started", "paused", "resumed", "cancelled")
    ]
    assert {e["subject"] for e in events} == {campaign_id}
    assert {e["orgid"] for e in events} == {"org_a"}
    assert [e["data"]["status"] for e in events] == [
        "draft",
        "running",
        "paused",
        "running",
        "cancelled",
    ]


async def test_the_do_not_call_list_is_managed_and_applied_at_upload(harness: Harness) -> None:
    seeded = await harness.seed()
    added = await harness.http.post(
        "/do-not-call",
        json={"numbers": ["+1 202 555 0123", "+12025550124"], "reason": "asked"},
        headers=admin(harness),
    )
    again = await harness.http.post(
        "/do-not-call", json={"numbers": ["+12025550123"]}, headers=admin(harness)
    )
    member_add = await harness.http.post(
        "/do-not-call", json={"numbers": ["+12025550125"]}, headers=harness.headers()
    )
    bad = await harness.http.post(
        "/do-not-call", json={"numbers": ["+12025550125", "nope"]}, headers=admin(harness)
    )

    assert added.json() == {"added": 2}
    assert again.json() == {"added": 0}
    assert member_add.status_code == 403
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["numbers[1]"]
    listed = (await harness.http.get("/do-not-call", headers=harness.headers())).json()
    assert [(n["number"], n["reason"], n["added_by"]) for n in listed["numbers"]] == [
        ("+12025550123", "asked", "user-1"),
        ("+12025550124", "asked", "user-1"),
    ]
    response = await create(
        harness,
        campaign_body(seeded, [{"to_number": "+12025550123"}, {"to_number": "+12025550199"}]),
    )
    assert response.json()["rejected_rows"] == [
        {"line": 1, "to_number": "+12025550123", "reason": "on the do-not-call list"}
    ]
    other_org = (await harness.http.get("/do-not-call", headers=harness.headers("org_b"))).json()
    assert other_org["numbers"] == []
    removed = await harness.http.delete("/do-not-call/+12025550124", headers=admin(harness))
    missing = await harness.http.delete("/do-not-call/+12025550124", headers=admin(harness))
    assert (removed.status_code, missing.status_code) == (204, 404)


async def test_campaigns_list_newest_first_with_a_cursor(harness: Harness) -> None:
    seeded = await harness.seed()
    ids = []
    for n in range(3):
        body = campaign_body(seeded, [{"to_number": "+12025550123"}], name=f"c{n}")
        ids.append((await create(harness, body)).json()["id"])

    first = (
        await harness.http.get("/campaigns", params={"limit": 2}, headers=harness.headers())
    ).json()
    second = (
        await harness.http.get(
            "/campaigns",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=harness.headers(),
        )
    ).json()
    drafts = (
        await harness.http.get(
            "/campaigns", params={"status": "running"}, headers=harness.headers()
        )
    ).json()

    assert [c["id"] for c in first["campaigns"] + second["campaigns"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert drafts["campaigns"] == []
    assert (await get(harness, ids[0]))["name"] == "c0"


async def test_results_csv_has_a_line_per_row_with_the_metadata_columns(harness: Harness) -> None:
    seeded = await harness.seed()
    settings = {k: v for k, v in campaign_body(seeded, []).items() if k != "rows"}
    csv_text = 'to_number,first_name,=note\n+12025550123,Ada,"=HYPERLINK(""http://x"")"\n'
    created = await upload(harness, csv_text, settings)
    campaign_id = created.json()["id"]

    response = await harness.http.get(
        f"/campaigns/{campaign_id}/results.csv", headers=harness.headers()
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines() == [
        "line,to_number,status,attempts,last_outcome,last_sip_status_code,last_call_id,"
        "completed_at,first_name,'=note",
        # What a spreadsheet would run as a formula is written as text.
        '2,+12025550123,pending,0,,,,,Ada,"\'=HYPERLINK(""http://x"")"',
    ]


async def test_a_created_campaign_is_an_event_carrying_the_campaign(harness: Harness) -> None:
    seeded = await harness.seed()
    created = (await create(harness, campaign_body(seeded, [{"to_number": "+12025550123"}]))).json()

    events = await eventually(lambda: _campaign_events(harness), lambda found: len(found) >= 1)

    assert events[0]["type"] == "talkifai.telephony.campaign.created.v1"
    assert events[0]["subject"] == created["id"]
    expected = {k: v for k, v in created.items() if k not in ("rejected_rows", "rejected_count")}
    assert events[0]["data"] == json.loads(json.dumps(expected))


async def _campaign_events(harness: Harness) -> list[dict[str, Any]]:
    return harness.bus.events("telephony.campaign.")
