"""LiveKit-style ids: the prefix and 12 base57 characters, each equally possible everywhere."""

from __future__ import annotations

import pytest

from livekit_emulator import ids

pytestmark = pytest.mark.unit


def test_an_id_is_its_prefix_and_twelve_base57_characters() -> None:
    made = ids.new_id(ids.SIP_TRUNK)

    assert made.startswith("ST_")
    assert len(made) == 3 + 12
    assert set(made[3:]) <= set(ids.ALPHABET)


def test_every_character_appears_at_every_position() -> None:
    made = [ids.new_id("")[:12] for _ in range(6000)]

    for position in range(12):
        assert {m[position] for m in made} == set(ids.ALPHABET)
    assert len(set(made)) == len(made)
