"""`PUT /phone-numbers/agent-assignments`: the seed's body and rules."""

from __future__ import annotations

from typing import Any

from tests.support.numbers_api import Api, BusRecorder

PATH = "/phone-numbers/agent-assignments"


async def test_seed_body_assigns_both_agents(api: Api) -> None:
    inbound = await api.agent("Support", "pipeline")
    outbound = await api.agent("Sales", "realtime")
    await api.number("+1234567890")
    response = await api.request(
        "PUT",
        PATH,
        json={
            "phone_number": "+1234567890",
            "inbound_agent_id": inbound["id"],
            "outbound_agent_id": outbound["id"],
        },
    )
    assert response.status_code == 200
    number = response.json()
    assert number["inbound_agent"] == {
        "id": inbound["id"],
        "name": "Support",
        "architecture": "pipeline",
    }
    assert number["outbound_agent"] == {
        "id": outbound["id"],
        "name": "Sales",
        "architecture": "realtime",
    }


async def test_text_agent_is_refused_with_the_seeds_message(api: Api) -> None:
    text = await api.agent("Chatbot", "text")
    await api.number("+1234567890")
    for side in ("inbound_agent_id", "outbound_agent_id"):
        response = await api.request(
            "PUT", PATH, json={"phone_number": "+1234567890", side: text["id"]}
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["detail"] == "Agent is a text-only agent and cannot make voice calls"
        assert problem["errors"] == [
            {"field": side, "message": "Agent is a text-only agent and cannot make voice calls"}
        ]


async def test_at_least_one_agent_must_be_selected(api: Api) -> None:
    await api.number("+1234567890")
    for body in (
        {"phone_number": "+1234567890"},
        {"phone_number": "+1234567890", "inbound_agent_id": None, "outbound_agent_id": None},
    ):
        response = await api.request("PUT", PATH, json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == "At least one agent must be selected"


async def test_either_side_can_be_unassigned_while_the_other_remains(api: Api) -> None:
    agent = await api.agent()
    await api.number("+1234567890")
    both = {
        "phone_number": "+1234567890",
        "inbound_agent_id": agent["id"],
        "outbound_agent_id": agent["id"],
    }
    await api.request("PUT", PATH, json=both)
    response = await api.request("PUT", PATH, json={**both, "inbound_agent_id": None})
    assert response.json()["inbound_agent"] is None
    assert response.json()["outbound_agent"]["id"] == agent["id"]


async def test_agents_of_another_organization_cannot_be_assigned(api: Api) -> None:
    foreign = await api.agent("Theirs", org_id="org_b")
    await api.number("+1234567890")
    response = await api.request(
        "PUT", PATH, json={"phone_number": "+1234567890", "inbound_agent_id": foreign["id"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "inbound_agent_id"


async def test_another_organizations_number_is_not_found(api: Api) -> None:
    agent = await api.agent(org_id="org_b")
    await api.number("+1234567890")
    response = await api.request(
        "PUT",
        PATH,
        org_id="org_b",
        json={"phone_number": "+1234567890", "inbound_agent_id": agent["id"]},
    )
    assert response.status_code == 404


async def test_number_in_the_body_accepts_common_forms(api: Api) -> None:
    agent = await api.agent()
    await api.number("+12025550123")
    response = await api.request(
        "PUT", PATH, json={"phone_number": "+1 (202) 555-0123", "inbound_agent_id": agent["id"]}
    )
    assert response.status_code == 200


async def test_assignment_publishes_the_updated_number_and_bumps_its_version(
    api: Api, bus: BusRecorder
) -> None:
    agent = await api.agent()
    number = await api.number("+1234567890")
    await api.request(
        "PUT", PATH, json={"phone_number": "+1234567890", "inbound_agent_id": agent["id"]}
    )
    events: list[dict[str, Any]] = await bus.wait_for(2, "telephony.phone_number.")
    assert events[-1]["type"] == "talkifai.telephony.phone_number.updated.v1"
    assert events[-1]["data"]["inbound_agent"]["id"] == agent["id"]
    assert events[-1]["data"]["version"] == number["version"] + 1
    assert events[-1]["data"]["sync"]["state"] == "pending"


async def test_concurrent_assignments_with_crossed_agents_all_succeed(api: Api) -> None:
    first, second = await api.agent("First"), await api.agent("Second")
    numbers = [await api.number(f"+1202555{i:04d}") for i in range(4)]

    async def assign(i: int) -> int:
        inbound, outbound = (first, second) if i % 2 else (second, first)
        response = await api.request(
            "PUT",
            PATH,
            json={
                "phone_number": numbers[i % 4]["phone_number"],
                "inbound_agent_id": inbound["id"],
                "outbound_agent_id": outbound["id"],
            },
        )
        return response.status_code

    import asyncio

    assert await asyncio.gather(*(assign(i) for i in range(24))) == [200] * 24


async def test_an_inbound_agent_is_refused_on_a_number_open_to_any_caller(
    api: Api, bus: BusRecorder
) -> None:
    agent = await api.agent("Support")
    number = await api.number("+12025550140", carrier="custom", termination_uri="sip.example.com")
    response = await api.request(
        "PUT", PATH, json={"phone_number": "+12025550140", "inbound_agent_id": agent["id"]}
    )
    assert response.status_code == 422
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {
        "inbound_allowed_addresses",
        "inbound_agent_id",
    }
    assert "only calls from the carrier" in problem["detail"]
    # Nothing was applied: the number is as it was, and no update event was written.
    shown = (await api.request("GET", f"/phone-numbers/{number['id']}")).json()
    assert (shown["inbound_agent"], shown["version"]) == (None, number["version"])

    # Naming the carrier's addresses, or accepting any source explicitly, lets the agent answer.
    patch = {"inbound_allowed_addresses": ["198.41.0.0/24"]}
    response = await api.request("PATCH", f"/phone-numbers/{number['id']}", json=patch)
    assert response.status_code == 200, response.text
    response = await api.request(
        "PUT", PATH, json={"phone_number": "+12025550140", "inbound_agent_id": agent["id"]}
    )
    assert response.status_code == 200, response.text
    # Taking the addresses away again while the agent answers is refused the same way.
    response = await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"inbound_allowed_addresses": None}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "inbound_allowed_addresses"
    response = await api.request(
        "PATCH",
        f"/phone-numbers/{number['id']}",
        json={"inbound_allowed_addresses": None, "inbound_allow_any_source": True},
    )
    assert response.status_code == 200, response.text
    assert response.json()["inbound_allow_any_source"] is True
    updated = await bus.wait_for(3, "telephony.phone_number.updated")
    assert [e["data"]["version"] for e in updated] == [2, 3, 4]


async def test_inbound_credentials_are_write_only_and_need_a_username(
    api: Api, bus: BusRecorder
) -> None:
    response = await api.request(
        "POST",
        "/phone-numbers",
        json={"phone_number": "+12025550141", "inbound_auth_password": "in-s3cret"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "inbound_auth_username"
    number = await api.number(
        "+12025550141", inbound_auth_username="carrier", inbound_auth_password="in-s3cret"
    )
    assert number["has_inbound_auth_password"] is True
    assert "inbound_auth_password" not in number
    listed = await api.request("GET", "/phone-numbers")
    await bus.wait_for(1, "telephony.phone_number.created")
    assert "in-s3cret" not in listed.text
    assert all(b"in-s3cret" not in m.data for m in bus.messages)
