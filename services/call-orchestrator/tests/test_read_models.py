"""The read models follow numbers-api's and trunk-sync's events: idempotent, order-safe."""

from __future__ import annotations

import httpx

from talkifai_common.events import EventName
from tests.support.call_orchestrator import Harness, agent_data, eventually, number_data

TO = "+12025550123"


async def test_an_older_number_event_arriving_late_does_not_undo_a_newer_one(
    harness: Harness,
) -> None:
    seeded = await harness.seed("+12025550100")
    newer = number_data(seeded.number_id, seeded.phone_number, version=3)  # outbound unassigned
    older = number_data(seeded.number_id, seeded.phone_number, outbound=seeded.agent, version=2)

    await harness.publish(EventName.PHONE_NUMBER_UPDATED, "org_a", seeded.number_id, newer)
    await harness.wait_number_version(seeded.number_id, 3)
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, "org_a", seeded.number_id, older)
    # A marker on the same subject after the late event: once it is applied, so was the late one.
    marker = number_data("pn_marker", "+12025550177", version=1)
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, "org_a", "pn_marker", marker)
    await harness.wait_number_version("pn_marker", 1)

    conn = await harness.db()
    assert (
        await conn.fetchval("SELECT version FROM phone_numbers WHERE id = $1", seeded.number_id)
        == 3
    )
    response = await harness.call(TO, seeded.phone_number)
    assert response.status_code == 404


async def test_a_renamed_agent_is_named_on_new_calls(harness: Harness) -> None:
    seeded = await harness.seed()
    renamed = agent_data(seeded.agent.id, name="Closer", version=2)
    stale = agent_data(seeded.agent.id, name="Stale", version=1)

    await harness.publish(EventName.AGENT_UPDATED, "org_a", renamed.id, renamed)
    await harness.publish(EventName.AGENT_UPDATED, "org_a", stale.id, stale)
    conn = await harness.db()
    await eventually(
        lambda: conn.fetchval("SELECT name FROM agents WHERE id = $1", renamed.id),
        lambda name: name == "Closer",
    )

    response = await harness.call(TO, seeded.phone_number)
    assert response.json()["agent"] == {"id": seeded.agent.id, "name": "Closer"}


async def test_a_deleted_number_cannot_call_but_its_history_stays(harness: Harness) -> None:
    seeded = await harness.seed()
    call_id = (await harness.call(TO, seeded.phone_number)).json()["call_id"]
    gone = number_data(seeded.number_id, seeded.phone_number, outbound=seeded.agent, version=1)

    await harness.publish(EventName.PHONE_NUMBER_DELETED, "org_a", seeded.number_id, gone)
    await harness.wait_number_version(seeded.number_id, None)
    # A late update of the deleted version does not bring it back.
    await harness.publish(EventName.PHONE_NUMBER_UPDATED, "org_a", seeded.number_id, gone)

    response = await harness.call("+12025550124", seeded.phone_number)
    assert response.status_code == 404
    kept = await harness.get_call(call_id)
    assert kept.status_code == 200
    assert kept.json()["phone_number_id"] == seeded.number_id
    listed = await harness.http.get(
        "/calls", params={"phone_number": seeded.phone_number}, headers=harness.headers()
    )
    assert [c["id"] for c in listed.json()["items"]] == [call_id]


async def test_history_is_paged_newest_first_and_filtered(harness: Harness) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome("+12025550125", sip_status_code=486)
    ids = []
    for to in ("+12025550123", "+12025550124", "+12025550125"):
        ids.append((await harness.call(to, seeded.phone_number)).json().get("call_id"))

    first = (await harness.http.get("/calls?limit=2", headers=harness.headers())).json()
    second = (
        await harness.http.get(
            "/calls", params={"limit": 2, "cursor": first["next_cursor"]}, headers=harness.headers()
        )
    ).json()
    failed = (await harness.http.get("/calls?status=failed", headers=harness.headers())).json()
    bad = await harness.http.get("/calls?cursor=zzz", headers=harness.headers())

    listed = [c["id"] for c in first["items"] + second["items"]]
    assert listed[1:] == [ids[1], ids[0]]
    assert second["next_cursor"] is None
    assert [c["to_number"] for c in failed["items"]] == ["+12025550125"]
    assert bad.status_code == 422


async def test_history_filters_by_agent_and_by_when_calls_started(harness: Harness) -> None:
    first = await harness.seed("+12025550101")
    second = await harness.seed("+12025550102")
    mine = (await harness.call("+12025550126", first.phone_number)).json()["call_id"]
    theirs = (await harness.call("+12025550127", second.phone_number)).json()["call_id"]
    started = (await harness.get_call(mine)).json()["started_at"]

    def ids(page: httpx.Response) -> list[str]:
        assert page.status_code == 200, page.text
        return [c["id"] for c in page.json()["items"]]

    async def listed(**params: str) -> httpx.Response:
        return await harness.http.get("/calls", params=params, headers=harness.headers())

    assert ids(await listed(agent_id=first.agent.id)) == [mine]
    assert ids(await listed(agent_id=second.agent.id)) == [theirs]
    assert ids(await listed(started_from=started, agent_id=first.agent.id)) == [mine]
    assert ids(await listed(started_before=started)) == []
    assert set(ids(await listed(started_from="2000-01-01T00:00:00"))) == {mine, theirs}
    backwards = await listed(started_from=started, started_before="2000-01-01T00:00:00Z")
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "started_before"
    assert (await listed(started_from="yesterday")).status_code == 422


async def test_history_filters_by_either_number_direction_and_status_across_pages(
    harness: Harness,
) -> None:
    seeded = await harness.seed()
    await harness.lk.control.set_outcome("+12025550135", sip_status_code=486)
    for to in ("+12025550133", "+12025550134", "+12025550135"):
        await harness.call(to, seeded.phone_number)
    everything = (await harness.http.get("/calls", headers=harness.headers())).json()["items"]
    assert len(everything) == 3

    async def listed(**params: str) -> list[str]:
        items, cursor = [], None
        while True:
            query = {**params, "limit": "1", **({"cursor": cursor} if cursor else {})}
            page = (
                await harness.http.get("/calls", params=query, headers=harness.headers())
            ).json()
            items += [c["id"] for c in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                return items

    def expected(**params: str) -> list[str]:
        number = params.pop("phone_number", None)
        return [
            c["id"]
            for c in everything
            if all(c[k] == v for k, v in params.items())
            and (number is None or number in (c["phone_number"], c["from_number"], c["to_number"]))
        ]

    for params in (
        {"phone_number": seeded.phone_number},
        {"phone_number": "+12025550133"},
        {"phone_number": "+12025550135", "status": "failed"},
        {"phone_number": "+12025550133", "status": "failed"},
        {"direction": "outbound", "status": "failed"},
        {"direction": "inbound"},
        {"status": "answered"},
    ):
        assert await listed(**params) == expected(**params), params
    assert len(expected(phone_number=seeded.phone_number)) == 3
    assert len(expected(phone_number="+12025550135", status="failed")) == 1


async def test_history_dates_are_iso_8601_only(harness: Harness) -> None:
    for bad in ("0.5", "1700000000", "yesterday", "2026-13-01"):
        response = await harness.http.get(
            "/calls", params={"started_from": bad}, headers=harness.headers()
        )
        assert response.status_code == 422, bad
        assert "started_from" in response.text
    for good in ("2026-12-01", "2026-12-01T10:00:00Z", "2026-12-01T10:00:00+01:00"):
        response = await harness.http.get(
            "/calls", params={"started_from": good}, headers=harness.headers()
        )
        assert response.status_code == 200, (good, response.text)
