"""`GET /carriers`: the carrier profiles the Studio offers, for any member with a token."""

from __future__ import annotations

from talkifai_common.auth import Role
from tests.support.numbers_api import Api


async def test_every_member_reads_the_carrier_profiles_custom_last(api: Api) -> None:
    assert (await api.http.get("/carriers")).status_code == 401
    response = await api.request("GET", "/carriers", role=Role.MEMBER)
    assert response.status_code == 200
    profiles = response.json()
    ids = [p["id"] for p in profiles]
    assert ids[-1] == "custom"
    assert {"twilio", "telnyx", "plivo", "signalwire", "bandwidth", "vonage"} <= set(ids)
    twilio = profiles[ids.index("twilio")]
    assert "54.172.60.0/23" in twilio["signalling_addresses"]
    assert twilio["setup_steps"] and twilio["sources"][0]["read_on"]
