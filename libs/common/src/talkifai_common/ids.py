"""Our resources' ids: a prefix and 16 Crockford base32 characters (80 random bits)."""

from __future__ import annotations

import secrets

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u
LENGTH = 16


def random_id(prefix: str) -> str:
    """A random id such as `call_3kq9x7c2m4p8v6tz`: readable, URL-safe. The 80 bits come from one
    read of the OS's random source, five per character (32 is a power of two: every character is
    equally likely)."""
    n = int.from_bytes(secrets.token_bytes(LENGTH * 5 // 8))
    chars = [ALPHABET[(n >> (5 * i)) & 31] for i in range(LENGTH)]
    return f"{prefix}_" + "".join(chars)
