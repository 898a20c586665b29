"""What LiveKit should hold for a phone number, and the plan that gets it there (no I/O).

Per number (ARCHITECTURE.md): one inbound trunk (`numbers=[e164]`, accepting calls only from
the carrier: its signalling ranges as `allowed_addresses` and/or the number's inbound digest
credentials, unless the number accepts any source; the number's media encryption); one dispatch rule while an
inbound agent is assigned (a room per call, `talkifai-agent` dispatched with an `InboundJob` of
`talkifai_common.jobs` naming the agent, number and organization); one outbound trunk while the
number has a termination URI. Every resource we manage carries `ResourceMetadata` JSON
(`managed_by: talkifai`), which is how a full reconcile tells ours from anybody else's, finds
drift and orphans, and never touches the rest.

Errors:
    TrunkSyncError              base; `retryable` says whether trying again may help
    ├── NumbersApiUnavailable   numbers-api did not answer or answered 5xx (retryable)
    ├── LiveKitUnavailable      LiveKit did not answer or answered 5xx/unavailable (retryable)
    ├── StaleRead               another writer holds a newer version, or a resource vanished
    │                           under us (retryable: read again)
    ├── NumberBusy              another replica holds the number's lease, or the lease could not
    │                           be taken or kept (retryable)
    ├── LiveKitRefused          LiveKit refused the desired state (validation, conflict): permanent
    ├── TerminationRefused      the termination host is not a globally routable destination
    │                           (`talkifai_common.destinations`): permanent
    └── TerminationUnresolved   the termination host could not be resolved now (retryable)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from talkifai_common import carriers
from talkifai_common.events import (
    LiveKitResources,
    MediaEncryption,
    SipTransport,
)
from talkifai_common.internal_api import InternalPhoneNumber
from talkifai_common.jobs import InboundJob

MANAGED_BY = "talkifai"
AGENT_NAME = "talkifai-agent"
ROOM_PREFIX = "inbound"


class TrunkSyncError(Exception):
    """Base of trunk-sync's deliberate errors."""

    retryable = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NumbersApiUnavailable(TrunkSyncError):
    """numbers-api could not be asked."""

    retryable = True


class LiveKitUnavailable(TrunkSyncError):
    """LiveKit could not be asked."""

    retryable = True


class StaleRead(TrunkSyncError):
    """What we read is older than what LiveKit holds, or changed while we wrote."""

    retryable = True


class NumberBusy(TrunkSyncError):
    """The number's lease (one replica at a time) is held elsewhere, or could not be taken or kept."""

    retryable = True


class LiveKitRefused(TrunkSyncError):
    """LiveKit refused the change; `detail` is LiveKit's own message."""


class TerminationRefused(TrunkSyncError):
    """The outbound trunk would send calls to a host we must not reach."""


class TerminationUnresolved(TrunkSyncError):
    """The termination host could not be resolved now, so it could not be checked."""

    retryable = True


class ResourceMetadata(BaseModel):
    """The JSON in the `metadata` of every LiveKit resource trunk-sync manages."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    managed_by: Literal["talkifai"] = "talkifai"
    phone_number_id: str
    phone_number: str
    org_id: str
    version: int | None = Field(
        default=None,
        description="Trunks with a password only: the number version whose credentials the "
        "trunk holds.",
    )
    password_digest: str | None = Field(
        default=None,
        description="Trunks with a password only: a keyed digest of the password we wrote, so a password "
        "changed by hand in LiveKit shows as drift without reading ours (the LiveKit adapter "
        "writes and checks it; the domain never sees it).",
    )

    @classmethod
    def parse(cls, raw: str) -> ResourceMetadata | None:
        """Our metadata, or None for a resource somebody else manages (or unparseable JSON)."""
        if MANAGED_BY not in raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None

    def dump(self) -> str:
        """Compact JSON, keys in a fixed order (no version on trunks that carry none)."""
        return self.model_dump_json(exclude_none=True)


def dispatched_job(raw: str) -> InboundJob | None:
    """The inbound job a rule's agent dispatch carries, None when it is not one we write."""
    try:
        return InboundJob.model_validate_json(raw)
    except ValidationError:
        return None


@dataclass(frozen=True)
class InboundTrunkSpec:
    """An inbound trunk as we want it (or as LiveKit holds it), its password as present or not."""

    name: str
    numbers: tuple[str, ...]
    allowed_addresses: tuple[str, ...]
    auth_username: str
    has_password: bool
    media_encryption: MediaEncryption
    meta: ResourceMetadata | None
    foreign: bool = False  # LiveKit holds fields we never set (edited by hand)


@dataclass(frozen=True)
class OutboundTrunkSpec:
    """An outbound trunk without its password (compared separately: presence only)."""

    name: str
    address: str
    numbers: tuple[str, ...]
    auth_username: str
    has_password: bool
    transport: SipTransport
    media_encryption: MediaEncryption
    headers: tuple[tuple[str, str], ...]  # sorted by name
    meta: ResourceMetadata | None
    foreign: bool = False


@dataclass(frozen=True)
class DispatchRuleSpec:
    """A dispatch rule: an individual room per call, one agent dispatch, one trunk."""

    name: str
    room_prefix: str | None  # None: not an individual-room rule
    trunk_ids: tuple[str, ...]
    agents: tuple[tuple[str, InboundJob | None], ...]
    meta: ResourceMetadata | None
    foreign: bool = False


SpecT = TypeVar("SpecT", InboundTrunkSpec, OutboundTrunkSpec, DispatchRuleSpec)


@dataclass(frozen=True)
class Observed(Generic[SpecT]):
    """A resource LiveKit holds: its id and what it says."""

    id: str
    spec: SpecT


ObservedInbound = Observed[InboundTrunkSpec]
ObservedOutbound = Observed[OutboundTrunkSpec]
ObservedRule = Observed[DispatchRuleSpec]


@dataclass
class Holdings:
    """What LiveKit holds that we manage, for one number or for all."""

    inbound: list[ObservedInbound] = field(default_factory=list)
    outbound: list[ObservedOutbound] = field(default_factory=list)
    rules: list[ObservedRule] = field(default_factory=list)

    def of(self, number_id: str) -> Holdings:
        """Only the resources naming this number."""

        def mine(items: Iterable[Observed[SpecT]]) -> list[Observed[SpecT]]:
            return [o for o in items if o.spec.meta and o.spec.meta.phone_number_id == number_id]

        return Holdings(mine(self.inbound), mine(self.outbound), mine(self.rules))

    def by_number(self) -> dict[str, Holdings]:
        """Managed resources grouped by the number id their metadata names."""
        groups: dict[str, Holdings] = {}
        for o in self.inbound:
            if o.spec.meta:
                groups.setdefault(o.spec.meta.phone_number_id, Holdings()).inbound.append(o)
        for p in self.outbound:
            if p.spec.meta:
                groups.setdefault(p.spec.meta.phone_number_id, Holdings()).outbound.append(p)
        for r in self.rules:
            if r.spec.meta:
                groups.setdefault(r.spec.meta.phone_number_id, Holdings()).rules.append(r)
        return groups

    def everything(self) -> list[Observed[Any]]:
        """Every resource held, of any kind."""
        return [*self.inbound, *self.outbound, *self.rules]

    def ids(self) -> set[str]:
        """Every resource id held."""
        return {o.id for o in self.everything()}

    def newest_version(self) -> int:
        """The highest number version any of these resources was written from (0 if none)."""
        metas = [o.spec.meta for o in self.everything()]
        return max((m.version for m in metas if m is not None and m.version), default=0)


@dataclass(frozen=True)
class Desired:
    """The LiveKit resources one version of a number should have (trunk ids not yet known)."""

    number_id: str
    phone_number: str
    org_id: str
    version: int
    inbound: InboundTrunkSpec
    rule: DispatchRuleSpec | None  # `trunk_ids` empty: filled with the inbound trunk's id
    outbound: OutboundTrunkSpec | None


def desired_state(number: InternalPhoneNumber) -> Desired:
    """The desired LiveKit state of a number, from numbers-api's view of it (its carrier
    profile's defaults under its own overrides, `talkifai_common.carriers`)."""
    # Only trunks with a password name the version: a password may change with any version,
    # while the rest changes only with fields the spec holds, so most changes leave trunks
    # without passwords, and the rule, alone (and a full reconcile still sees a stale password
    # by the version).
    meta = ResourceMetadata(
        phone_number_id=number.id, phone_number=number.phone_number, org_id=number.org_id
    )
    versioned = meta.model_copy(update={"version": number.version})
    settings = carriers.effective_settings(
        carrier=number.carrier,
        inbound_allowed_addresses=number.inbound_allowed_addresses,
        number_format=number.number_format,
        sip_headers=number.sip_headers,
        sip_username=number.sip_username,
    )
    e164 = number.phone_number
    # LiveKit accepts any source when `allowed_addresses` is empty.
    sources = () if number.inbound_allow_any_source else settings.inbound_allowed_addresses
    inbound_auth = bool(number.inbound_auth_username and number.has_inbound_auth_password)
    inbound = InboundTrunkSpec(
        name=f"talkifai inbound {e164}",
        numbers=(e164,),
        allowed_addresses=tuple(sources),
        auth_username=(number.inbound_auth_username or "") if inbound_auth else "",
        has_password=inbound_auth,
        media_encryption=number.media_encryption,
        meta=versioned if inbound_auth else meta,
    )
    rule = None
    if number.inbound_agent is not None:
        job = InboundJob(
            agent_id=number.inbound_agent.id,
            phone_number_id=number.id,
            phone_number=e164,
            org_id=number.org_id,
        )
        rule = DispatchRuleSpec(
            name=f"talkifai inbound {e164}",
            room_prefix=ROOM_PREFIX,
            trunk_ids=(),
            agents=((AGENT_NAME, job),),
            meta=meta,
        )
    outbound = None
    # Without a termination URI LiveKit has nowhere to send calls ("no outbound address
    # specified"): the number simply has no outbound trunk until one is set.
    if number.termination_uri:
        outbound = OutboundTrunkSpec(
            name=f"talkifai outbound {e164}",
            address=number.termination_uri,
            numbers=(settings.number_format.write(e164),),
            auth_username=number.sip_username or "",
            has_password=number.has_sip_password,
            transport=number.sip_transport,
            media_encryption=number.media_encryption,
            headers=tuple(sorted(settings.sip_headers.items())),
            meta=versioned,
        )
    return Desired(number.id, e164, number.org_id, number.version, inbound, rule, outbound)


def with_trunk(rule: DispatchRuleSpec, trunk_id: str) -> DispatchRuleSpec:
    """The rule bound to the number's inbound trunk."""
    return DispatchRuleSpec(
        name=rule.name,
        room_prefix=rule.room_prefix,
        trunk_ids=(trunk_id,),
        agents=rule.agents,
        meta=rule.meta,
    )


@dataclass(frozen=True)
class KindPlan(Generic[SpecT]):
    """For one kind of resource: which to keep (and whether to rewrite it) and which to delete."""

    keep: Observed[SpecT] | None
    rewrite: bool
    create: bool
    delete: tuple[str, ...]


def _observed_id(o: Observed[Any]) -> str:
    return o.id


def plan_kind(want: SpecT | None, have: Sequence[Observed[SpecT]]) -> KindPlan[SpecT]:
    """Keep one resource (an exact match first, else the oldest id), delete the duplicates."""
    if want is None:
        return KindPlan(None, False, False, tuple(o.id for o in have))
    ordered = sorted(have, key=_observed_id)
    exact = [o for o in ordered if o.spec == want]
    keep = exact[0] if exact else (ordered[0] if ordered else None)
    delete = tuple(o.id for o in ordered if keep is None or o.id != keep.id)
    if keep is None:
        return KindPlan(None, False, True, delete)
    return KindPlan(keep, keep.spec != want, False, delete)


def in_sync(desired: Desired, held: Holdings) -> bool:
    """Whether LiveKit already holds exactly the desired state (no write needed)."""
    inbound = plan_kind(desired.inbound, held.inbound)
    if inbound.keep is None or inbound.rewrite or inbound.delete:
        return False
    outbound = plan_kind(desired.outbound, held.outbound)
    if outbound.create or outbound.rewrite or outbound.delete:
        return False
    want_rule = with_trunk(desired.rule, inbound.keep.id) if desired.rule else None
    rule = plan_kind(want_rule, held.rules)
    return not (rule.create or rule.rewrite or rule.delete)


def resources_of(
    inbound_id: str | None, outbound_id: str | None, rule_id: str | None
) -> LiveKitResources:
    """The ids reported in a sync result."""
    return LiveKitResources(
        inbound_trunk_id=inbound_id, outbound_trunk_id=outbound_id, dispatch_rule_id=rule_id
    )
