"""The caller's keypad as input to the agent.

LiveKit's SIP bridge turns the caller's key presses (RFC 4733 DTMF) into `sip_dtmf` data packets,
which the SDK reports as `sip_dtmf_received`. Keys pressed in a burst are one answer ("1", "2",
"#" for "12#"): they are gathered until `#` or a pause of `gap_s`, then handed to the agent as
one user turn that says what was pressed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# How long after the last key the agent is told (a person types the next key within this).
KEY_GAP_S = 1.5
# The user turn the agent receives: the instructions tell it this is the keypad.
KEYPAD_TURN = "[keypad] {digits}"


def keypad_turn(digits: str) -> str:
    """The user input for keys pressed."""
    return KEYPAD_TURN.format(digits=digits)


class KeypadInput:
    """Gathers key presses into bursts and hands each burst to `on_digits`."""

    def __init__(self, on_digits: Callable[[str], None], gap_s: float = KEY_GAP_S) -> None:
        self._on_digits = on_digits
        self._gap_s = gap_s
        self._digits: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def press(self, digit: str) -> None:
        """One key, as the SIP bridge reported it."""
        if not digit:
            return
        self._digits.append(digit)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if digit == "#":
            self.flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(self._gap_s, self.flush)

    def flush(self) -> None:
        """Hand over what was pressed so far (also at the end of the call)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._digits:
            digits, self._digits = "".join(self._digits), []
            self._on_digits(digits)
