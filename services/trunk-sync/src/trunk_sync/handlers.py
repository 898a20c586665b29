"""trunk-sync's work as plain async functions over its `Context` (the ports).

Level-triggered: an event only names a number; `sync_number` reads the number's current state from
numbers-api and makes LiveKit match it, so duplicates, replays and out-of-order events all end in
the latest state. `full_reconcile` does the same for every number and removes orphans.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import structlog
from opentelemetry import trace

from talkifai_common.consumers import RetryPolicy
from talkifai_common.destinations import DestinationError, ResolutionFailed, check_sip_destination
from talkifai_common.events import (
    CloudEvent,
    EventName,
    LiveKitResources,
    PhoneNumberData,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from talkifai_common.internal_api import InternalPhoneNumber, OutboundCredentials
from trunk_sync.adapters.livekit import LiveKitPort
from trunk_sync.adapters.numbers_api import NumbersPort
from trunk_sync.domain import (
    Desired,
    Holdings,
    LiveKitRefused,
    Observed,
    ObservedInbound,
    ObservedOutbound,
    SpecT,
    StaleRead,
    TerminationRefused,
    TerminationUnresolved,
    TrunkSyncError,
    desired_state,
    in_sync,
    plan_kind,
    resources_of,
    with_trunk,
)

SOURCE = "trunk-sync"
log = structlog.get_logger(__name__)
tracer = trace.get_tracer("trunk_sync")
T = TypeVar("T")


class ResultSink(Protocol):
    """Where sync results and dead letters go (the bus)."""

    async def publish(self, event: CloudEvent[PhoneNumberSyncData]) -> None: ...

    async def dead_letter(
        self, subject: str, payload: bytes, *, reason: str, error: str, deliveries: int
    ) -> None: ...


@dataclass
class Index:
    """The LiveKit resource ids last seen for each number (to find them after an e164 change)."""

    ids: dict[str, Holdings] = field(default_factory=dict)

    def known(self, number_id: str) -> Holdings:
        """What this replica last saw for the number."""
        return self.ids.get(number_id, Holdings())

    def remember(self, number_id: str, held: Holdings) -> None:
        """Record the number's resources (empty: forget it)."""
        if held.inbound or held.outbound or held.rules:
            self.ids[number_id] = held
        else:
            self.ids.pop(number_id, None)

    def replace(self, groups: dict[str, Holdings]) -> None:
        """Start over from a full listing."""
        self.ids = dict(groups)


class NumberLeases(Protocol):
    """One replica at a time for a number, across replicas (`adapters.locks`, NATS KV)."""

    async def run(self, number_id: str, work: Callable[[], Awaitable[T]]) -> T: ...


class SoleReplica:
    """NumberLeases for a replica that runs alone (handler tests, benchmarks): always granted."""

    async def run(self, number_id: str, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work`."""
        return await work()


class NumberLocks:
    """One sync of a number at a time: in this replica by a lock, across replicas by a lease.

    A run that *started* after a message arrived read a state at least as new as that message, so
    once it succeeded the message needs no run of its own (bursts on one number coalesce). The
    lease is taken after the local lock, so a replica's own waiters never poll NATS.
    """

    def __init__(self, leases: NumberLeases | None = None) -> None:
        self._leases: NumberLeases = leases or SoleReplica()
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._clock = itertools.count(1)

    def ticket(self) -> int:
        """A point in this replica's time, taken when a message arrives."""
        return next(self._clock)

    async def run(
        self, number_id: str, ticket: int, work: Callable[[], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """(True, result) after running `work` alone for the number; (False, None) if covered."""
        lock = self._locks.setdefault(number_id, asyncio.Lock())
        self._users[number_id] = self._users.get(number_id, 0) + 1
        try:
            async with lock:
                if self._done.get(number_id, 0) > ticket:
                    return False, None
                started = next(self._clock)
                result = await self._leases.run(number_id, work)
                if len(self._done) > 200_000:
                    self._done.clear()
                self._done[number_id] = started
                return True, result
        finally:
            self._users[number_id] -= 1
            if not self._users[number_id]:
                del self._users[number_id]
                self._locks.pop(number_id, None)


@dataclass
class Context:
    """Everything the handlers talk to."""

    livekit: LiveKitPort
    numbers: NumbersPort
    results: ResultSink
    index: Index = field(default_factory=Index)
    locks: NumberLocks = field(default_factory=NumberLocks)
    # ALLOW_PRIVATE_SIP_DESTINATIONS: off unless main() says so, so a forgotten flag stays safe.
    allow_private_sip: bool = False


@dataclass(frozen=True)
class Synced:
    """LiveKit holds the number's state at `number.version`."""

    number: InternalPhoneNumber
    resources: LiveKitResources
    wrote: bool


@dataclass(frozen=True)
class Refused:
    """LiveKit refused the number's desired state; `error` is LiveKit's message."""

    number: InternalPhoneNumber
    error: str


@dataclass(frozen=True)
class Gone:
    """The number no longer exists; its resources were deleted."""

    number_id: str
    deleted: int


Outcome = Synced | Refused | Gone
MAX_READS = 3


def _mine(number_id: str, items: Iterable[Observed[SpecT]]) -> list[Observed[SpecT]]:
    return [o for o in items if o.spec.meta and o.spec.meta.phone_number_id == number_id]


async def lookup(ctx: Context, number_id: str, numbers: set[str]) -> Holdings:
    """The managed resources naming the number: by its numbers, plus the ids last seen for it."""
    lk, known = ctx.livekit, ctx.index.known(number_id)
    wanted = sorted(n for n in numbers if n)
    inbound: list[ObservedInbound] = []
    outbound: list[ObservedOutbound] = []
    if wanted:  # an empty filter would list every trunk
        found_in, found_out = await asyncio.gather(
            lk.list_inbound_trunks(numbers=wanted), lk.list_outbound_trunks(numbers=wanted)
        )
        inbound, outbound = _mine(number_id, found_in), _mine(number_id, found_out)
    extra_in = sorted({o.id for o in known.inbound} - {o.id for o in inbound})
    extra_out = sorted({o.id for o in known.outbound} - {o.id for o in outbound})
    if extra_in:
        inbound += _mine(number_id, await lk.list_inbound_trunks(trunk_ids=extra_in))
    if extra_out:
        outbound += _mine(number_id, await lk.list_outbound_trunks(trunk_ids=extra_out))
    rules = (
        _mine(number_id, await lk.list_dispatch_rules(trunk_ids=[o.id for o in inbound]))
        if inbound
        else []
    )
    extra_rules = sorted({r.id for r in known.rules} - {r.id for r in rules})
    if extra_rules:
        rules += _mine(number_id, await lk.list_dispatch_rules(rule_ids=extra_rules))
    return Holdings(inbound, outbound, rules)


async def _delete_all(ctx: Context, held: Holdings) -> int:
    for rule in held.rules:
        await ctx.livekit.delete_dispatch_rule(rule.id)
    for trunk_id in [o.id for o in held.inbound] + [o.id for o in held.outbound]:
        await ctx.livekit.delete_trunk(trunk_id)
    return len(held.rules) + len(held.inbound) + len(held.outbound)


def _password(desired: Desired, creds: OutboundCredentials | None) -> str:
    """The SIP password for the outbound trunk, read for exactly the version being written."""
    if desired.outbound is None or not desired.outbound.has_password:
        return ""
    if creds is None or creds.version != desired.version:
        raise StaleRead("the number changed while its outbound trunk was being written")
    return creds.sip_password.get_secret_value() if creds.sip_password else ""


async def check_termination(address: str, *, allow_private: bool) -> None:
    """The address LiveKit will dial, checked against the destination policy before we write it."""
    try:
        await check_sip_destination(address, allow_private=allow_private)
    except ResolutionFailed as exc:
        raise TerminationUnresolved(str(exc)) from exc
    except DestinationError as exc:
        raise TerminationRefused(str(exc)) from exc


async def apply(
    ctx: Context,
    desired: Desired,
    held: Holdings,
    creds: OutboundCredentials | None,
    *,
    inbound_first: bool = False,
) -> tuple[LiveKitResources, bool]:
    """Make LiveKit hold `desired`, updating in place; the resource ids and whether we wrote."""
    lk = ctx.livekit
    inbound = plan_kind(desired.inbound, held.inbound)
    outbound = plan_kind(desired.outbound, held.outbound)
    if desired.outbound is not None and (outbound.create or outbound.rewrite):
        await check_termination(desired.outbound.address, allow_private=ctx.allow_private_sip)
    wrote = bool(inbound.delete or outbound.delete)
    # Duplicates go first, so that the one kept may take their number.
    for trunk_id in (*inbound.delete, *outbound.delete):
        await lk.delete_trunk(trunk_id)

    async def write_inbound() -> str:
        if inbound.keep is None:
            return await lk.create_inbound_trunk(desired.inbound)
        if inbound.rewrite:
            await lk.update_inbound_trunk(inbound.keep.id, desired.inbound)
        return inbound.keep.id

    async def write_outbound() -> str | None:
        if desired.outbound is None:
            return None
        if outbound.keep is None:
            return await lk.create_outbound_trunk(desired.outbound, _password(desired, creds))
        if outbound.rewrite:
            await lk.update_outbound_trunk(
                outbound.keep.id, desired.outbound, _password(desired, creds)
            )
        return outbound.keep.id

    # The two trunks are independent: written together. The rule needs the inbound trunk's id.
    # `inbound_first`: nothing was looked up, and LiveKit refusing a second inbound trunk for
    # the number is what tells us the number has trunks already (then we look them up).
    if inbound_first:
        inbound_id = await write_inbound()
        outbound_id = await write_outbound()
    else:
        inbound_id, outbound_id = await asyncio.gather(write_inbound(), write_outbound())
    wrote = wrote or inbound.create or inbound.rewrite or outbound.create or outbound.rewrite
    want_rule = with_trunk(desired.rule, inbound_id) if desired.rule else None
    rule = plan_kind(want_rule, held.rules)
    for stale_rule_id in rule.delete:
        await lk.delete_dispatch_rule(stale_rule_id)
        wrote = True
    rule_id: str | None = None
    if want_rule is not None:
        if rule.keep is None:
            rule_id = await lk.create_dispatch_rule(want_rule)
            wrote = True
        else:
            rule_id = rule.keep.id
            if rule.rewrite:
                await lk.update_dispatch_rule(rule_id, want_rule)
                wrote = True
    return resources_of(inbound_id, outbound_id, rule_id), wrote


def _held_after(number_id: str, resources: LiveKitResources, desired: Desired) -> Holdings:
    held = Holdings()
    if resources.inbound_trunk_id:
        held.inbound.append(Observed(resources.inbound_trunk_id, desired.inbound))
    if resources.outbound_trunk_id and desired.outbound:
        held.outbound.append(Observed(resources.outbound_trunk_id, desired.outbound))
    if resources.dispatch_rule_id and desired.rule:
        held.rules.append(Observed(resources.dispatch_rule_id, desired.rule))
    return held


async def sync_number(
    ctx: Context, number_id: str, hints: Iterable[str] = (), *, created: bool = False
) -> Outcome:
    """Read the number's current state and make LiveKit hold it (or delete it if it is gone).

    `hints` are phone numbers the number had (from the event), to find trunks after a change.
    `created`: the trigger was the number's creation, so when it is still at version 1 and this
    replica knows no resources of it, the lookup is skipped (LiveKit listing every trunk is the
    costly part at scale) and a refused inbound trunk sends us back to the careful path.
    Raises a retryable TrunkSyncError when numbers-api or LiveKit cannot be asked.
    """
    with tracer.start_as_current_span("trunk_sync.sync_number") as span:
        span.set_attribute("phone_number.id", number_id)
        numbers = set(hints)
        refused: LiveKitRefused | None = None
        for attempt in range(MAX_READS):
            optimistic = created and attempt == 0 and not ctx.index.known(number_id).ids()
            if optimistic:
                number, creds = await ctx.numbers.number_for_sync(number_id)
                optimistic = number is not None and number.version == 1
                held = Holdings() if optimistic else await lookup(ctx, number_id, numbers)
            else:
                # The read and the lookup by the numbers we know of go together.
                (number, creds), held = await asyncio.gather(
                    ctx.numbers.number_for_sync(number_id), lookup(ctx, number_id, numbers)
                )
            if number is None:
                deleted = await _delete_all(ctx, held)
                ctx.index.remember(number_id, Holdings())
                return Gone(number_id, deleted)
            if number.phone_number not in numbers and not optimistic:
                numbers.add(number.phone_number)
                held = await lookup(ctx, number_id, numbers)
            if held.newest_version() > number.version:
                # Another replica wrote a newer version than we read: read again.
                continue
            desired = desired_state(number)
            span.set_attribute("phone_number.version", number.version)
            try:
                resources, wrote = await apply(ctx, desired, held, creds, inbound_first=optimistic)
            except StaleRead:
                continue
            except TerminationRefused as exc:
                return Refused(number, exc.detail)
            except LiveKitRefused as exc:
                # A refusal may come from a concurrent writer of the same number: look again once.
                refused = exc
                if attempt == 0:
                    continue
                return Refused(number, exc.detail)
            ctx.index.remember(number_id, _held_after(number_id, resources, desired))
            return Synced(number, resources, wrote)
        if refused is not None and number is not None:
            return Refused(number, refused.detail)
        raise StaleRead(f"phone number {number_id} kept changing while it was synced")


def sync_event(
    number_id: str,
    phone_number: str,
    org_id: str,
    version: int,
    state: SyncState,
    *,
    error: str | None = None,
    resources: LiveKitResources | None = None,
) -> CloudEvent[PhoneNumberSyncData]:
    """A `synced` / `sync_failed` event with a fresh id.

    Never an id derived from the content: a corrective result equal to an earlier one (a reconcile
    after an outage) would be dropped by JetStream's duplicate window. Consumers are idempotent by
    (number, version) instead.
    """
    name = (
        EventName.PHONE_NUMBER_SYNCED
        if state is SyncState.SYNCED
        else EventName.PHONE_NUMBER_SYNC_FAILED
    )
    data = PhoneNumberSyncData(
        phone_number_id=number_id,
        phone_number=phone_number,
        version=version,
        state=state,
        error=error,
        resources=resources or LiveKitResources(),
        at=datetime.now(UTC),
    )
    return new_event(name, source=SOURCE, subject=number_id, orgid=org_id, data=data)


async def report(ctx: Context, outcome: Outcome) -> None:
    """Publish the outcome's `synced` / `sync_failed` (nothing for a deleted number)."""
    if isinstance(outcome, Synced):
        n = outcome.number
        await ctx.results.publish(
            sync_event(
                n.id,
                n.phone_number,
                n.org_id,
                n.version,
                SyncState.SYNCED,
                resources=outcome.resources,
            )
        )
        log.info(
            "sync.synced",
            phone_number_id=n.id,
            version=n.version,
            wrote=outcome.wrote,
            inbound_trunk_id=outcome.resources.inbound_trunk_id,
            outbound_trunk_id=outcome.resources.outbound_trunk_id,
            dispatch_rule_id=outcome.resources.dispatch_rule_id,
        )
    elif isinstance(outcome, Refused):
        n = outcome.number
        await ctx.results.publish(
            sync_event(
                n.id, n.phone_number, n.org_id, n.version, SyncState.FAILED, error=outcome.error
            )
        )
        log.warning("sync.refused", phone_number_id=n.id, version=n.version, error=outcome.error)
    else:
        log.info("sync.deleted", phone_number_id=outcome.number_id, deleted=outcome.deleted)


@dataclass(frozen=True)
class Ack:
    """Done with the message."""

    reason: str


@dataclass(frozen=True)
class Retry:
    """Redeliver after `delay_s`."""

    delay_s: float
    error: str


Disposition = Ack | Retry


def error_text(exc: BaseException) -> str:
    """A message for events and logs: ours verbatim, anything else only by type (no secrets)."""
    if isinstance(exc, TrunkSyncError):
        return exc.detail
    return f"internal error ({type(exc).__name__})"


async def on_malformed_event(
    ctx: Context, *, subject: str, payload: bytes, delivered: int, error: str
) -> None:
    """Dead-letter a `telephony.phone_number.*` message that is not a phone number event."""
    await ctx.results.dead_letter(
        subject, payload, reason="malformed", error=error, deliveries=delivered
    )
    log.error("event.malformed", subject=subject, error=error)


async def on_number_event(
    ctx: Context,
    policy: RetryPolicy,
    event: CloudEvent[PhoneNumberData],
    *,
    subject: str,
    payload: bytes,
    delivered: int,
    ticket: int,
) -> Disposition:
    """Handle one `telephony.phone_number.*` event: sync the number it names."""
    data = event.data
    try:
        ran, outcome = await ctx.locks.run(
            data.id,
            ticket,
            lambda: sync_number(
                ctx,
                data.id,
                {data.phone_number},
                created=event.name is EventName.PHONE_NUMBER_CREATED,
            ),
        )
        if not ran or outcome is None:
            return Ack("covered by a later sync")
        await report(ctx, outcome)
        return Ack(type(outcome).__name__.lower())
    except Exception as exc:
        error = error_text(exc)
        retryable = not isinstance(exc, TrunkSyncError) or exc.retryable
        if retryable and delivered < policy.max_deliveries:
            delay = policy.delay(delivered)
            log.warning(
                "sync.retry",
                phone_number_id=data.id,
                delivered=delivered,
                retry_in_s=round(delay, 3),
                error=error,
                error_type=type(exc).__name__,
            )
            return Retry(delay, error)
        failure = f"gave up after {delivered} tries: {error}"
        await ctx.results.dead_letter(
            subject,
            payload,
            reason="exhausted" if retryable else "permanent",
            error=failure,
            deliveries=delivered,
        )
        await ctx.results.publish(
            sync_event(
                data.id,
                data.phone_number,
                event.orgid,
                data.version,
                SyncState.FAILED,
                error=failure,
            )
        )
        log.error("sync.dead_lettered", phone_number_id=data.id, delivered=delivered, error=error)
        return Ack("dead-lettered")


@dataclass
class ReconcileReport:
    """What a full reconcile found and did."""

    numbers: int = 0
    in_sync: int = 0
    repaired: int = 0
    refused: int = 0
    orphans_removed: int = 0
    errors: int = 0


async def full_reconcile(ctx: Context, *, concurrency: int = 16) -> ReconcileReport:
    """List what LiveKit holds, repair every number that drifted, delete orphans.

    Numbers already in sync cost no LiveKit write (and no credentials request).
    """
    with tracer.start_as_current_span("trunk_sync.full_reconcile"):
        lk = ctx.livekit
        inbound, outbound, rules = await asyncio.gather(
            lk.list_inbound_trunks(), lk.list_outbound_trunks(), lk.list_dispatch_rules()
        )
        groups = Holdings(inbound, outbound, rules).by_number()
        ctx.index.replace(groups)
        report_ = ReconcileReport()
        seen: set[str] = set()
        gate = asyncio.Semaphore(concurrency)
        tasks: list[asyncio.Task[None]] = []

        async def repair(number_id: str, hints: set[str], orphan: bool) -> None:
            async with gate:
                try:
                    ran, outcome = await ctx.locks.run(
                        number_id,
                        ctx.locks.ticket(),
                        lambda: sync_number(ctx, number_id, hints),
                    )
                except Exception as exc:
                    report_.errors += 1
                    log.warning(
                        "reconcile.repair_failed", phone_number_id=number_id, error=error_text(exc)
                    )
                    return
            if not ran or outcome is None:
                return
            if isinstance(outcome, Gone):
                report_.orphans_removed += 1 if orphan and outcome.deleted else 0
            elif isinstance(outcome, Refused):
                report_.refused += 1
            else:
                report_.repaired += 1
            await report(ctx, outcome)

        async for page in ctx.numbers.all_numbers():
            for number in page:
                report_.numbers += 1
                seen.add(number.id)
                held = groups.get(number.id, Holdings())
                if in_sync(desired_state(number), held):
                    report_.in_sync += 1
                    if number.sync.state is not SyncState.SYNCED:
                        await ctx.results.publish(_synced_from(number, held))
                    continue
                hints = {number.phone_number} | {
                    o.spec.numbers[0] for o in held.inbound if o.spec.numbers
                }
                tasks.append(asyncio.create_task(repair(number.id, hints, orphan=False)))
        for number_id, held in groups.items():
            if number_id not in seen:
                # Confirmed by sync_number's own read: only a 404 deletes anything.
                hints = {o.spec.meta.phone_number for o in held.inbound if o.spec.meta}
                tasks.append(asyncio.create_task(repair(number_id, hints, orphan=True)))
        if tasks:
            await asyncio.gather(*tasks)
        log.info("reconcile.done", **report_.__dict__)
        return report_


def _synced_from(number: InternalPhoneNumber, held: Holdings) -> CloudEvent[PhoneNumberSyncData]:
    resources = resources_of(
        held.inbound[0].id if held.inbound else None,
        held.outbound[0].id if held.outbound else None,
        held.rules[0].id if held.rules else None,
    )
    return sync_event(
        number.id,
        number.phone_number,
        number.org_id,
        number.version,
        SyncState.SYNCED,
        resources=resources,
    )
