"""A first end-to-end pass: create an agent and a number, see both events on the bus."""

from tests.support.numbers_api import Api, BusRecorder


async def test_agent_and_number_round_trip(api: Api, bus: BusRecorder) -> None:
    agent = await api.agent()
    number = await api.number("+1 (202) 555-0123", termination_uri="sip:your-trunk.pstn.twilio.com")
    assert number["phone_number"] == "+12025550123"
    assert number["termination_uri"] == "your-trunk.pstn.twilio.com"
    events = await bus.wait_for(2)
    assert [e["type"] for e in events] == [
        "talkifai.telephony.agent.created.v1",
        "talkifai.telephony.phone_number.created.v1",
    ]
    assert events[0]["data"]["id"] == agent["id"]
