"""LiveKit SIP through livekit-api: trunks and dispatch rules as trunk-sync sees them.

`LiveKitPort` is what the handlers use; `LiveKitAdapter` converts between the domain's specs and
livekit-protocol messages and turns livekit-api's errors, as `talkifai_common.livekit` classifies
them, into `LiveKitUnavailable` (retry) or `LiveKitRefused` (LiveKit's own message, permanent). Every call has a `timeout_s` deadline
(`within_deadline`); one run over is `LiveKitUnavailable`.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import NoReturn, Protocol

from livekit import api
from livekit.protocol.agent_dispatch import RoomAgentDispatch
from livekit.protocol.room import RoomConfiguration
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    ListSIPDispatchRuleRequest,
    ListSIPInboundTrunkRequest,
    ListSIPOutboundTrunkRequest,
    SIPDispatchRule,
    SIPDispatchRuleIndividual,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPMediaEncryption,
    SIPOutboundTrunkInfo,
    SIPTransport,
)

from talkifai_common.events import MediaEncryption, SipTransport
from talkifai_common.livekit import LiveKitClient, is_not_found, is_transient, is_unavailable
from talkifai_common.livekit_deadline import LiveKitDeadlineExceeded, within_deadline
from trunk_sync.domain import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    LiveKitRefused,
    LiveKitUnavailable,
    Observed,
    ObservedInbound,
    ObservedOutbound,
    ObservedRule,
    OutboundTrunkSpec,
    ResourceMetadata,
    StaleRead,
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


class LiveKitPort(Protocol):
    """The LiveKit SIP operations trunk-sync needs; empty filters list everything."""

    async def list_inbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedInbound]: ...

    async def list_outbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedOutbound]: ...

    async def list_dispatch_rules(
        self, *, trunk_ids: Sequence[str] = (), rule_ids: Sequence[str] = ()
    ) -> list[ObservedRule]: ...

    async def create_inbound_trunk(self, spec: InboundTrunkSpec) -> str: ...

    async def update_inbound_trunk(self, trunk_id: str, spec: InboundTrunkSpec) -> None: ...

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec, password: str) -> str: ...

    async def update_outbound_trunk(
        self, trunk_id: str, spec: OutboundTrunkSpec, password: str
    ) -> None: ...

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> str: ...

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> None: ...

    async def delete_trunk(self, trunk_id: str) -> None: ...

    async def delete_dispatch_rule(self, rule_id: str) -> None: ...

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...


def _raise(exc: Exception) -> NoReturn:
    if isinstance(exc, api.TwirpError):
        if is_not_found(exc):
            # Updated or deleted while we worked: read again.
            raise StaleRead(f"LiveKit: {exc.message}") from exc
        if is_transient(exc):
            raise LiveKitUnavailable(f"LiveKit {exc.code}: {exc.message}") from exc
        raise LiveKitRefused(exc.message) from exc
    if isinstance(exc, LiveKitDeadlineExceeded):
        raise LiveKitUnavailable(str(exc)) from exc
    if is_unavailable(exc):
        raise LiveKitUnavailable(f"LiveKit unreachable: {type(exc).__name__}") from exc
    raise exc


def inbound_info(spec: InboundTrunkSpec) -> SIPInboundTrunkInfo:
    """The protobuf of an inbound trunk spec."""
    return SIPInboundTrunkInfo(
        name=spec.name,
        numbers=list(spec.numbers),
        metadata=spec.meta.dump() if spec.meta else "",
    )


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


def outbound_info(
    spec: OutboundTrunkSpec, password: str, digest: PasswordDigest
) -> SIPOutboundTrunkInfo:
    """The protobuf of an outbound trunk spec with its password (and the password's digest in
    the metadata)."""
    meta = spec.meta
    if meta is not None and password:
        meta = meta.model_copy(update={"password_digest": digest(password)})
    return SIPOutboundTrunkInfo(
        name=spec.name,
        address=spec.address,
        numbers=list(spec.numbers),
        auth_username=spec.auth_username,
        auth_password=password,
        transport=_TRANSPORT[spec.transport],
        media_encryption=_MEDIA[spec.media_encryption],
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


def inbound_spec(info: SIPInboundTrunkInfo) -> ObservedInbound:
    """What LiveKit holds, in the domain's terms."""
    rest = SIPInboundTrunkInfo()
    rest.CopyFrom(info)
    for name in ("sip_trunk_id", "name", "numbers", "metadata"):
        rest.ClearField(name)
    spec = InboundTrunkSpec(
        name=info.name,
        numbers=tuple(info.numbers),
        meta=ResourceMetadata.parse(info.metadata),
        foreign=_leftover(rest),
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
        "metadata",
    ):
        rest.ClearField(name)
    meta = ResourceMetadata.parse(info.metadata)
    ours = True
    if meta is not None:
        ours = digest.matches(info.auth_password, meta.password_digest)
        meta = meta.model_copy(update={"password_digest": None})
    spec = OutboundTrunkSpec(
        name=info.name,
        address=info.address,
        numbers=tuple(info.numbers),
        auth_username=info.auth_username,
        has_password=bool(info.auth_password),
        transport=_TRANSPORT_BACK.get(info.transport, SipTransport.AUTO),
        media_encryption=_MEDIA_BACK.get(info.media_encryption, MediaEncryption.DISABLE),
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


class LiveKitAdapter:
    """LiveKitPort over livekit-api; create it inside the running event loop."""

    def __init__(self, url: str, api_key: str, api_secret: str, *, timeout_s: float) -> None:
        self._livekit = LiveKitClient(url, api_key, api_secret, timeout_s=timeout_s)
        self._timeout_s = timeout_s
        self._digest = PasswordDigest(api_secret)

    async def list_inbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedInbound]:
        """Inbound trunks matching the filters (all when none)."""
        try:
            response = await within_deadline(
                self._livekit.api().sip.list_inbound_trunk(
                    ListSIPInboundTrunkRequest(numbers=list(numbers), trunk_ids=list(trunk_ids))
                ),
                "ListSIPInboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return [inbound_spec(t) for t in response.items]

    async def list_outbound_trunks(
        self, *, numbers: Sequence[str] = (), trunk_ids: Sequence[str] = ()
    ) -> list[ObservedOutbound]:
        """Outbound trunks matching the filters (all when none)."""
        try:
            response = await within_deadline(
                self._livekit.api().sip.list_outbound_trunk(
                    ListSIPOutboundTrunkRequest(numbers=list(numbers), trunk_ids=list(trunk_ids))
                ),
                "ListSIPOutboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return [outbound_spec(t, self._digest) for t in response.items]

    async def list_dispatch_rules(
        self, *, trunk_ids: Sequence[str] = (), rule_ids: Sequence[str] = ()
    ) -> list[ObservedRule]:
        """Dispatch rules matching the filters (all when none)."""
        try:
            response = await within_deadline(
                self._livekit.api().sip.list_dispatch_rule(
                    ListSIPDispatchRuleRequest(
                        trunk_ids=list(trunk_ids), dispatch_rule_ids=list(rule_ids)
                    )
                ),
                "ListSIPDispatchRule",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return [rule_spec(r) for r in response.items]

    async def create_inbound_trunk(self, spec: InboundTrunkSpec) -> str:
        """Create; the new trunk's id."""
        try:
            info = await within_deadline(
                self._livekit.api().sip.create_inbound_trunk(
                    CreateSIPInboundTrunkRequest(trunk=inbound_info(spec))
                ),
                "CreateSIPInboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return str(info.sip_trunk_id)

    async def update_inbound_trunk(self, trunk_id: str, spec: InboundTrunkSpec) -> None:
        """Replace the trunk in place."""
        try:
            await within_deadline(
                self._livekit.api().sip.update_inbound_trunk(trunk_id, inbound_info(spec)),
                "UpdateSIPInboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)

    async def create_outbound_trunk(self, spec: OutboundTrunkSpec, password: str) -> str:
        """Create; the new trunk's id."""
        try:
            info = await within_deadline(
                self._livekit.api().sip.create_outbound_trunk(
                    CreateSIPOutboundTrunkRequest(trunk=outbound_info(spec, password, self._digest))
                ),
                "CreateSIPOutboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return str(info.sip_trunk_id)

    async def update_outbound_trunk(
        self, trunk_id: str, spec: OutboundTrunkSpec, password: str
    ) -> None:
        """Replace the trunk in place."""
        try:
            await within_deadline(
                self._livekit.api().sip.update_outbound_trunk(
                    trunk_id, outbound_info(spec, password, self._digest)
                ),
                "UpdateSIPOutboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)

    async def create_dispatch_rule(self, spec: DispatchRuleSpec) -> str:
        """Create; the new rule's id."""
        info = rule_info(spec)
        try:
            created = await within_deadline(
                self._livekit.api().sip.create_dispatch_rule(
                    CreateSIPDispatchRuleRequest(dispatch_rule=info)
                ),
                "CreateSIPDispatchRule",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return str(created.sip_dispatch_rule_id)

    async def update_dispatch_rule(self, rule_id: str, spec: DispatchRuleSpec) -> None:
        """Replace the rule in place."""
        try:
            await within_deadline(
                self._livekit.api().sip.update_dispatch_rule(rule_id, rule_info(spec)),
                "UpdateSIPDispatchRule",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)

    async def delete_trunk(self, trunk_id: str) -> None:
        """Delete a trunk (LiveKit accepts an unknown id)."""
        try:
            await within_deadline(
                self._livekit.api().sip.delete_trunk(DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)),
                "DeleteSIPTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            if not is_not_found(exc):
                _raise(exc)

    async def delete_dispatch_rule(self, rule_id: str) -> None:
        """Delete a rule; one already gone is fine."""
        try:
            await within_deadline(
                self._livekit.api().sip.delete_dispatch_rule(
                    DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)
                ),
                "DeleteSIPDispatchRule",
                self._timeout_s,
            )
        except Exception as exc:
            if not is_not_found(exc):
                _raise(exc)

    async def ping(self) -> None:
        """A cheap authenticated call: LiveKit answers and accepts our key."""
        await self._livekit.ping()

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._livekit.aclose()
