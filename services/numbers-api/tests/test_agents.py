"""Agents: CRUD, defaults, provider validation, roles, tenancy and events."""

from __future__ import annotations

import pytest

from talkifai_common.auth import Role
from tests.support.numbers_api import Api, BusRecorder


async def test_agent_needs_only_name_and_architecture_and_gets_defaults(api: Api) -> None:
    agent = await api.agent("Support", "pipeline")
    assert agent["id"].startswith("agent_")
    assert agent["instructions"] and agent["greeting"] and agent["language"] == "en-US"
    assert agent["stt"]["provider"] == "deepgram"
    assert agent["llm"]["provider"] == "openai"
    assert agent["tts"]["provider"] == "cartesia"
    assert agent["realtime"] is None


async def test_realtime_agent_gets_realtime_defaults_only(api: Api) -> None:
    agent = await api.agent("Concierge", "realtime")
    assert agent["realtime"]["provider"] == "openai"
    assert agent["stt"] is None and agent["llm"] is None and agent["tts"] is None


async def test_text_agent_has_only_a_language_model(api: Api) -> None:
    agent = await api.agent("Chat", "text")
    assert agent["llm"] is not None
    assert agent["stt"] is None and agent["tts"] is None and agent["realtime"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"architecture": "pipeline"}, "name"),
        ({"name": "A"}, "architecture"),
        ({"name": "A", "architecture": "telepathy"}, "architecture"),
        ({"name": "", "architecture": "pipeline"}, "name"),
        ({"name": "A" * 101, "architecture": "pipeline"}, "name"),
        ({"name": "A", "architecture": "pipeline", "tts": {"provider": "acme"}}, "tts.provider"),
        (
            {"name": "A", "architecture": "pipeline", "stt": {"provider": "whisperer"}},
            "stt.provider",
        ),
        ({"name": "A", "architecture": "pipeline", "llm": {"temperature": 9}}, "llm.temperature"),
        ({"name": "A", "architecture": "realtime", "tts": {"provider": "cartesia"}}, "tts"),
        ({"name": "A", "architecture": "text", "realtime": {}}, "realtime"),
        ({"name": "A", "architecture": "pipeline", "language": "english!"}, "language"),
        ({"name": "A", "architecture": "pipeline", "colour": "blue"}, "colour"),
    ],
)
async def test_invalid_agent_is_refused_naming_the_field(
    api: Api, body: dict[str, object], field: str
) -> None:
    response = await api.request("POST", "/agents", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert field in [e["field"] for e in problem["errors"]]
    assert problem["detail"]


async def test_patch_changes_only_given_fields_and_switching_architecture_resets_sections(
    api: Api,
) -> None:
    agent = await api.agent("Sales", "pipeline", tts={"provider": "elevenlabs", "voice": "Rachel"})
    response = await api.request("PATCH", f"/agents/{agent['id']}", json={"greeting": "Hi!"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["greeting"] == "Hi!"
    assert updated["tts"] == agent["tts"]
    assert updated["version"] == agent["version"] + 1
    response = await api.request(
        "PATCH", f"/agents/{agent['id']}", json={"architecture": "realtime"}
    )
    assert response.json()["realtime"]["provider"] == "openai"
    assert response.json()["tts"] is None


async def test_members_read_agents_but_cannot_change_them(api: Api) -> None:
    agent = await api.agent()
    assert (await api.request("GET", f"/agents/{agent['id']}", role=Role.MEMBER)).status_code == 200
    for method, path, body in [
        ("POST", "/agents", {"name": "X", "architecture": "pipeline"}),
        ("PATCH", f"/agents/{agent['id']}", {"name": "Y"}),
        ("DELETE", f"/agents/{agent['id']}", None),
    ]:
        response = await api.request(method, path, role=Role.MEMBER, json=body)
        assert response.status_code == 403, (method, response.text)


async def test_another_organizations_agent_is_not_found(api: Api) -> None:
    agent = await api.agent()
    for method in ("GET", "DELETE"):
        response = await api.request(method, f"/agents/{agent['id']}", org_id="org_b")
        assert response.status_code == 404
    listed = await api.request("GET", "/agents", org_id="org_b")
    assert listed.json()["items"] == []


async def test_agents_list_pages_with_a_cursor(api: Api) -> None:
    created = [(await api.agent(f"Agent {i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.request("GET", "/agents", params=params)).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == created


async def test_assigned_agent_cannot_be_deleted_and_the_error_names_the_numbers(api: Api) -> None:
    agent = await api.agent()
    await api.number("+12025550123")
    await api.number("+12025550124")
    for number in ("+12025550123", "+12025550124"):
        response = await api.request(
            "PUT",
            "/phone-numbers/agent-assignments",
            json={"phone_number": number, "inbound_agent_id": agent["id"]},
        )
        assert response.status_code == 200
    response = await api.request("DELETE", f"/agents/{agent['id']}")
    assert response.status_code == 409
    assert "+12025550123" in response.json()["detail"]
    assert "+12025550124" in response.json()["detail"]
    assert (await api.request("GET", f"/agents/{agent['id']}")).status_code == 200


async def test_assigned_agent_cannot_become_text_only(api: Api) -> None:
    agent = await api.agent()
    await api.number("+12025550123")
    await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": "+12025550123", "outbound_agent_id": agent["id"]},
    )
    response = await api.request("PATCH", f"/agents/{agent['id']}", json={"architecture": "text"})
    assert response.status_code == 409
    assert "+12025550123" in response.json()["detail"]


async def test_unassigned_agent_is_deleted(api: Api) -> None:
    agent = await api.agent()
    assert (await api.request("DELETE", f"/agents/{agent['id']}")).status_code == 204
    assert (await api.request("GET", f"/agents/{agent['id']}")).status_code == 404


async def test_agent_changes_are_published_as_cloudevents(api: Api, bus: BusRecorder) -> None:
    agent = await api.agent()
    await api.request("PATCH", f"/agents/{agent['id']}", json={"name": "Renamed"})
    await api.request("DELETE", f"/agents/{agent['id']}")
    events = await bus.wait_for(3, "telephony.agent.")
    assert [e["type"] for e in events] == [
        "talkifai.telephony.agent.created.v1",
        "talkifai.telephony.agent.updated.v1",
        "talkifai.telephony.agent.deleted.v1",
    ]
    for event in events:
        assert event["specversion"] == "1.0"
        assert event["subject"] == agent["id"]
        assert event["orgid"] == "org_a"
        assert event["source"] == "/talkifai/numbers-api"
        assert event["datacontenttype"] == "application/json"
    assert events[1]["data"]["name"] == "Renamed"
    assert {m.headers["Nats-Msg-Id"] for m in bus.messages} == {e["id"] for e in events}


async def test_refused_change_publishes_nothing(api: Api, bus: BusRecorder) -> None:
    agent = await api.agent()
    await api.request("PATCH", f"/agents/{agent['id']}", json={"llm": {"temperature": 5}})
    await api.request("PATCH", f"/agents/{agent['id']}", role=Role.MEMBER, json={"name": "x"})
    await api.agent("Second")
    events = await bus.wait_for(2, "telephony.agent.")
    assert [e["type"].split(".")[-2] for e in events] == ["created", "created"]


async def test_an_agent_may_name_a_public_openai_compatible_server_for_its_components(
    api: Api,
) -> None:
    agent = await api.agent(
        "Self-hosted",
        "pipeline",
        llm={
            "provider": "openai",
            "model": "llama3.2",
            "base_url": "https://models.example.com/v1",
        },
        tts={"provider": "openai", "model": "kokoro", "base_url": "https://tts.example.com/v1"},
    )
    assert agent["llm"]["base_url"] == "https://models.example.com/v1"
    assert agent["tts"]["base_url"] == "https://tts.example.com/v1"
    assert "base_url" not in agent["stt"]  # left out when unset


@pytest.mark.parametrize(
    ("section", "base_url", "rule"),
    [
        ("llm", "http://127.0.0.1:11434/v1", "globally routable"),
        ("llm", "http://169.254.169.254/v1", "globally routable"),
        ("tts", "http://localhost:8880/v1", "loopback"),
        ("stt", "ftp://models.example.com/v1", "absolute http or https URL"),
        ("llm", "https://user:pw@models.example.com/v1", "must not carry credentials"),
    ],
)
async def test_a_model_server_the_policy_refuses_is_a_422_naming_the_section(
    api: Api, section: str, base_url: str, rule: str
) -> None:
    body = {
        "name": "A",
        "architecture": "pipeline",
        section: {"provider": "openai", "base_url": base_url},
    }
    response = await api.request("POST", "/agents", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"].startswith(section)
    assert rule in error["message"]


async def test_a_base_url_with_a_provider_that_is_not_openai_protocol_is_refused(api: Api) -> None:
    body = {
        "name": "A",
        "architecture": "pipeline",
        "tts": {"provider": "cartesia", "base_url": "https://tts.example.com/v1"},
    }
    response = await api.request("POST", "/agents", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "tts"
    assert "set provider to openai" in error["message"]


async def test_a_change_to_a_private_model_server_is_refused_and_leaves_the_agent_as_it_was(
    api: Api,
) -> None:
    agent = await api.agent("Public", "pipeline")
    response = await api.request(
        "PATCH",
        f"/agents/{agent['id']}",
        json={"llm": {"provider": "openai", "base_url": "http://10.0.0.5:11434/v1"}},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "llm.base_url"
    unchanged = (await api.request("GET", f"/agents/{agent['id']}")).json()
    assert unchanged["version"] == agent["version"]


async def test_an_agent_may_speak_with_the_built_in_offline_voice(api: Api) -> None:
    agent = await api.agent("Offline", "pipeline", tts={"provider": "espeak"})
    assert agent["tts"] == {"provider": "espeak", "model": None, "voice": None}
