"""Per-number leases in NATS KV: one replica at a time, fenced, expiring with a dead holder."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from talkifai_common.bus import create_broker
from tests.support.trunk_sync import eventually
from trunk_sync.adapters.locks import NUMBER_LOCK_BUCKET, KvNumberLeases
from trunk_sync.domain import NumberBusy

TTL_S = 0.6


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    """A connected broker, with the lease bucket removed (it is made again with this TTL)."""
    broker = create_broker(nats_url, name="lease-test")
    await broker.connect()
    with contextlib.suppress(NotFoundError):
        await broker.connection.jetstream().delete_key_value(NUMBER_LOCK_BUCKET)
    yield broker
    await broker.stop()


async def _renewed(kv: KeyValue, key: str, revision: int) -> bool:
    entry = await kv.get(key)
    return (entry.revision or 0) >= revision


def replica(broker: NatsBroker, name: str, wait_s: float = 0.0) -> KvNumberLeases:
    """The leases of one replica."""
    return KvNumberLeases(broker, name, ttl_s=TTL_S, wait_s=wait_s)


async def test_a_number_held_by_one_replica_is_busy_for_another_and_free_once_released(
    broker: NatsBroker,
) -> None:
    first, second = replica(broker, "a"), replica(broker, "b")
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def hold() -> str:
        inside.set()
        await leave.wait()
        return "done"

    holding = asyncio.create_task(first.run("pn_1", hold))
    await inside.wait()
    with pytest.raises(NumberBusy, match="being synced by another replica"):
        await second.run("pn_1", lambda: asyncio.sleep(0, "never"))
    assert await second.run("pn_2", lambda: asyncio.sleep(0, "other number")) == "other number"
    leave.set()
    assert await holding == "done"
    assert await second.run("pn_1", lambda: asyncio.sleep(0, "mine now")) == "mine now"


async def test_a_waiting_replica_gets_the_number_when_the_holder_is_done(
    broker: NatsBroker,
) -> None:
    first, second = replica(broker, "a"), replica(broker, "b", wait_s=5.0)
    order: list[str] = []
    inside = asyncio.Event()

    async def slow() -> None:
        inside.set()
        await asyncio.sleep(0.05)
        order.append("first")

    async def after() -> None:
        order.append("second")

    holding = asyncio.create_task(first.run("pn_1", slow))
    await inside.wait()
    await second.run("pn_1", after)
    await holding
    assert order == ["first", "second"]


async def test_a_lease_outliving_its_ttl_is_renewed_while_the_work_runs(
    broker: NatsBroker,
) -> None:
    first, second = replica(broker, "a"), replica(broker, "b")
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def long() -> None:
        inside.set()
        await leave.wait()

    holding = asyncio.create_task(first.run("pn_1", long))
    await inside.wait()
    kv = await broker.connection.jetstream().key_value(NUMBER_LOCK_BUCKET)
    taken = (await kv.get("pn_1")).revision or 0
    # Once the holder renewed three times (past one TTL), the number is still taken.
    await eventually(lambda: _renewed(kv, "pn_1", taken + 3), within_s=10 * TTL_S)
    with pytest.raises(NumberBusy):
        await second.run("pn_1", lambda: asyncio.sleep(0))
    leave.set()
    await holding


async def test_a_lease_taken_over_stops_the_work_before_it_writes_again(
    broker: NatsBroker,
) -> None:
    first = replica(broker, "a")
    inside = asyncio.Event()
    writes: list[int] = []

    async def writer() -> None:
        inside.set()
        try:
            for i in range(1000):
                writes.append(i)
                await asyncio.sleep(TTL_S / 10)
        except asyncio.CancelledError:
            writes.append(-1)
            raise

    holding = asyncio.create_task(first.run("pn_1", writer))
    await inside.wait()
    # Another replica overwrote the key (as after an expiry): the holder's revision is stale.
    kv = await broker.connection.jetstream().key_value(NUMBER_LOCK_BUCKET)
    await kv.put("pn_1", b"b")
    with pytest.raises(NumberBusy, match="was lost"):
        await holding
    # Stopped at the first renewal after the takeover, long before its thousand writes.
    assert writes[-1] == -1
    assert len(writes) < 20
    # The lease it lost is not released by it: the other replica's entry stays.
    assert (await kv.get("pn_1")).value == b"b"


async def test_the_lease_of_a_replica_that_died_expires_after_the_ttl(
    broker: NatsBroker,
) -> None:
    kv_owner, waiter = replica(broker, "dead"), replica(broker, "b", wait_s=10 * TTL_S)
    # A replica that took the lease and died without releasing it: only the entry remains.
    await kv_owner.run("pn_0", lambda: asyncio.sleep(0))  # the bucket exists now
    kv = await broker.connection.jetstream().key_value(NUMBER_LOCK_BUCKET)
    await kv.create("pn_1", b"dead")
    assert await waiter.run("pn_1", lambda: asyncio.sleep(0, "taken over")) == "taken over"


async def test_an_id_that_is_not_a_valid_key_still_gets_a_lease_of_its_own(
    broker: NatsBroker,
) -> None:
    first, second = replica(broker, "a"), replica(broker, "b")
    odd = "pn with spaces/and.dots*"
    inside, leave = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        inside.set()
        await leave.wait()

    holding = asyncio.create_task(first.run(odd, hold))
    await inside.wait()
    with pytest.raises(NumberBusy, match="being synced by another replica"):
        await second.run(odd, lambda: asyncio.sleep(0))
    assert await second.run("pn with spaces", lambda: asyncio.sleep(0, "ok")) == "ok"
    leave.set()
    await holding


async def test_a_number_released_by_one_replica_is_taken_by_another_without_waiting_for_expiry(
    broker: NatsBroker,
) -> None:
    ttl_s = 30.0  # long: taking the number before half of it proves it was free, not expired
    first = KvNumberLeases(broker, "a", ttl_s=ttl_s, wait_s=0)
    second = KvNumberLeases(broker, "b", ttl_s=ttl_s, wait_s=0)
    await first.run("pn_1", lambda: asyncio.sleep(0))
    # The second replica never saw the delete marker the first one left behind.
    async with asyncio.timeout(ttl_s / 2):
        assert await second.run("pn_1", lambda: asyncio.sleep(0, "taken")) == "taken"
    async with asyncio.timeout(ttl_s / 2):
        assert await first.run("pn_1", lambda: asyncio.sleep(0, "again")) == "again"


async def test_work_failing_while_the_lease_is_lost_leaves_no_unretrieved_exception(
    broker: NatsBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = replica(broker, "a")
    renewing = asyncio.Event()
    failed = asyncio.Event()
    unhandled: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    write = first._write

    async def renewal_after_the_work_failed(key: str, value: bytes, last: int, **kw: bool) -> int:
        if value and last:  # a renewal (not the take, not the release)
            renewing.set()
            await failed.wait()
            kv = await broker.connection.jetstream().key_value(NUMBER_LOCK_BUCKET)
            await kv.put(key, b"b")  # taken over meanwhile: this renewal fails
        return await write(key, value, last, **kw)

    async def work() -> None:
        await renewing.wait()
        failed.set()
        raise RuntimeError("numbers-api unreachable")

    monkeypatch.setattr(first, "_write", renewal_after_the_work_failed)
    try:
        with pytest.raises(NumberBusy, match="was lost"):
            await first.run("pn_1", work)
        gc.collect()
        assert not [c for c in unhandled if "never retrieved" in str(c.get("message"))]
    finally:
        loop.set_exception_handler(None)
