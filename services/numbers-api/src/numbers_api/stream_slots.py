"""Caps on concurrent `GET /events` streams, per token and per organization.

Each stream holds a queue and a connection for as long as the client stays; without a cap one
token could open thousands. Counted in this process: each replica enforces the caps on its own.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from collections.abc import Iterator

from talkifai_common.errors import TooManyRequests


class StreamSlots:
    """Open streams by token and by organization; `hold` refuses one past either cap."""

    def __init__(self, per_token: int, per_org: int) -> None:
        self.per_token = per_token
        self.per_org = per_org
        self._by_token: Counter[str] = Counter()
        self._by_org: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, token: str, org_id: str) -> Iterator[None]:
        """One slot for the block's duration, or TooManyRequests naming the cap reached."""
        # A digest, so the counter never keeps a bearer token in memory longer than the request.
        key = hashlib.sha256(token.encode()).hexdigest()
        if self._by_token[key] >= self.per_token:
            raise TooManyRequests(
                f"This token already has {self.per_token} open event streams; close one first"
            )
        if self._by_org[org_id] >= self.per_org:
            raise TooManyRequests(
                f"Your organization already has {self.per_org} open event streams; close one first"
            )
        self._by_token[key] += 1
        self._by_org[org_id] += 1
        try:
            yield
        finally:
            for counter, name in ((self._by_token, key), (self._by_org, org_id)):
                counter[name] -= 1
                if counter[name] <= 0:
                    del counter[name]

    def open_streams(self, org_id: str) -> int:
        """How many streams the organization holds now."""
        return self._by_org[org_id]
