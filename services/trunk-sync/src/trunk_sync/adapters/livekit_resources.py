"""trunk-sync's specs as livekit-protocol messages and back (no I/O).

Writing: `inbound_info`, `outbound_info` (the SIP passwords in clear, only here) and `rule_info`.
Reading: `inbound_spec`, `outbound_spec` (passwords compared through `PasswordDigest`, never
kept) and `rule_spec`; resources another tool made, or half-written ones, read as foreign.
"""

from __future__ import annotations

import hmac

from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration
from livekit.protocol.sip import (
    SIPDispatchRule,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPMediaEncryption,
    SIPOutboundTrunkInfo,
    SIPTransport,
)

from talkifai_common.events import MediaEncryption, SipTransport
from trunk_sync.domain import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    Observed,
    ObservedInbound,
    ObservedOutbound,
    ObservedRule,
    OutboundTrunkSpec,
    ResourceMetadata,
    dispatched_job,
)

_TRANSPORT = {
    SipTransport.AUTO: SIPTransport.SIP_TRANSPORT_AUTO,
    SipTransport.UDP: SIPTransport.SIP_TRANSPORT_UDP,
    SipTransport.TCP: SIPTransport.SIP_TRANSPORT_TCP,
    SipTransport.TLS: SIPTransport.SIP_TRANSPORT_TLS,
}
_TRANSPORT_BACK = {v: k for k, v in _TRANSPORT.items()}
_MEDIA = {
    MediaEncryption.DISABLE: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE,
    MediaEncryption.ALLOW: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW,
    MediaEncryption.REQUIRE: SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
}
_MEDIA_BACK = {v: k for k, v in _MEDIA.items()}


class PasswordDigest:
    """HMAC-SHA256 of outbound trunk passwords under a key derived from the LiveKit API secret:
    whoever could reverse it can already read the password from LiveKit."""

    def __init__(self, livekit_api_secret: str) -> None:
        self._key = hmac.digest(
            livekit_api_secret.encode(), b"talkifai trunk-sync password digest", "sha256"
        )

    def __call__(self, password: str) -> str:
        return hmac.digest(self._key, password.encode(), "sha256").hex()[:32]

    def matches(self, password: str, digest: str | None) -> bool:
        """Whether LiveKit's `password` is the one we wrote (both absent counts as a match)."""
        if not password or not digest:
            return not password and not digest
        return hmac.compare_digest(self(password), digest)


def _with_digest(
    meta: ResourceMetadata | None, password: str, digest: PasswordDigest
) -> ResourceMetadata | None:
    if meta is not None and password:
        return meta.model_copy(update={"password_digest": digest(password)})
    return meta


def inbound_info(
    spec: InboundTrunkSpec, password: str, digest: PasswordDigest
) -> SIPInboundTrunkInfo:
    """The protobuf of an inbound trunk spec with its password (and the password's digest in
    the metadata)."""
    meta = _with_digest(spec.meta, password, digest)
    return SIPInboundTrunkInfo(
        name=spec.name,
        numbers=list(spec.numbers),
        allowed_addresses=list(spec.allowed_addresses),
        auth_username=spec.auth_username,
        auth_password=password,
        media_encryption=_MEDIA[spec.media_encryption],
        metadata=meta.dump() if meta else "",
    )


def outbound_info(
    spec: OutboundTrunkSpec, password: str, digest: PasswordDigest
) -> SIPOutboundTrunkInfo:
    """The protobuf of an outbound trunk spec with its password (and the password's digest in
    the metadata)."""
    meta = _with_digest(spec.meta, password, digest)
    return SIPOutboundTrunkInfo(
        name=spec.name,
        address=spec.address,
        numbers=list(spec.numbers),
        auth_username=spec.auth_username,
        auth_password=password,
        transport=_TRANSPORT[spec.transport],
        media_encryption=_MEDIA[spec.media_encryption],
        headers=dict(spec.headers),
        metadata=meta.dump() if meta else "",
    )


def rule_info(spec: DispatchRuleSpec) -> SIPDispatchRuleInfo:
    """The protobuf of a dispatch rule spec (an individual room per call)."""
    return SIPDispatchRuleInfo(
        name=spec.name,
        rule=SIPDispatchRule(
            dispatch_rule_individual=SIPDispatchRuleIndividual(room_prefix=spec.room_prefix or "")
        ),
        trunk_ids=list(spec.trunk_ids),
        metadata=spec.meta.dump() if spec.meta else "",
        room_config=RoomConfiguration(
            agents=[
                RoomAgentDispatch(agent_name=name, metadata=job.model_dump_json() if job else "")
                for name, job in spec.agents
            ]
        ),
    )


def _leftover(info: SIPInboundTrunkInfo | SIPOutboundTrunkInfo | SIPDispatchRuleInfo) -> bool:
    """Whether a resource has fields set besides the ones we manage (already cleared)."""
    for name in ("created_at", "updated_at"):
        info.ClearField(name)
    return info.ByteSize() > 0


def _ours(
    meta: ResourceMetadata | None, password: str, digest: PasswordDigest
) -> tuple[ResourceMetadata | None, bool]:
    """The metadata without its digest, and whether LiveKit's password is the one it names."""
    if meta is None:
        return None, True
    return meta.model_copy(update={"password_digest": None}), digest.matches(
        password, meta.password_digest
    )


def inbound_spec(info: SIPInboundTrunkInfo, digest: PasswordDigest) -> ObservedInbound:
    """What LiveKit holds, in the domain's terms: the password as for outbound trunks."""
    rest = SIPInboundTrunkInfo()
    rest.CopyFrom(info)
    for name in (
        "sip_trunk_id",
        "name",
        "numbers",
        "allowed_addresses",
        "auth_username",
        "auth_password",
        "media_encryption",
        "metadata",
    ):
        rest.ClearField(name)
    meta, ours = _ours(ResourceMetadata.parse(info.metadata), info.auth_password, digest)
    spec = InboundTrunkSpec(
        name=info.name,
        numbers=tuple(info.numbers),
        allowed_addresses=tuple(info.allowed_addresses),
        auth_username=info.auth_username,
        has_password=bool(info.auth_password),
        media_encryption=_MEDIA_BACK.get(info.media_encryption, MediaEncryption.DISABLE),
        meta=meta,
        foreign=_leftover(rest) or not ours,
    )
    return Observed(info.sip_trunk_id, spec)


def outbound_spec(info: SIPOutboundTrunkInfo, digest: PasswordDigest) -> ObservedOutbound:
    """What LiveKit holds, in the domain's terms: the password only as present or not, and as
    foreign (a hand edit to repair) when it is not the one our metadata's digest names."""
    rest = SIPOutboundTrunkInfo()
    rest.CopyFrom(info)
    for name in (
        "sip_trunk_id",
        "name",
        "address",
        "numbers",
        "auth_username",
        "auth_password",
        "transport",
        "media_encryption",
        "headers",
        "metadata",
    ):
        rest.ClearField(name)
    meta, ours = _ours(ResourceMetadata.parse(info.metadata), info.auth_password, digest)
    spec = OutboundTrunkSpec(
        name=info.name,
        address=info.address,
        numbers=tuple(info.numbers),
        auth_username=info.auth_username,
        has_password=bool(info.auth_password),
        transport=_TRANSPORT_BACK.get(info.transport, SipTransport.AUTO),
        media_encryption=_MEDIA_BACK.get(info.media_encryption, MediaEncryption.DISABLE),
        headers=tuple(sorted(info.headers.items())),
        meta=meta,
        foreign=_leftover(rest) or not ours,
    )
    return Observed(info.sip_trunk_id, spec)


def rule_spec(info: SIPDispatchRuleInfo) -> ObservedRule:
    """What LiveKit holds, in the domain's terms."""
    rest = SIPDispatchRuleInfo()
    rest.CopyFrom(info)
    for name in ("sip_dispatch_rule_id", "name", "rule", "trunk_ids", "metadata", "room_config"):
        rest.ClearField(name)
    kind = info.rule.WhichOneof("rule") if info.HasField("rule") else None
    individual = info.rule.dispatch_rule_individual
    room_prefix = (
        individual.room_prefix
        if kind == "dispatch_rule_individual"
        and not individual.pin
        and not individual.no_randomness
        else None
    )
    room_config = RoomConfiguration()
    room_config.CopyFrom(info.room_config)
    room_config.ClearField("agents")
    spec = DispatchRuleSpec(
        name=info.name,
        room_prefix=room_prefix,
        trunk_ids=tuple(info.trunk_ids),
        agents=tuple((a.agent_name, dispatched_job(a.metadata)) for a in info.room_config.agents),
        meta=ResourceMetadata.parse(info.metadata),
        foreign=_leftover(rest) or room_config.ByteSize() > 0,
    )
    return Observed(info.sip_dispatch_rule_id, spec)
