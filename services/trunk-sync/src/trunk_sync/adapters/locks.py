"""Per-number leases in NATS KV: across replicas, one at a time plans and applies a number's changes.

A lease is the key `<number id>` in the bucket `trunk_sync_number_locks`, written only if absent
or deleted (compare-and-set on the key's revision), whose entries expire after the bucket's TTL: a
replica that dies holding a number holds it at most that long. The revision the holder wrote is
its fencing token. A sync lasting longer than a third of the TTL renews the lease by
compare-and-set on that revision; a renewal that fails (another replica took the number over after
an expiry, or NATS cannot confirm it) stops the work at once and the sync is retried
(`NumberBusy`). Releasing deletes the key only at the holder's revision, so a late release never
frees another replica's lease.

Cost: a take and a release are one JetStream publish each (about 0.1 ms of CPU), in the KV wire
protocol (subject `$KV.<bucket>.<key>`, expected-last-subject-sequence header) rather than through
nats-py's `KeyValue`, whose `create` of a deleted key takes three round trips. A replica remembers
the revision of the delete marker it left, so taking the same number again is one publish too.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from faststream.nats import NatsBroker
from nats.js.api import Header, KeyValueConfig, StorageType
from nats.js.errors import (
    APIError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NotFoundError,
)
from nats.js.kv import KV_DEL, KV_OP, KeyValue

from trunk_sync.domain import NumberBusy

NUMBER_LOCK_BUCKET = "trunk_sync_number_locks"
# Polling a busy lease: a sync takes milliseconds, so start fast and back off a little.
_FIRST_POLL_S = 0.002
_MAX_POLL_S = 0.05
_KEY = re.compile(r"[-_=a-zA-Z0-9]{1,200}")
_SUBJECT_PREFIX = f"$KV.{NUMBER_LOCK_BUCKET}."
_WRONG_LAST_SEQUENCE = 10071  # JetStream's error code for a failed compare-and-set
_MAX_REMEMBERED = 100_000
log = structlog.get_logger(__name__)
T = TypeVar("T")


def lease_key(number_id: str) -> str:
    """The number's key: its id, or a digest of an id that is not a valid KV key (an orphan's
    metadata may name anything)."""
    if _KEY.fullmatch(number_id):
        return number_id
    return "sha256." + hashlib.sha256(number_id.encode()).hexdigest()


@dataclass
class _Lease:
    key: str
    revision: int
    lost: bool = False


class KvNumberLeases:
    """`NumberLeases` over a NATS KV bucket shared by every replica."""

    def __init__(self, broker: NatsBroker, holder: str, *, ttl_s: float, wait_s: float) -> None:
        self._broker = broker
        self._holder = holder.encode()
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._kv: KeyValue | None = None
        # Revisions of the delete markers this replica left: the expected revision next time.
        self._released: dict[str, int] = {}

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            js: Any = self._broker.connection.jetstream()
            try:
                self._kv = await js.key_value(NUMBER_LOCK_BUCKET)
            except NotFoundError:
                self._kv = await js.create_key_value(
                    config=KeyValueConfig(
                        bucket=NUMBER_LOCK_BUCKET,
                        history=1,
                        ttl=self._ttl_s,
                        storage=StorageType.FILE,
                    )
                )
        assert self._kv is not None
        return self._kv

    async def _write(self, key: str, value: bytes, last: int, *, delete: bool = False) -> int:
        """Write `key` only if its revision is `last` (0: absent); the new revision.

        Raises KeyWrongLastSequenceError when the key moved on.
        """
        await self._bucket()
        headers: dict[str, str] = {Header.EXPECTED_LAST_SUBJECT_SEQUENCE.value: str(last)}
        if delete:
            headers[KV_OP] = KV_DEL
        js = self._broker.connection.jetstream()
        try:
            ack = await js.publish(_SUBJECT_PREFIX + key, value, headers=headers)
        except APIError as exc:
            if exc.err_code == _WRONG_LAST_SEQUENCE:
                raise KeyWrongLastSequenceError(description=exc.description) from exc
            raise
        return int(ack.seq)

    async def _free_revision(self, key: str) -> int | None:
        """The revision to take `key` at when it is free (absent or deleted), None when held."""
        kv = await self._bucket()
        try:
            await kv.get(key)
        except KeyNotFoundError as exc:
            # A deleted key is "not found" too, carrying its delete marker's revision.
            entry = exc.entry
            return int(entry.revision or 0) if entry is not None else 0
        return None

    async def _acquire(self, number_id: str) -> _Lease:
        loop = asyncio.get_running_loop()
        key = lease_key(number_id)
        deadline = loop.time() + self._wait_s
        pause = _FIRST_POLL_S
        last: int | None = self._released.pop(key, 0)
        while True:
            try:
                if last is not None:
                    return _Lease(key, await self._write(key, self._holder, last))
            except KeyWrongLastSequenceError:
                pass  # held by another replica, or freed at a revision we did not know
            except Exception as exc:
                raise self._unavailable(number_id, exc) from exc
            try:
                last = await self._free_revision(key)
            except Exception as exc:
                raise self._unavailable(number_id, exc) from exc
            if last is not None:
                continue  # free: take it at that revision now
            if loop.time() + pause > deadline:
                raise NumberBusy(f"phone number {number_id} is being synced by another replica")
            await asyncio.sleep(pause)
            pause = min(_MAX_POLL_S, pause * 2)

    def _unavailable(self, number_id: str, exc: Exception) -> NumberBusy:
        # NATS away, or the bucket gone with a store that was wiped: look it up again next time.
        self._kv = None
        return NumberBusy(
            f"the lease of phone number {number_id} could not be taken ({type(exc).__name__})"
        )

    async def _release(self, lease: _Lease) -> None:
        try:
            marker = await self._write(lease.key, b"", lease.revision, delete=True)
        except KeyWrongLastSequenceError:
            return  # expired and perhaps taken by another replica: nothing of ours to free
        if len(self._released) >= _MAX_REMEMBERED:
            self._released.clear()
        self._released[lease.key] = marker

    async def run(self, number_id: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` holding the number's lease; NumberBusy if it cannot be taken or is lost."""
        lease = await self._acquire(number_id)
        job = asyncio.ensure_future(work())
        try:
            while True:
                done, _ = await asyncio.wait({job}, timeout=self._ttl_s / 3)
                if done:
                    return job.result()
                try:
                    lease.revision = await self._write(lease.key, self._holder, lease.revision)
                except Exception as exc:
                    lease.lost = True
                    log.warning(
                        "number_lease.lost",
                        phone_number_id=number_id,
                        error_type=type(exc).__name__,
                    )
                    raise NumberBusy(
                        f"the lease of phone number {number_id} was lost while it was synced"
                    ) from exc
        finally:
            if not job.done():
                job.cancel()
                # `wait`, not `await job`: the job's CancelledError is not ours to swallow or raise.
                await asyncio.wait({job})
            elif not job.cancelled():
                # The work ended (perhaps failing) while the renewal was being lost: NumberBusy
                # wins, and the work's own exception is retrieved rather than left to asyncio's
                # "Task exception was never retrieved".
                job.exception()
            if not lease.lost:
                try:
                    await self._release(lease)
                except Exception as exc:
                    # It expires after the TTL; the next sync of the number waits until then.
                    log.warning(
                        "number_lease.release_failed",
                        phone_number_id=number_id,
                        error_type=type(exc).__name__,
                    )
