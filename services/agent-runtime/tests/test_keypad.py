"""The caller's keypad: key presses gathered into the turns the agent receives."""

from __future__ import annotations

import asyncio

import pytest

from agent_runtime.keypad import KeypadInput, keypad_turn

pytestmark = pytest.mark.unit


async def test_keys_up_to_hash_are_one_turn_at_once() -> None:
    turns: list[str] = []
    keypad = KeypadInput(turns.append, gap_s=60)
    for digit in "12#":
        keypad.press(digit)
    assert turns == ["12#"]


async def test_keys_end_a_turn_after_a_pause() -> None:
    turns: list[str] = []
    keypad = KeypadInput(turns.append, gap_s=0.05)
    keypad.press("4")
    keypad.press("2")
    assert turns == []
    await asyncio.sleep(0.2)
    keypad.press("9")
    keypad.flush()
    assert turns == ["42", "9"]


def test_the_turn_says_it_came_from_the_keypad() -> None:
    assert keypad_turn("12#") == "[keypad] 12#"
