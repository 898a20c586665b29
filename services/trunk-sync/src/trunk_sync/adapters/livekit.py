"""LiveKit SIP through livekit-api: trunks and dispatch rules as trunk-sync sees them.

`LiveKitPort` is what the handlers use; `LiveKitAdapter` converts between the domain's specs and
livekit-protocol messages (`livekit_resources`) and turns livekit-api's errors, as `talkifai_common.livekit` classifies
them, into `LiveKitUnavailable` (retry) or `LiveKitRefused` (LiveKit's own message, permanent). Every call has a `timeout_s` deadline
(`within_deadline`); one run over is `LiveKitUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn, Protocol

from livekit import api
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    ListSIPDispatchRuleRequest,
    ListSIPInboundTrunkRequest,
    ListSIPOutboundTrunkRequest,
)

from talkifai_common.livekit import LiveKitClient, is_not_found, is_transient, is_unavailable
from talkifai_common.livekit_deadline import LiveKitDeadlineExceeded, within_deadline
from trunk_sync.adapters.livekit_resources import (
    PasswordDigest,
    inbound_info,
    inbound_spec,
    outbound_info,
    outbound_spec,
    rule_info,
    rule_spec,
)
from trunk_sync.domain import (
    DispatchRuleSpec,
    InboundTrunkSpec,
    LiveKitRefused,
    LiveKitUnavailable,
    ObservedInbound,
    ObservedOutbound,
    ObservedRule,
    OutboundTrunkSpec,
    StaleRead,
)


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

    async def create_inbound_trunk(self, spec: InboundTrunkSpec, password: str) -> str: ...

    async def update_inbound_trunk(
        self, trunk_id: str, spec: InboundTrunkSpec, password: str
    ) -> None: ...

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
        return [inbound_spec(t, self._digest) for t in response.items]

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

    async def create_inbound_trunk(self, spec: InboundTrunkSpec, password: str) -> str:
        """Create; the new trunk's id."""
        try:
            info = await within_deadline(
                self._livekit.api().sip.create_inbound_trunk(
                    CreateSIPInboundTrunkRequest(trunk=inbound_info(spec, password, self._digest))
                ),
                "CreateSIPInboundTrunk",
                self._timeout_s,
            )
        except Exception as exc:
            _raise(exc)
        return str(info.sip_trunk_id)

    async def update_inbound_trunk(
        self, trunk_id: str, spec: InboundTrunkSpec, password: str
    ) -> None:
        """Replace the trunk in place."""
        try:
            await within_deadline(
                self._livekit.api().sip.update_inbound_trunk(
                    trunk_id, inbound_info(spec, password, self._digest)
                ),
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
