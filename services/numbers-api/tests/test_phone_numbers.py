"""Phone numbers: the seed's validation, secrets, status, search, pagination, tenancy."""

from __future__ import annotations

import asyncpg
import pytest

from talkifai_common.auth import Role
from talkifai_common.crypto import SecretBox
from tests.support.numbers_api import Api


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+1 (202) 555-0123", "+12025550123"),
        ("+1-202-555-0124", "+12025550124"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1234567890", "+1234567890"),
    ],
)
async def test_common_input_forms_are_stored_as_e164(api: Api, raw: str, stored: str) -> None:
    number = await api.number(raw)
    assert number["phone_number"] == stored


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("12025550123", "start with +"),
        ("+123456789", "at least 10 digits"),
        ("+1234567890123456", "at most 15 digits"),
        ("+0234567890", "digit from 1 to 9"),
        ("+1202555abcd", "only digits"),
        ("", "required"),
    ],
)
async def test_invalid_phone_number_is_refused_with_the_rule(api: Api, raw: str, rule: str) -> None:
    response = await api.request("POST", "/phone-numbers", json={"phone_number": raw})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors[0]["field"] == "phone_number"
    assert rule in errors[0]["message"]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("your-trunk.pstn.twilio.com", "your-trunk.pstn.twilio.com"),
        ("Your-Trunk.PSTN.twilio.com:5061", "your-trunk.pstn.twilio.com:5061"),
        ("sip:sip.telnyx.com", "sip.telnyx.com"),
        ("sips:sip.telnyx.com:5061", "sip.telnyx.com:5061"),
        ("54.172.60.0", "54.172.60.0"),
        ("[2606:4700::1111]:5061", "[2606:4700::1111]:5061"),
    ],
)
async def test_termination_uri_forms_are_stored_as_the_host_livekit_needs(
    api: Api, raw: str, stored: str
) -> None:
    number = await api.number(termination_uri=raw)
    assert number["termination_uri"] == stored


@pytest.mark.parametrize(
    "raw",
    [
        "sip:user@trunk.example.com",
        "trunk.example.com;transport=tls",
        "https://trunk.example.com/path",
        "trunk.example.com:99999",
        "not a host",
        "-bad-.example.com",
        "sip:",
    ],
)
async def test_invalid_termination_uri_is_refused(api: Api, raw: str) -> None:
    response = await api.request(
        "POST", "/phone-numbers", json={"phone_number": "+12025550123", "termination_uri": raw}
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "termination_uri"


@pytest.mark.parametrize(
    "raw",
    [
        "127.0.0.1:5060",
        "sip:169.254.169.254",
        "10.0.0.1",
        "100.100.100.200",
        "203.0.113.7",
        "[::1]:5061",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::]",
        "[64:ff9b::a9fe:a9fe]",
        "localhost:5060",
    ],
)
async def test_termination_uri_on_a_non_public_address_is_refused(api: Api, raw: str) -> None:
    response = await api.request(
        "POST", "/phone-numbers", json={"phone_number": "+12025550123", "termination_uri": raw}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "termination_uri"
    assert "Termination URI" in error["message"]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://example.com:99999/", "port"),
        ("http://example.com:0/", "port"),
        ("http://example.com:http/", "port"),
        ("http://exa\r\nmple.com/hook", "control characters"),
        ("http://example.com/a\tb", "control characters"),
        ("http://xn--a.com/hook", "internationalized"),
        ("http://\u2603.com/hook", "IDNA"),
        ("https://user:secret@example.com/hook", "credentials"),
        ("gopher://example.com/", "http or https"),
        ("http://100.100.100.200/latest/meta-data", "globally routable"),
        ("http://[2002:7f00:1::]/hook", "globally routable"),
        ("http://[64:ff9b::a9fe:a9fe]/hook", "globally routable"),
        ("http://2130706433/hook", "hostname"),
        ("http://localhost:8080/hook", "loopback"),
    ],
)
async def test_webhook_urls_that_cannot_or_must_not_be_delivered_are_refused(
    api: Api, url: str, rule: str
) -> None:
    number = await api.number()
    response = await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"webhook_url": url}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "webhook_url"
    assert rule in error["message"]
    assert "secret" not in response.text


async def test_sip_password_is_write_only_and_encrypted_at_rest(
    api: Api, database_url: str, fernet_keys: list[str]
) -> None:
    number = await api.number(sip_username="talkifai", sip_password="hunter2-secret")
    assert number["has_sip_password"] is True
    assert "sip_password" not in number
    fetched = await api.request("GET", f"/phone-numbers/{number['id']}")
    assert "hunter2-secret" not in fetched.text
    listed = await api.request("GET", "/phone-numbers")
    assert "hunter2-secret" not in listed.text
    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval(
            "SELECT sip_password_ciphertext FROM phone_numbers WHERE id = $1", number["id"]
        )
        outbox = await conn.fetch("SELECT payload FROM outbox")
    finally:
        await conn.close()
    assert "hunter2-secret" not in stored
    assert SecretBox(fernet_keys).decrypt(stored) == "hunter2-secret"
    assert all(stored not in row["payload"] for row in outbox)


async def test_null_clears_the_password(api: Api) -> None:
    number = await api.number(sip_username="u", sip_password="p")
    response = await api.request(
        "PATCH", f"/phone-numbers/{number['id']}", json={"sip_password": None}
    )
    assert response.json()["has_sip_password"] is False


async def test_a_number_belongs_to_one_organization_only(api: Api) -> None:
    await api.number("+12025550123")
    for org in ("org_a", "org_b"):
        response = await api.request(
            "POST", "/phone-numbers", org_id=org, json={"phone_number": "+1 202 555 0123"}
        )
        assert response.status_code == 409
        assert "already registered" in response.json()["detail"]


async def test_changing_a_number_to_a_claimed_one_is_a_conflict(api: Api) -> None:
    await api.number("+12025550123")
    other = await api.number("+12025550124")
    response = await api.request(
        "PATCH", f"/phone-numbers/{other['id']}", json={"phone_number": "+12025550123"}
    )
    assert response.status_code == 409
    again = await api.request("GET", f"/phone-numbers/{other['id']}")
    assert again.json()["phone_number"] == "+12025550124"


async def test_call_settings_are_stored_and_validated(api: Api) -> None:
    number = await api.number(
        webhook_url="https://hooks.example.com/calls", recording_mode="consent"
    )
    assert number["webhook_url"] == "https://hooks.example.com/calls"
    assert number["recording_mode"] == "consent"
    assert (await api.number("+12025550199"))["recording_mode"] == "disabled"
    for body, field in [
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url"),
        ({"webhook_url": "not a url"}, "webhook_url"),
        ({"webhook_url": "http://127.0.0.1/hook"}, "webhook_url"),
        ({"webhook_url": "http://10.0.0.8/hook"}, "webhook_url"),
        ({"recording_mode": "sometimes"}, "recording_mode"),
        ({"sip_transport": "carrier-pigeon"}, "sip_transport"),
    ]:
        response = await api.request("PATCH", f"/phone-numbers/{number['id']}", json=body)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field


async def test_transport_and_media_encryption_default_to_tls_and_required(api: Api) -> None:
    number = await api.number()
    assert number["sip_transport"] == "tls"
    assert number["media_encryption"] == "require"
    response = await api.request(
        "PATCH",
        f"/phone-numbers/{number['id']}",
        json={"sip_transport": "udp", "media_encryption": "disable"},
    )
    assert response.json()["sip_transport"] == "udp"


async def _assign(
    api: Api, number: str, inbound: str | None, outbound: str | None
) -> dict[str, object]:
    response = await api.request(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": number, "inbound_agent_id": inbound, "outbound_agent_id": outbound},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_status_follows_the_seeds_rule(api: Api) -> None:
    agent = await api.agent()
    bare = await api.number("+12025550100")
    assert bare["status"] == "inactive"
    assert bare["sync"] == {"state": "pending", "error": None, "synced_at": None}

    await api.number("+12025550101", termination_uri="trunk.example.com")
    inbound_only = await _assign(api, "+12025550101", agent["id"], None)
    assert inbound_only["status"] == "active"

    no_uri = await api.number("+12025550102")
    assert (await _assign(api, "+12025550102", agent["id"], None))["status"] == "inactive"
    assert no_uri["status"] == "inactive"

    await api.number("+12025550103", termination_uri="trunk.example.com")
    outbound_without_credentials = await _assign(api, "+12025550103", None, agent["id"])
    assert outbound_without_credentials["status"] == "inactive"
    patched = await api.request(
        "PATCH",
        f"/phone-numbers/{outbound_without_credentials['id']}",
        json={"sip_username": "user", "sip_password": "pass"},
    )
    assert patched.json()["status"] == "active"


async def test_search_is_a_case_insensitive_substring_of_number_and_agent_names(api: Api) -> None:
    support = await api.agent("Support Desk")
    sales = await api.agent("Inside SALES")
    await api.number("+12025550111")
    await api.number("+12025550112")
    await api.number("+14155550113")
    await _assign(api, "+12025550111", support["id"], None)
    await _assign(api, "+14155550113", None, sales["id"])

    async def search(term: str) -> list[str]:
        page = (await api.request("GET", "/phone-numbers", params={"search": term})).json()
        return [n["phone_number"] for n in page["items"]]

    assert await search("+1202") == ["+12025550111", "+12025550112"]
    assert await search("support") == ["+12025550111"]
    assert await search("sales") == ["+14155550113"]
    assert await search("0113") == ["+14155550113"]
    assert await search("%") == []
    assert await search("nothing") == []
    await api.request("PATCH", f"/agents/{support['id']}", json={"name": "Helpdesk"})
    assert await search("support") == []
    assert await search("helpdesk") == ["+12025550111"]


async def test_numbers_page_with_a_cursor_in_e164_order(api: Api) -> None:
    for last in (5, 3, 1, 4, 2):
        await api.number(f"+1202555010{last}")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.request("GET", "/phone-numbers", params=params)).json()
        seen += [n["phone_number"] for n in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"+1202555010{i}" for i in range(1, 6)]
    bad = await api.request("GET", "/phone-numbers", params={"cursor": "!!!"})
    assert bad.status_code == 422
    too_many = await api.request("GET", "/phone-numbers", params={"limit": 500})
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "limit"


async def test_members_read_numbers_but_cannot_change_them(api: Api) -> None:
    number = await api.number()
    agent = await api.agent()
    assert (await api.request("GET", "/phone-numbers", role=Role.MEMBER)).status_code == 200
    for method, path, body in [
        ("POST", "/phone-numbers", {"phone_number": "+12025550999"}),
        ("PATCH", f"/phone-numbers/{number['id']}", {"webhook_url": None}),
        ("DELETE", f"/phone-numbers/{number['id']}", None),
        (
            "PUT",
            "/phone-numbers/agent-assignments",
            {"phone_number": number["phone_number"], "inbound_agent_id": agent["id"]},
        ),
    ]:
        response = await api.request(method, path, role=Role.MEMBER, json=body)
        assert response.status_code == 403, (method, path)


async def test_another_organizations_number_is_not_found(api: Api) -> None:
    number = await api.number()
    for method, body in (("GET", None), ("PATCH", {"webhook_url": None}), ("DELETE", None)):
        response = await api.request(
            method, f"/phone-numbers/{number['id']}", org_id="org_b", json=body
        )
        assert response.status_code == 404
    assert (await api.request("GET", "/phone-numbers", org_id="org_b")).json()["items"] == []


async def test_deleted_number_is_gone_and_its_number_can_be_claimed_again(api: Api) -> None:
    number = await api.number()
    assert (await api.request("DELETE", f"/phone-numbers/{number['id']}")).status_code == 204
    assert (await api.request("GET", f"/phone-numbers/{number['id']}")).status_code == 404
    again = await api.request(
        "POST", "/phone-numbers", org_id="org_b", json={"phone_number": "+12025550123"}
    )
    assert again.status_code == 201
