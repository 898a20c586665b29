"""Transcripts without a call: redaction, the conversation history read, parts that fit an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from livekit.agents import llm
from pydantic import ValidationError

from agent_runtime.config import Settings
from agent_runtime.transcripts import (
    CARD_MASK,
    Redactor,
    luhn_valid,
    split_parts,
    transcript_of,
)
from talkifai_common.events import (
    TRANSCRIPT_MAX_ITEM_CHARS,
    CallTranscriptData,
    TranscriptItem,
    TranscriptRole,
)


@pytest.mark.parametrize(
    "said",
    [
        "my card is 4242 4242 4242 4242 thanks",
        "my card is 4242-4242-4242-4242 thanks",
        "my card is 4242424242424242 thanks",
        "my card is 3782 822463 10005 thanks",  # Amex, 15 digits
        "my card is 6011 0009 9013 9424 thanks",
    ],
)
def test_card_numbers_are_masked_with_spaces_dashes_or_none(said: str) -> None:
    assert Redactor().redact(said) == f"my card is {CARD_MASK} thanks"


def test_digits_that_are_not_a_card_number_stay() -> None:
    redactor = Redactor()
    # Fails Luhn; too short; a phone number; an order number of 20 digits failing Luhn.
    for text in (
        "4242 4242 4242 4241",
        "call 202 555 0123",
        "+1 202-555-0123",
        "order 12345678901234567890",
        "table for 2 at 7",
    ):
        assert redactor.redact(text) == text


def test_a_card_number_followed_by_its_expiry_and_code_is_masked_alone() -> None:
    said = "4242 4242 4242 4242 12 27 and the code is 123"
    assert Redactor().redact(said) == f"{CARD_MASK} 12 27 and the code is 123"


def test_two_card_numbers_in_one_sentence_are_both_masked() -> None:
    said = "4111 1111 1111 1111 or 5555-5555-5555-4444"
    assert Redactor().redact(said) == f"{CARD_MASK} or {CARD_MASK}"


def test_configured_patterns_are_masked_too() -> None:
    redactor = Redactor.from_patterns([r"\b\d{3}-\d{2}-\d{4}\b", r"(?i)password is \w+"])
    assert redactor.redact("ssn 123-45-6789, password is hunter2") == ("ssn [redacted], [redacted]")


def test_a_pattern_that_is_not_a_regular_expression_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="not a regular expression"):
        Settings(dev_mode=True, transcript_redact_patterns=["(unclosed"])


def test_luhn() -> None:
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424243")


def test_the_history_becomes_turns_and_tool_calls_in_order_redacted() -> None:
    history = llm.ChatContext.empty()
    history.add_message(role="system", content="You are a helpful agent.", created_at=1.0)
    history.add_message(role="assistant", content="Hello, how can I help?", created_at=2.0)
    history.add_message(role="user", content="Pay with 4242 4242 4242 4242 please.", created_at=3.0)
    history.insert(
        llm.FunctionCall(
            call_id="c1",
            name="take_payment",
            arguments=json.dumps({"card": "4242424242424242", "api_key": "sk-live-123"}),
            created_at=4.0,
        )
    )
    history.insert(
        llm.FunctionCallOutput(call_id="c1", name="take_payment", output="paid", is_error=False)
    )
    history.add_message(role="assistant", content="Done!", interrupted=True, created_at=5.0)

    transcript = transcript_of(history.items, Redactor())

    assert [(i.role, i.text) for i in transcript.items] == [
        (TranscriptRole.AGENT, "Hello, how can I help?"),
        (TranscriptRole.USER, f"Pay with {CARD_MASK} please."),
        (TranscriptRole.TOOL, "paid"),
        (TranscriptRole.AGENT, "Done!"),
    ]
    tool = transcript.items[2]
    assert tool.tool_name == "take_payment"
    assert json.loads(tool.tool_arguments or "") == {"card": CARD_MASK, "api_key": "[redacted]"}
    assert transcript.items[0].at == datetime.fromtimestamp(2.0, UTC)
    assert transcript.items[3].interrupted is True
    assert transcript.truncated is False


def test_a_runaway_turn_is_cut_and_the_transcript_says_so() -> None:
    history = llm.ChatContext.empty()
    history.add_message(role="user", content="a" * (TRANSCRIPT_MAX_ITEM_CHARS + 10))

    transcript = transcript_of(history.items, Redactor())

    assert len(transcript.items[0].text) == TRANSCRIPT_MAX_ITEM_CHARS
    assert transcript.truncated is True


def _items(count: int, chars: int) -> list[TranscriptItem]:
    at = datetime.now(UTC)
    return [TranscriptItem(role=TranscriptRole.USER, text="é" * chars, at=at) for _ in range(count)]


def test_parts_stay_under_the_byte_budget_in_order() -> None:
    items = _items(50, 1000)  # 2 bytes a character in UTF-8

    parts, left_out = split_parts(items, max_bytes=10_000)

    assert not left_out
    assert [i for p in parts for i in p] == items
    assert all(sum(len(i.model_dump_json().encode()) + 1 for i in p) <= 10_000 for p in parts)
    assert len(parts) == 13  # four items of ~2 KB each fit 10 KB


def test_past_the_last_part_items_are_left_out_and_said_so() -> None:
    parts, left_out = split_parts(_items(50, 1000), max_bytes=10_000, max_parts=3)

    assert len(parts) == 3 and left_out


def test_an_empty_conversation_is_one_empty_part() -> None:
    assert split_parts([]) == ([()], False)


def test_a_full_part_makes_an_event_far_below_natss_max_payload() -> None:
    [part, *_], _ = split_parts(_items(400, TRANSCRIPT_MAX_ITEM_CHARS // 4))
    now = datetime.now(UTC)
    data = CallTranscriptData(
        call_id="call_1",
        room_name="room",
        agent_id="agent_1",
        direction="inbound",
        phone_number="+12025550123",
        part=1,
        parts=2,
        items=part,
        truncated=False,
        started_at=now,
        ended_at=now,
    )
    assert len(data.model_dump_json().encode()) < 300 * 1024 < 1024 * 1024
