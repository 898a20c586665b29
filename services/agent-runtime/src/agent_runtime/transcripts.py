"""A call's transcript, without I/O: livekit-agents' conversation history turned into
`TranscriptItem`s, redacted, and cut into parts that each fit in one event.

Redaction happens here, before anything leaves the process: card numbers (13-19 digits, spaces or
dashes between them, Luhn-valid) become `[redacted card number]`, each match of the configured
patterns (`TRANSCRIPT_REDACT_PATTERNS`) becomes `[redacted]`, and tool arguments whose name says
secret (password, secret, token, API key, authorization) are masked whatever their value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from livekit.agents import llm

from talkifai_common.events import (
    TRANSCRIPT_MAX_ITEM_CHARS,
    TRANSCRIPT_MAX_PARTS,
    TRANSCRIPT_PART_MAX_BYTES,
    TranscriptItem,
    TranscriptRole,
)

CARD_MASK = "[redacted card number]"
PATTERN_MASK = "[redacted]"
SECRET_MASK = "[redacted]"
# Digit groups joined by one space or dash: where a card number may hide.
_DIGIT_RUN = re.compile(r"\d+(?:[ -]\d+)*")
_DIGITS = re.compile(r"\d+")
_SECRET_NAME = re.compile(r"pass|secret|token|api[_-]?key|authorization|credential", re.I)
_ROLES = {"user": TranscriptRole.USER, "assistant": TranscriptRole.AGENT}


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum (as card numbers do)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_cards_in_run(run: str) -> str:
    """Mask each card number in a run of digit groups: the longest stretch of whole groups,
    from each group on, that holds 13-19 digits and passes Luhn."""
    groups = list(_DIGITS.finditer(run))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(groups):
        best, digits = None, ""
        for j in range(i, len(groups)):
            digits += groups[j].group()
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                best = j
        if best is None:
            i += 1
            continue
        spans.append((groups[i].start(), groups[best].end()))
        i = best + 1
    for start, end in reversed(spans):
        run = run[:start] + CARD_MASK + run[end:]
    return run


@dataclass(frozen=True)
class Redactor:
    """Masks card numbers and the configured patterns in text before it is published."""

    patterns: tuple[re.Pattern[str], ...] = field(default=())

    @classmethod
    def from_patterns(cls, patterns: Iterable[str]) -> Redactor:
        """A redactor for these regular expressions (besides card numbers)."""
        return cls(tuple(re.compile(p) for p in patterns))

    def redact(self, text: str) -> str:
        """`text` with card numbers, then each configured pattern's matches, masked."""
        text = _DIGIT_RUN.sub(lambda m: _mask_cards_in_run(m.group()), text)
        for pattern in self.patterns:
            text = pattern.sub(PATTERN_MASK, text)
        return text

    def redact_arguments(self, arguments: str) -> str:
        """A tool call's JSON arguments with secret-named fields masked, then redacted."""
        try:
            parsed = json.loads(arguments)
        except ValueError:
            return self.redact(arguments)
        return self.redact(json.dumps(_mask_secrets(parsed), ensure_ascii=False))


def _mask_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: SECRET_MASK if _SECRET_NAME.search(str(k)) else _mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    return value


@dataclass(frozen=True)
class Transcript:
    """A redacted transcript, and whether something had to be cut from it."""

    items: tuple[TranscriptItem, ...]
    truncated: bool


def _at(created_at: float) -> datetime:
    return datetime.fromtimestamp(created_at, UTC)


def _capped(text: str) -> tuple[str, bool]:
    if len(text) <= TRANSCRIPT_MAX_ITEM_CHARS:
        return text, False
    return text[:TRANSCRIPT_MAX_ITEM_CHARS], True


def transcript_of(history: Sequence[llm.ChatItem], redactor: Redactor) -> Transcript:
    """The conversation in livekit-agents' history: user and agent turns, tool calls with their
    arguments and answers (system instructions and other items are left out)."""
    items: list[TranscriptItem] = []
    tool_index: dict[str, int] = {}
    truncated = False
    for entry in history:
        if isinstance(entry, llm.ChatMessage) and entry.role in _ROLES:
            text, cut = _capped(redactor.redact(entry.text_content or ""))
            truncated |= cut
            if not text:
                continue
            items.append(
                TranscriptItem(
                    role=_ROLES[entry.role],
                    text=text,
                    at=_at(entry.created_at),
                    interrupted=entry.interrupted,
                )
            )
        elif isinstance(entry, llm.FunctionCall):
            arguments, cut = _capped(redactor.redact_arguments(entry.arguments))
            truncated |= cut
            tool_index[entry.call_id] = len(items)
            items.append(
                TranscriptItem(
                    role=TranscriptRole.TOOL,
                    at=_at(entry.created_at),
                    tool_name=entry.name,
                    tool_arguments=arguments,
                )
            )
        elif isinstance(entry, llm.FunctionCallOutput) and entry.call_id in tool_index:
            text, cut = _capped(redactor.redact(entry.output))
            truncated |= cut
            index = tool_index[entry.call_id]
            items[index] = items[index].model_copy(update={"text": text})
    return Transcript(tuple(items), truncated)


def split_parts(
    items: Sequence[TranscriptItem],
    *,
    max_bytes: int = TRANSCRIPT_PART_MAX_BYTES,
    max_parts: int = TRANSCRIPT_MAX_PARTS,
) -> tuple[list[tuple[TranscriptItem, ...]], bool]:
    """The items in order, cut into parts of at most `max_bytes` of JSON each (always at least
    one part, perhaps empty), and whether items past `max_parts` parts were left out."""
    parts: list[list[TranscriptItem]] = [[]]
    size = 0
    for item in items:
        item_size = len(item.model_dump_json().encode()) + 1  # and its comma
        if parts[-1] and size + item_size > max_bytes:
            if len(parts) == max_parts:
                return [tuple(p) for p in parts], True
            parts.append([])
            size = 0
        parts[-1].append(item)
        size += item_size
    return [tuple(p) for p in parts], False
