"""Resource ids: readable, and every character equally possible at every position."""

from __future__ import annotations

import re

import pytest

from talkifai_common.ids import ALPHABET, random_id

pytestmark = pytest.mark.unit


def test_an_id_is_its_prefix_and_sixteen_crockford_characters() -> None:
    assert re.fullmatch(r"call_[0-9a-hjkmnp-tv-z]{16}", random_id("call"))


def test_every_character_appears_at_every_position() -> None:
    ids = [random_id("x")[2:] for _ in range(4000)]

    for position in range(16):
        assert {i[position] for i in ids} == set(ALPHABET)
    assert len(set(ids)) == len(ids)
