"""Twirp wire protocol, authentication and grants, as LiveKit's server answers them."""

from __future__ import annotations

import asyncio
import time

import httpx
import jwt
import pytest
from livekit import api
from livekit.protocol import sip

from livekit_emulator.testing import RunningEmulator
from tests.support.emulator import inbound_trunk

LIST_INBOUND = "/twirp/livekit.SIP/ListSIPInboundTrunk"


def token(lk: RunningEmulator, **grants: object) -> str:
    """A token with the given grants (keys as LiveKit's JSON names them)."""
    claims: dict[str, object] = {
        "iss": lk.api_key,
        "exp": int(time.time()) + 60,
        "nbf": int(time.time()),
    }
    claims.update(grants)
    return jwt.encode(claims, lk.api_secret, algorithm="HS256")


def admin(lk: RunningEmulator) -> dict[str, str]:
    return {"Authorization": "Bearer " + token(lk, sip={"admin": True})}


async def post(lk: RunningEmulator, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=lk.url) as client:
        return await client.post(path, **kwargs)  # type: ignore[arg-type]


async def test_request_without_token_is_refused_with_permissions_denied(
    lk: RunningEmulator,
) -> None:
    response = await post(lk, LIST_INBOUND, json={})
    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "msg": "permissions denied"}


async def test_token_of_unknown_key_gets_a_plain_text_401(lk: RunningEmulator) -> None:
    client = api.LiveKitAPI(lk.url, "otherkey", lk.api_secret)
    with pytest.raises(api.TwirpError) as caught:
        await client.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    await client.aclose()
    assert caught.value.status == 401
    assert caught.value.code == "unknown"  # the body is not Twirp JSON
    bad_key = jwt.encode({"iss": "otherkey", "exp": int(time.time()) + 60}, "x", algorithm="HS256")
    response = await post(lk, LIST_INBOUND, json={}, headers={"Authorization": "Bearer " + bad_key})
    assert (response.status_code, response.text) == (401, "invalid API key")


async def test_token_signed_with_the_wrong_secret_gets_a_plain_text_401(
    lk: RunningEmulator,
) -> None:
    client = api.LiveKitAPI(lk.url, lk.api_key, "not-the-secret")
    with pytest.raises(api.TwirpError) as caught:
        await client.sip.list_inbound_trunk(sip.ListSIPInboundTrunkRequest())
    await client.aclose()
    assert caught.value.status == 401
    forged = jwt.encode(
        {"iss": lk.api_key, "exp": int(time.time()) + 60}, "wrong", algorithm="HS256"
    )
    response = await post(lk, LIST_INBOUND, json={}, headers={"Authorization": "Bearer " + forged})
    assert (
        response.text
        == "invalid authorization token: token signature is invalid: signature is invalid"
    )


async def test_token_without_exp_is_refused(lk: RunningEmulator) -> None:
    forever = jwt.encode(
        {"iss": lk.api_key, "sip": {"admin": True}}, lk.api_secret, algorithm="HS256"
    )
    response = await post(lk, LIST_INBOUND, json={}, headers={"Authorization": "Bearer " + forever})
    assert response.status_code == 401
    assert "exp claim is required" in response.text


async def test_expired_token_is_refused(lk: RunningEmulator) -> None:
    old = token(lk, exp=int(time.time()) - 3600, sip={"admin": True})
    response = await post(lk, LIST_INBOUND, json={}, headers={"Authorization": "Bearer " + old})
    assert (response.status_code, response.text) == (
        401,
        "invalid authorization token: token has invalid claims: token is expired",
    )


async def test_a_token_accepted_once_is_refused_after_it_expires(lk: RunningEmulator) -> None:
    # Valid for about five more seconds, within the verifier's minute of leeway: enough for the
    # first request on a loaded machine (one second was not, once, in CI).
    expires = time.time() - 55
    soon = jwt.encode(
        {"iss": lk.api_key, "exp": expires, "sip": {"admin": True}},
        lk.api_secret,
        algorithm="HS256",
    )
    headers = {"Authorization": "Bearer " + soon}
    assert (await post(lk, LIST_INBOUND, json={}, headers=headers)).status_code == 200
    await asyncio.sleep(max(0.0, expires + 60 - time.time()) + 0.05)
    response = await post(lk, LIST_INBOUND, json={}, headers=headers)
    assert (response.status_code, response.text) == (
        401,
        "invalid authorization token: token has invalid claims: token is expired",
    )


async def test_authorization_without_bearer_prefix_is_refused(lk: RunningEmulator) -> None:
    response = await post(lk, LIST_INBOUND, json={}, headers={"Authorization": token(lk)})
    assert (response.status_code, response.text) == (
        401,
        "invalid authorization header. Must start with Bearer ",
    )


async def test_token_without_the_methods_grant_is_refused(lk: RunningEmulator) -> None:
    headers = {
        "Authorization": "Bearer " + token(lk, video={"roomCreate": True}, sip={"call": True})
    }
    response = await post(lk, LIST_INBOUND, json={}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": "unauthenticated", "msg": "permissions denied"}


async def test_room_admin_grant_must_name_the_room(lk: RunningEmulator) -> None:
    headers = {"Authorization": "Bearer " + token(lk, video={"roomAdmin": True, "room": "a"})}
    path = "/twirp/livekit.AgentDispatchService/CreateDispatch"
    refused = await post(lk, path, json={"room": "b", "agent_name": "x"}, headers=headers)
    accepted = await post(lk, path, json={"room": "a", "agent_name": "x"}, headers=headers)
    assert refused.status_code == 401
    assert accepted.status_code == 200


async def test_access_token_query_parameter_is_accepted(lk: RunningEmulator) -> None:
    response = await post(
        lk, LIST_INBOUND + "?access_token=" + token(lk, sip={"admin": True}), json={}
    )
    assert response.status_code == 200


async def test_json_request_accepts_camel_case_and_answers_snake_case_with_defaults(
    lk: RunningEmulator,
) -> None:
    body = {"trunk": {"name": "a", "numbers": ["+15550100"], "allowedNumbers": ["+15550199"]}}
    created = await post(
        lk, "/twirp/livekit.SIP/CreateSIPInboundTrunk", json=body, headers=admin(lk)
    )
    assert created.status_code == 200
    assert created.headers["content-type"] == "application/json"
    trunk = created.json()
    assert trunk["allowed_numbers"] == ["+15550199"]
    assert trunk["auth_username"] == ""  # defaults are emitted
    assert trunk["sip_trunk_id"].startswith("ST_")


async def test_json_request_accepts_snake_case(lk: RunningEmulator) -> None:
    body = {"trunk": {"name": "a", "numbers": ["+15550100"], "allowed_numbers": ["+15550199"]}}
    created = await post(
        lk, "/twirp/livekit.SIP/CreateSIPInboundTrunk", json=body, headers=admin(lk)
    )
    assert created.json()["allowed_numbers"] == ["+15550199"]


async def test_protobuf_request_is_answered_in_protobuf(lk: RunningEmulator) -> None:
    request = sip.CreateSIPInboundTrunkRequest(trunk=sip.SIPInboundTrunkInfo(numbers=["+15550100"]))
    headers = {**admin(lk), "Content-Type": "application/protobuf"}
    response = await post(
        lk,
        "/twirp/livekit.SIP/CreateSIPInboundTrunk",
        content=request.SerializeToString(),
        headers=headers,
    )
    assert response.headers["content-type"] == "application/protobuf"
    assert sip.SIPInboundTrunkInfo.FromString(response.content).numbers == ["+15550100"]


async def test_other_content_types_are_a_bad_route(lk: RunningEmulator) -> None:
    headers = {**admin(lk), "Content-Type": "text/plain"}
    response = await post(lk, LIST_INBOUND, content=b"{}", headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "bad_route"
    assert response.json()["msg"] == 'unexpected Content-Type: "text/plain"'


async def test_non_post_requests_are_an_unsupported_method(lk: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=lk.url) as client:
        response = await client.get(LIST_INBOUND, headers=admin(lk))
    assert response.status_code == 404
    assert response.json()["code"] == "bad_route"
    assert response.json()["msg"] == 'unsupported method "GET" (only POST is allowed)'


async def test_unknown_method_is_a_bad_route(lk: RunningEmulator) -> None:
    response = await post(lk, "/twirp/livekit.SIP/Nope", json={}, headers=admin(lk))
    assert response.status_code == 404
    assert response.json()["msg"] == 'no handler for path "/twirp/livekit.SIP/Nope"'


async def test_method_livekit_has_but_the_emulator_does_not_is_unimplemented(
    lk: RunningEmulator,
) -> None:
    response = await post(lk, "/twirp/livekit.RoomService/SendData", json={}, headers=admin(lk))
    assert (response.status_code, response.json()["code"]) == (501, "unimplemented")


async def test_malformed_json_body_is_refused(lk: RunningEmulator) -> None:
    headers = {**admin(lk), "Content-Type": "application/json"}
    response = await post(lk, LIST_INBOUND, content=b"{nope", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"code": "malformed", "msg": "the json request could not be decoded"}


async def test_healthz_and_root_answer(lk: RunningEmulator) -> None:
    async with httpx.AsyncClient(base_url=lk.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/")).text == "OK"


async def test_ids_are_a_prefix_and_twelve_base57_characters(lkapi: api.LiveKitAPI) -> None:
    trunk = await inbound_trunk(lkapi, "+15550100")
    assert len(trunk.sip_trunk_id) == 15
    assert set(trunk.sip_trunk_id[3:]) <= set(
        "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    )
