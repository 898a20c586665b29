"""Syncing one number: read its current state, look up what LiveKit holds, apply the difference."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from opentelemetry import trace

from talkifai_common.destinations import DestinationError, ResolutionFailed, check_sip_destination
from talkifai_common.events import LiveKitResources
from talkifai_common.internal_api import InternalPhoneNumber, TrunkCredentials
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
    desired_state,
    plan_kind,
    resources_of,
    with_trunk,
)
from trunk_sync.handlers.context import Context

tracer = trace.get_tracer("trunk_sync")


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


def _password(
    desired: Desired, creds: TrunkCredentials | None, direction: Literal["inbound", "outbound"]
) -> str:
    """A trunk's SIP password, read for exactly the version being written."""
    spec = desired.inbound if direction == "inbound" else desired.outbound
    if spec is None or not spec.has_password:
        return ""
    if creds is None or creds.version != desired.version:
        raise StaleRead(f"the number changed while its {direction} trunk was being written")
    secret = creds.inbound_auth_password if direction == "inbound" else creds.sip_password
    return secret.get_secret_value() if secret else ""


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
    creds: TrunkCredentials | None,
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
            return await lk.create_inbound_trunk(
                desired.inbound, _password(desired, creds, "inbound")
            )
        if inbound.rewrite:
            await lk.update_inbound_trunk(
                inbound.keep.id, desired.inbound, _password(desired, creds, "inbound")
            )
        return inbound.keep.id

    async def write_outbound() -> str | None:
        if desired.outbound is None:
            return None
        if outbound.keep is None:
            return await lk.create_outbound_trunk(
                desired.outbound, _password(desired, creds, "outbound")
            )
        if outbound.rewrite:
            await lk.update_outbound_trunk(
                outbound.keep.id, desired.outbound, _password(desired, creds, "outbound")
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
