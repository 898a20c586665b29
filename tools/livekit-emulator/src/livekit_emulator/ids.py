"""LiveKit-style identifiers: a prefix plus 12 random base57 characters."""

from __future__ import annotations

import secrets

# shortuuid's default alphabet, the one LiveKit's guid package draws from (no 0, 1, I, O, l).
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
SIZE = 12

ROOM = "RM_"
TRACK = "TR_"
PARTICIPANT = "PA_"
SIP_TRUNK = "ST_"
SIP_DISPATCH_RULE = "SDR_"
SIP_CALL = "SCL_"
SIP_TRANSFER = "STR_"
AGENT_DISPATCH = "AD_"
AGENT_JOB = "AJ_"
AGENT_WORKER = "AW_"
EGRESS = "EG_"
WEBHOOK_EVENT = "EV_"


_BASE = len(ALPHABET)
_SPACE = _BASE**SIZE


def new_id(prefix: str) -> str:
    """Return a fresh id such as `ST_4kXq9nJ2mPaB`: every one of the 57^12 equally likely, drawn
    from the OS's random source in one read rather than one per character."""
    n = secrets.randbelow(_SPACE)
    chars = []
    for _ in range(SIZE):
        n, digit = divmod(n, _BASE)
        chars.append(ALPHABET[digit])
    return prefix + "".join(chars)
