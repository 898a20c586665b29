"""`livekit.SIP` trunks and dispatch rules: validation, conflicts, lists and inbound matching.

Messages, codes and ordering follow livekit/protocol (`livekit/sip.go`, `sip/sip.go`) and
livekit-server (`pkg/service/sip.go`). Errors raised as Twirp errors there keep their plain text;
plain Go errors surface as code `unknown`; psrpc errors get the `twirp error unknown: ` prefix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from livekit.protocol.models import ListUpdate, Pagination
from livekit.protocol.sip import (
    CreateSIPDispatchRuleRequest,
    CreateSIPInboundTrunkRequest,
    CreateSIPOutboundTrunkRequest,
    DeleteSIPDispatchRuleRequest,
    DeleteSIPTrunkRequest,
    GetSIPInboundTrunkRequest,
    GetSIPInboundTrunkResponse,
    GetSIPOutboundTrunkRequest,
    GetSIPOutboundTrunkResponse,
    ListSIPDispatchRuleRequest,
    ListSIPDispatchRuleResponse,
    ListSIPInboundTrunkRequest,
    ListSIPInboundTrunkResponse,
    ListSIPOutboundTrunkRequest,
    ListSIPOutboundTrunkResponse,
    SIPDispatchRuleInfo,
    SIPInboundTrunkInfo,
    SIPMediaConfig,
    SIPOutboundConfig,
    SIPOutboundTrunkInfo,
    SIPTrunkInfo,
    UpdateSIPDispatchRuleRequest,
    UpdateSIPInboundTrunkRequest,
    UpdateSIPOutboundTrunkRequest,
)

from livekit_emulator import auth, errors, ids
from livekit_emulator.auth import Grants
from livekit_emulator.errors import TwirpError, go_quote, go_quote_list, invalid
from livekit_emulator.index import Indexed, V, normalize_number
from livekit_emulator.twirp import Method

if TYPE_CHECKING:
    from livekit_emulator.runtime import Emulator

MAX_MEDIA_TIMEOUT_S = 600


class GoError(errors.EmulatorError):
    """A plain Go `error` (no Twirp or psrpc code): Twirp answers it as code `unknown`."""

    def twirp(self) -> TwirpError:
        """As the Twirp layer writes it."""
        return TwirpError("unknown", str(self))


class PsrpcInvalid(GoError):
    """A psrpc InvalidArgument error from validation."""

    def twirp(self) -> TwirpError:
        """As the Twirp layer writes it."""
        return errors.from_psrpc("invalid_argument", str(self))


# --- validation (each raises GoError; callers choose how it surfaces) ---------------------------


def validate_list_update(update: ListUpdate | None) -> None:
    """`ListUpdate.Validate`."""
    if update is None:
        return
    change = len(update.set) + len(update.add) + len(update.remove) > 0
    if not update.clear and not change:
        raise GoError("unsupported list update operation")
    if update.clear and change:
        raise GoError("cannot clear and change the list at the same time")
    if update.set and (update.add or update.remove):
        raise GoError("cannot set and change the list at the same time")
    if any(v == "" for v in [*update.set, *update.add, *update.remove]):
        raise GoError("empty element in the list")


def apply_list_update(current: Sequence[str], update: ListUpdate) -> list[str]:
    """`applyListUpdate`: clear, set, or remove then add (keeping order, no duplicates)."""
    if update.clear:
        return []
    if update.set:
        return list(update.set)
    out = list(current)
    for value in update.remove:
        if value in out:
            out.remove(value)
    for value in update.add:
        if value not in out:
            out.append(value)
    return out


def validate_media(media: SIPMediaConfig | None) -> None:
    """`SIPMediaConfig.Validate`."""
    if media is None:
        return
    for codec in media.codecs:
        if not codec.name:
            raise GoError("missing codec name")
        if any(c in codec.name for c in " \t\n\r"):
            raise GoError("invalid codec name")
        if "/" in codec.name:
            raise GoError("codec name must not contain '/'")
    if media.HasField("media_timeout"):
        seconds = media.media_timeout.seconds + media.media_timeout.nanos / 1e9
        if seconds < 0:
            raise GoError("media_timeout must not be negative")
        if seconds > MAX_MEDIA_TIMEOUT_S:
            raise GoError("media_timeout must not exceed 10m0s")


def _media(
    message: SIPInboundTrunkInfo | SIPOutboundTrunkInfo | SIPDispatchRuleInfo,
) -> SIPMediaConfig | None:
    return message.media if message.HasField("media") else None


def validate_hostname(value: str, field: str) -> None:
    """`validateHostnameFormat`: a hostname or IP, neither a SIP URI nor with a transport."""
    if "transport=" in value:
        raise GoError(f"{field} should not contain transport parameter")
    if "@" in value or ";" in value or value.startswith(("sip:", "sips:")):
        raise GoError(f"{field} should be a hostname or IP, not SIP URI")


def validate_inbound(info: SIPInboundTrunkInfo) -> None:
    """`SIPInboundTrunkInfo.ValidateResult`."""
    has_auth = bool(info.auth_username or info.auth_password)
    if not has_auth and not info.allowed_addresses and not info.numbers:
        raise PsrpcInvalid(
            "for security, one of the fields must be set: "
            "AuthUsername+AuthPassword, AllowedAddresses or Numbers"
        )
    validate_media(_media(info))


def validate_outbound(info: SIPOutboundTrunkInfo) -> None:
    """`SIPOutboundTrunkInfo.ValidateResult`."""
    if not info.numbers:
        raise GoError("no trunk numbers specified")
    if not info.address:
        raise GoError("no outbound address specified")
    validate_hostname(info.address, "trunk address")
    validate_hostname(info.from_host, "from_host")
    validate_media(_media(info))


def validate_outbound_config(config: SIPOutboundConfig) -> None:
    """`SIPOutboundConfig.Validate` (an inline trunk in CreateSIPParticipant)."""
    if not config.hostname:
        raise GoError("no outbound hostname specified")
    validate_hostname(config.hostname, "trunk hostname")
    validate_hostname(config.from_host, "from_host")


def validate_rule(info: SIPDispatchRuleInfo) -> None:
    """`SIPDispatchRuleInfo.Validate`."""
    if not info.HasField("rule"):
        raise GoError("missing rule")
    validate_media(_media(info))


def rule_room_and_pin(info: SIPDispatchRuleInfo) -> tuple[str, str]:
    """`GetPinAndRoom`: the room name or prefix and the PIN of a rule."""
    kind = info.rule.WhichOneof("rule")
    if kind == "dispatch_rule_direct":
        return info.rule.dispatch_rule_direct.room_name, info.rule.dispatch_rule_direct.pin
    if kind == "dispatch_rule_individual":
        r = info.rule.dispatch_rule_individual
        return r.room_prefix, r.pin
    if kind == "dispatch_rule_callee":
        return info.rule.dispatch_rule_callee.room_prefix, info.rule.dispatch_rule_callee.pin
    raise errors.from_psrpc("invalid_argument", "unsupported SIP Dispatch Rule: <nil>")


def _print_id(value: str) -> str:
    return value or "<new>"


def _print_numbers(numbers: Sequence[str]) -> str:
    return go_quote_list(list(numbers)) if numbers else "<any>"


def check_trunk_conflicts(trunks: Iterable[SIPInboundTrunkInfo]) -> None:
    """`ValidateTrunksIter`: trunks sharing a called number must be told apart by AllowedNumbers."""
    by_number: dict[str, dict[str, SIPInboundTrunkInfo]] = {}
    for t in trunks:
        keys = (
            [""] if not t.numbers else list(dict.fromkeys(normalize_number(n) for n in t.numbers))
        )
        for key in keys:
            _check_inbound_bucket(by_number.setdefault(key, {}), t)


def _check_inbound_bucket(
    by_inbound: dict[str, SIPInboundTrunkInfo], t: SIPInboundTrunkInfo
) -> None:
    if not t.allowed_numbers:
        t2 = by_inbound.get("")
        if t2 is not None and t2.sip_trunk_id != t.sip_trunk_id:
            raise invalid(
                f"Conflicting inbound SIP Trunks: {go_quote(_print_id(t.sip_trunk_id))} and "
                f"{go_quote(_print_id(t2.sip_trunk_id))}, using the same number(s) "
                f"{_print_numbers(t.numbers)} without AllowedNumbers set"
            )
        by_inbound[""] = t
        return
    seen: set[str] = set()
    for num in t.allowed_numbers:
        key = normalize_number(num)
        if key in seen:
            continue
        seen.add(key)
        t2 = by_inbound.get(key)
        if t2 is not None and t2.sip_trunk_id != t.sip_trunk_id:
            raise invalid(
                f"Conflicting inbound SIP Trunks: {go_quote(_print_id(t.sip_trunk_id))} and "
                f"{go_quote(_print_id(t2.sip_trunk_id))}, using the same number(s) "
                f"{_print_numbers(t.numbers)} and AllowedNumber {go_quote(num)}"
            )
        by_inbound[key] = t


def check_rule_conflicts(rules: Iterable[SIPDispatchRuleInfo]) -> None:
    """`ValidateDispatchRulesIter`: one rule per (PIN, trunk, inbound number, number) key."""
    by_key: dict[tuple[str, str, str, str], SIPDispatchRuleInfo] = {}
    for r in rules:
        _, pin = rule_room_and_pin(r)
        for trunk in list(r.trunk_ids) or [""]:
            for inbound in list(r.inbound_numbers) or [""]:
                for number in list(r.numbers) or [""]:
                    key = (pin, trunk, normalize_number(inbound), normalize_number(number))
                    r2 = by_key.get(key)
                    if r2 is not None:
                        raise invalid(
                            "Dispatch rule for the same trunk, inbound number, number, and PIN "
                            "combination already exists in dispatch rule "
                            f"{go_quote(_print_id(r2.sip_dispatch_rule_id))} "
                            f"{go_quote(r2.name or '<blank name>')}"
                        )
                    by_key[key] = r


# --- list filters (the store's `Filter` plus `Pagination.Filter`) -----------------------------


def _after(page: Pagination | None, item_id: str) -> bool:
    return page is None or not page.after_id or item_id > page.after_id


def filter_inbound(
    trunks: Iterable[SIPInboundTrunkInfo],
    trunk_ids: Sequence[str] = (),
    numbers: Sequence[str] = (),
    page: Pagination | None = None,
) -> list[SIPInboundTrunkInfo]:
    """Inbound trunks matching ids and called numbers (trunks without numbers match any)."""
    wanted = {normalize_number(n) for n in numbers}
    out = []
    for t in trunks:
        if trunk_ids and t.sip_trunk_id not in trunk_ids:
            continue
        if (
            numbers
            and t.numbers
            and not any(n in numbers or normalize_number(n) in wanted for n in t.numbers)
        ):
            continue
        if _after(page, t.sip_trunk_id):
            out.append(t)
    return sorted(out, key=lambda t: t.sip_trunk_id)


def filter_outbound(
    trunks: Iterable[SIPOutboundTrunkInfo],
    trunk_ids: Sequence[str] = (),
    numbers: Sequence[str] = (),
    page: Pagination | None = None,
) -> list[SIPOutboundTrunkInfo]:
    """Outbound trunks matching ids and numbers (exact match, as LiveKit compares them)."""
    out = []
    for t in trunks:
        if trunk_ids and t.sip_trunk_id not in trunk_ids:
            continue
        if numbers and t.numbers and not any(n in numbers for n in t.numbers):
            continue
        if _after(page, t.sip_trunk_id):
            out.append(t)
    return sorted(out, key=lambda t: t.sip_trunk_id)


def filter_rules(
    rules: Iterable[SIPDispatchRuleInfo],
    rule_ids: Sequence[str] = (),
    trunk_ids: Sequence[str] = (),
    page: Pagination | None = None,
) -> list[SIPDispatchRuleInfo]:
    """Dispatch rules matching ids and trunks (rules without trunks match any)."""
    out = []
    for r in rules:
        if rule_ids and r.sip_dispatch_rule_id not in rule_ids:
            continue
        if trunk_ids and r.trunk_ids and not any(t in trunk_ids for t in r.trunk_ids):
            continue
        if _after(page, r.sip_dispatch_rule_id):
            out.append(r)
    return sorted(out, key=lambda r: r.sip_dispatch_rule_id)


def lookup_candidates(
    store: Indexed[V], ids: Sequence[str] = (), keys: Iterable[str] | None = None
) -> Iterable[V]:
    """What a filter needs to look at: the named ids, else what the index holds for `keys`
    (and the keyless), else everything. The filter then applies every condition itself."""
    if ids:
        return [store[i] for i in dict.fromkeys(ids) if i in store]
    if keys is not None:
        return store.matching(keys)
    return store.values()


def _numbers_key(numbers: Sequence[str]) -> list[str] | None:
    return [normalize_number(n) for n in numbers] if numbers else None


def _page(
    req: ListSIPInboundTrunkRequest | ListSIPOutboundTrunkRequest | ListSIPDispatchRuleRequest,
) -> Pagination | None:
    return req.page if req.HasField("page") else None


# --- trunks ------------------------------------------------------------------------------------


def _copy_inbound(info: SIPInboundTrunkInfo) -> SIPInboundTrunkInfo:
    out = SIPInboundTrunkInfo()
    out.CopyFrom(info)
    return out


def _copy_outbound(info: SIPOutboundTrunkInfo) -> SIPOutboundTrunkInfo:
    out = SIPOutboundTrunkInfo()
    out.CopyFrom(info)
    return out


def _copy_rule(info: SIPDispatchRuleInfo) -> SIPDispatchRuleInfo:
    out = SIPDispatchRuleInfo()
    out.CopyFrom(info)
    return out


def _raise_invalid(exc: GoError) -> TwirpError:
    """Request validation, which LiveKit wraps as a Twirp invalid_argument with the plain text."""
    return invalid(str(exc))


async def create_inbound_trunk(
    emu: Emulator, grants: Grants | None, req: CreateSIPInboundTrunkRequest
) -> SIPInboundTrunkInfo:
    """SIP.CreateSIPInboundTrunk."""
    auth.ensure_sip_admin(grants)
    if not req.HasField("trunk"):
        raise invalid("missing trunk")
    info = _copy_inbound(req.trunk)
    if info.sip_trunk_id:
        raise invalid("trunk id must not be set")
    try:
        validate_inbound(info)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    existing = filter_inbound(
        lookup_candidates(emu.state.inbound_trunks, keys=_numbers_key(info.numbers) or []),
        numbers=list(info.numbers),
    )
    # The id stays empty while validating, so a conflict names the new trunk "<new>".
    check_trunk_conflicts([*existing, info])
    info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
    emu.state.inbound_trunks[info.sip_trunk_id] = info
    return info


async def create_outbound_trunk(
    emu: Emulator, grants: Grants | None, req: CreateSIPOutboundTrunkRequest
) -> SIPOutboundTrunkInfo:
    """SIP.CreateSIPOutboundTrunk."""
    auth.ensure_sip_admin(grants)
    if not req.HasField("trunk"):
        raise invalid("missing trunk")
    info = _copy_outbound(req.trunk)
    if info.sip_trunk_id:
        raise invalid("trunk id must not be set")
    try:
        validate_outbound(info)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
    emu.state.outbound_trunks[info.sip_trunk_id] = info
    return info


def _validate_update_request(trunk_id: str, action: str | None, replace_id: str) -> None:
    if not trunk_id:
        raise invalid("trunk id must be set")
    if action is None:
        raise invalid("missing or unsupported update action")
    if action == "replace" and replace_id and replace_id != trunk_id:
        raise invalid("trunk id in the info must be empty or match the id in the update")


async def update_inbound_trunk(
    emu: Emulator, grants: Grants | None, req: UpdateSIPInboundTrunkRequest
) -> SIPInboundTrunkInfo:
    """SIP.UpdateSIPInboundTrunk: replace the whole trunk or update some fields."""
    auth.ensure_sip_admin(grants)
    action = req.WhichOneof("action")
    _validate_update_request(req.sip_trunk_id, action, req.replace.sip_trunk_id)
    try:
        if action == "replace":
            validate_inbound(req.replace)
        else:
            u = req.update
            for name in ("numbers", "allowed_addresses", "allowed_numbers"):
                validate_list_update(getattr(u, name) if u.HasField(name) else None)
            validate_media(u.media if u.HasField("media") else None)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    stored = emu.state.inbound_trunks.get(req.sip_trunk_id)
    if stored is None:
        raise errors.not_found(errors.SIP_TRUNK_NOT_FOUND)
    if action == "replace":
        info = _copy_inbound(req.replace)
    else:
        info = _copy_inbound(stored)
        u = req.update
        for name in ("numbers", "allowed_addresses", "allowed_numbers"):
            if u.HasField(name):
                values = apply_list_update(getattr(info, name), getattr(u, name))
                info.ClearField(name)
                getattr(info, name).extend(values)
        for name in ("auth_username", "auth_password", "auth_realm", "name", "metadata"):
            if u.HasField(name):
                setattr(info, name, getattr(u, name))
        if u.HasField("media"):
            info.media.CopyFrom(u.media)
        if u.HasField("media_encryption"):
            info.media_encryption = u.media_encryption
        try:
            validate_inbound(info)
        except GoError as exc:
            # Found after applying the update, this error reaches Twirp unwrapped.
            raise exc.twirp() from exc
    info.sip_trunk_id = req.sip_trunk_id
    # Checked against every trunk with the updated one in place (LIVEKIT.md: refused on update).
    others = filter_inbound(
        lookup_candidates(emu.state.inbound_trunks, keys=_numbers_key(info.numbers) or []),
        numbers=list(info.numbers),
    )
    candidates = {t.sip_trunk_id: t for t in others}
    candidates[info.sip_trunk_id] = info
    check_trunk_conflicts([candidates[k] for k in sorted(candidates)])
    emu.state.inbound_trunks[info.sip_trunk_id] = info
    return info


async def update_outbound_trunk(
    emu: Emulator, grants: Grants | None, req: UpdateSIPOutboundTrunkRequest
) -> SIPOutboundTrunkInfo:
    """SIP.UpdateSIPOutboundTrunk: replace the whole trunk or update some fields."""
    auth.ensure_sip_admin(grants)
    action = req.WhichOneof("action")
    _validate_update_request(req.sip_trunk_id, action, req.replace.sip_trunk_id)
    try:
        if action == "replace":
            validate_outbound(req.replace)
        else:
            u = req.update
            validate_list_update(u.numbers if u.HasField("numbers") else None)
            validate_media(u.media if u.HasField("media") else None)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    stored = emu.state.outbound_trunks.get(req.sip_trunk_id)
    if stored is None:
        raise errors.not_found(errors.SIP_TRUNK_NOT_FOUND)
    if action == "replace":
        info = _copy_outbound(req.replace)
    else:
        info = _copy_outbound(stored)
        u = req.update
        if u.HasField("numbers"):
            values = apply_list_update(info.numbers, u.numbers)
            info.ClearField("numbers")
            info.numbers.extend(values)
        for name in (
            "address",
            "transport",
            "destination_country",
            "auth_username",
            "auth_password",
            "name",
            "metadata",
            "from_host",
            "media_encryption",
        ):
            if u.HasField(name):
                setattr(info, name, getattr(u, name))
        if u.HasField("media"):
            info.media.CopyFrom(u.media)
        try:
            validate_outbound(info)
        except GoError as exc:
            raise exc.twirp() from exc
    info.sip_trunk_id = req.sip_trunk_id
    emu.state.outbound_trunks[info.sip_trunk_id] = info
    return info


async def get_inbound_trunk(
    emu: Emulator, grants: Grants | None, req: GetSIPInboundTrunkRequest
) -> GetSIPInboundTrunkResponse:
    """SIP.GetSIPInboundTrunk."""
    auth.ensure_sip_admin(grants)
    if not req.sip_trunk_id:
        raise invalid("trunk ID is required")
    trunk = emu.state.inbound_trunks.get(req.sip_trunk_id)
    if trunk is None:
        raise errors.not_found(errors.SIP_TRUNK_NOT_FOUND)
    return GetSIPInboundTrunkResponse(trunk=trunk)


async def get_outbound_trunk(
    emu: Emulator, grants: Grants | None, req: GetSIPOutboundTrunkRequest
) -> GetSIPOutboundTrunkResponse:
    """SIP.GetSIPOutboundTrunk."""
    auth.ensure_sip_admin(grants)
    if not req.sip_trunk_id:
        raise invalid("trunk ID is required")
    trunk = emu.state.outbound_trunks.get(req.sip_trunk_id)
    if trunk is None:
        raise errors.not_found(errors.SIP_TRUNK_NOT_FOUND)
    return GetSIPOutboundTrunkResponse(trunk=trunk)


async def list_inbound_trunks(
    emu: Emulator, grants: Grants | None, req: ListSIPInboundTrunkRequest
) -> ListSIPInboundTrunkResponse:
    """SIP.ListSIPInboundTrunk: every match after `page.after_id`, sorted by id.

    LiveKit pages through its store `page.limit` items at a time but returns all pages.
    """
    auth.ensure_sip_admin(grants)
    store = emu.state.inbound_trunks
    items = filter_inbound(
        lookup_candidates(store, req.trunk_ids, _numbers_key(req.numbers)),
        list(req.trunk_ids),
        list(req.numbers),
        _page(req),
    )
    return ListSIPInboundTrunkResponse(items=items)


async def list_outbound_trunks(
    emu: Emulator, grants: Grants | None, req: ListSIPOutboundTrunkRequest
) -> ListSIPOutboundTrunkResponse:
    """SIP.ListSIPOutboundTrunk: every match after `page.after_id`, sorted by id."""
    auth.ensure_sip_admin(grants)
    store = emu.state.outbound_trunks
    items = filter_outbound(
        lookup_candidates(store, req.trunk_ids, list(req.numbers) or None),
        list(req.trunk_ids),
        list(req.numbers),
        _page(req),
    )
    return ListSIPOutboundTrunkResponse(items=items)


async def delete_trunk(
    emu: Emulator, grants: Grants | None, req: DeleteSIPTrunkRequest
) -> SIPTrunkInfo:
    """SIP.DeleteSIPTrunk: succeeds for unknown ids and leaves rules naming the trunk in place."""
    auth.ensure_sip_admin(grants)
    if not req.sip_trunk_id:
        raise invalid("trunk ID is required")
    emu.state.inbound_trunks.pop(req.sip_trunk_id, None)
    emu.state.outbound_trunks.pop(req.sip_trunk_id, None)
    return SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)


# --- dispatch rules ----------------------------------------------------------------------------


def _rule_from_create(req: CreateSIPDispatchRuleRequest) -> SIPDispatchRuleInfo:
    if req.HasField("dispatch_rule"):
        return _copy_rule(req.dispatch_rule)
    # Legacy top-level fields.
    info = SIPDispatchRuleInfo(
        trunk_ids=list(req.trunk_ids),
        inbound_numbers=list(req.inbound_numbers),
        hide_phone_number=req.hide_phone_number,
        name=req.name,
        metadata=req.metadata,
        attributes=dict(req.attributes),
        room_preset=req.room_preset,
    )
    if req.HasField("rule"):
        info.rule.CopyFrom(req.rule)
    if req.HasField("room_config"):
        info.room_config.CopyFrom(req.room_config)
    return info


async def create_dispatch_rule(
    emu: Emulator, grants: Grants | None, req: CreateSIPDispatchRuleRequest
) -> SIPDispatchRuleInfo:
    """SIP.CreateSIPDispatchRule."""
    auth.ensure_sip_admin(grants)
    info = _rule_from_create(req)
    if req.HasField("dispatch_rule") and info.sip_dispatch_rule_id:
        raise invalid("rule id must not be set")
    try:
        validate_rule(info)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    info.sip_dispatch_rule_id = ""
    existing = filter_rules(
        lookup_candidates(emu.state.dispatch_rules, keys=info.trunk_ids),
        trunk_ids=list(info.trunk_ids),
    )
    check_rule_conflicts([*existing, info])
    info.sip_dispatch_rule_id = ids.new_id(ids.SIP_DISPATCH_RULE)
    emu.state.dispatch_rules[info.sip_dispatch_rule_id] = info
    return info


async def update_dispatch_rule(
    emu: Emulator, grants: Grants | None, req: UpdateSIPDispatchRuleRequest
) -> SIPDispatchRuleInfo:
    """SIP.UpdateSIPDispatchRule: replace the whole rule or update some fields."""
    auth.ensure_sip_admin(grants)
    if not req.sip_dispatch_rule_id:
        raise invalid("rule id must be set")
    action = req.WhichOneof("action")
    if action is None:
        raise invalid("missing or unsupported update action")
    try:
        if action == "replace":
            rid = req.replace.sip_dispatch_rule_id
            if rid and rid != req.sip_dispatch_rule_id:
                raise GoError("rule id in the info must be empty or match the id in the update")
            validate_rule(req.replace)
        else:
            u = req.update
            validate_list_update(u.trunk_ids if u.HasField("trunk_ids") else None)
            validate_media(u.media if u.HasField("media") else None)
    except GoError as exc:
        raise _raise_invalid(exc) from exc
    stored = emu.state.dispatch_rules.get(req.sip_dispatch_rule_id)
    if stored is None:
        raise errors.not_found(errors.SIP_RULE_NOT_FOUND)
    if action == "replace":
        info = _copy_rule(req.replace)
    else:
        info = _copy_rule(stored)
        u = req.update
        if u.HasField("trunk_ids"):
            values = apply_list_update(info.trunk_ids, u.trunk_ids)
            info.ClearField("trunk_ids")
            info.trunk_ids.extend(values)
        if u.HasField("rule"):
            info.rule.CopyFrom(u.rule)
        for name in ("name", "metadata", "media_encryption"):
            if u.HasField(name):
                setattr(info, name, getattr(u, name))
        for key, value in u.attributes.items():
            if value:
                info.attributes[key] = value
            elif key in info.attributes:
                del info.attributes[key]
        if u.HasField("media"):
            info.media.CopyFrom(u.media)
        try:
            validate_rule(info)
        except GoError as exc:
            raise exc.twirp() from exc
    info.sip_dispatch_rule_id = req.sip_dispatch_rule_id
    others = filter_rules(
        lookup_candidates(emu.state.dispatch_rules, keys=info.trunk_ids),
        trunk_ids=list(info.trunk_ids),
    )
    candidates = {r.sip_dispatch_rule_id: r for r in others}
    candidates[info.sip_dispatch_rule_id] = info
    check_rule_conflicts([candidates[k] for k in sorted(candidates)])
    emu.state.dispatch_rules[info.sip_dispatch_rule_id] = info
    return info


async def list_dispatch_rules(
    emu: Emulator, grants: Grants | None, req: ListSIPDispatchRuleRequest
) -> ListSIPDispatchRuleResponse:
    """SIP.ListSIPDispatchRule: every match after `page.after_id`, sorted by id."""
    auth.ensure_sip_admin(grants)
    items = filter_rules(
        lookup_candidates(
            emu.state.dispatch_rules, req.dispatch_rule_ids, list(req.trunk_ids) or None
        ),
        list(req.dispatch_rule_ids),
        list(req.trunk_ids),
        _page(req),
    )
    return ListSIPDispatchRuleResponse(items=items)


async def delete_dispatch_rule(
    emu: Emulator, grants: Grants | None, req: DeleteSIPDispatchRuleRequest
) -> SIPDispatchRuleInfo:
    """SIP.DeleteSIPDispatchRule."""
    auth.ensure_sip_admin(grants)
    if not req.sip_dispatch_rule_id:
        raise invalid("dispatch rule ID is required")
    info = emu.state.dispatch_rules.pop(req.sip_dispatch_rule_id, None)
    if info is None:
        raise errors.not_found(errors.SIP_RULE_NOT_FOUND)
    return info


# --- inbound matching --------------------------------------------------------------------------


def _valid_mask(mask: str) -> bool:
    """`isValidMask`: an IP, a CIDR or a host name (no spaces, lists, schemes...)."""
    return not any(c in mask for c in "()+*;, \t\n\r") and "://" not in mask


def _mask_matches(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, mask: str) -> bool:
    """`matchAddrMask`: an address equal to the mask, or inside the mask's prefix."""
    try:
        if "/" not in mask:
            return ip == ipaddress.ip_address(mask)
        return ip in ipaddress.ip_network(mask, strict=False)
    except ValueError:
        return False


def address_allowed(source: str, host: str, masks: Sequence[str]) -> bool:
    """`matchAddrMasks`: the packet's source address (or the From host, for a host name) is in
    `allowed_addresses`; an unknown source or no (valid) mask allows everything."""
    try:
        ip = ipaddress.ip_address(source)
    except ValueError:
        return True
    valid = [m for m in masks if _valid_mask(m)]
    if not valid:
        return True
    return any(m == host or _mask_matches(ip, m) for m in valid)


def match_trunk(
    trunks: Iterable[SIPInboundTrunkInfo],
    calling: str,
    called: str,
    source_address: str = "",
    from_host: str = "",
) -> SIPInboundTrunkInfo | None:
    """`MatchTrunkDetailed`: a trunk naming the called number beats a trunk without numbers;
    trunks whose `allowed_numbers` or `allowed_addresses` exclude the call are not considered."""
    candidates = filter_inbound(trunks, numbers=[called])
    called_norm = normalize_number(called)
    calling_norm = normalize_number(calling)
    selected: SIPInboundTrunkInfo | None = None
    defaults: list[SIPInboundTrunkInfo] = []
    for t in candidates:
        if t.allowed_numbers and not any(
            calling == a or calling_norm == normalize_number(a) for a in t.allowed_numbers
        ):
            continue
        if not address_allowed(source_address, from_host, t.allowed_addresses):
            continue
        if not t.numbers:
            defaults.append(t)
            continue
        if any(n == called or normalize_number(n) == called_norm for n in t.numbers):
            if selected is not None:
                raise TwirpError(
                    "failed_precondition", f"Multiple SIP Trunks matched for {go_quote(called)}"
                )
            selected = t
    if selected is not None:
        return selected
    if len(defaults) > 1:
        raise TwirpError(
            "failed_precondition", f"Multiple default SIP Trunks matched for {go_quote(called)}"
        )
    return defaults[0] if defaults else None


def rule_priority(info: SIPDispatchRuleInfo) -> int:
    """`DispatchRulePriority`: lower wins; PIN-protected and number-specific rules first."""
    kind = info.rule.WhichOneof("rule")
    base = {"dispatch_rule_direct": 0, "dispatch_rule_individual": 1, "dispatch_rule_callee": 2}
    if kind not in base:
        return 2**31 - 1
    _, pin = rule_room_and_pin(info)
    priority = base[kind] + (0 if pin else 100)
    if not info.inbound_numbers:
        priority += 1000
    if not info.numbers:
        priority += 1000
    return priority


def _better(a: SIPDispatchRuleInfo, b: SIPDispatchRuleInfo) -> bool:
    pa, pb = rule_priority(a), rule_priority(b)
    if pa != pb:
        return pa < pb
    return rule_room_and_pin(a)[0] < rule_room_and_pin(b)[0]


def match_dispatch_rule(
    trunk: SIPInboundTrunkInfo | None,
    rules: Iterable[SIPDispatchRuleInfo],
    calling: str,
    called: str,
    pin: str = "",
) -> SIPDispatchRuleInfo | None:
    """`MatchDispatchRuleIter`: a trunk-specific rule beats a wildcard; None when nothing matches."""
    trunk_ids = [trunk.sip_trunk_id] if trunk is not None else []
    candidates = filter_rules(rules, trunk_ids=trunk_ids)
    check_rule_conflicts(candidates)
    specific: SIPDispatchRuleInfo | None = None
    default: SIPDispatchRuleInfo | None = None
    for info in candidates:
        if info.inbound_numbers and calling not in info.inbound_numbers:
            continue
        if info.numbers and called not in info.numbers:
            continue
        _, rule_pin = rule_room_and_pin(info)
        if pin and rule_pin != pin:
            continue
        if not info.trunk_ids:
            if default is None or _better(info, default):
                default = info
            continue
        if trunk is None or trunk.sip_trunk_id not in info.trunk_ids:
            continue
        if specific is None or _better(info, specific):
            specific = info
    return specific or default


METHODS: dict[str, Method] = {
    "CreateSIPInboundTrunk": Method(CreateSIPInboundTrunkRequest, create_inbound_trunk),
    "CreateSIPOutboundTrunk": Method(CreateSIPOutboundTrunkRequest, create_outbound_trunk),
    "UpdateSIPInboundTrunk": Method(UpdateSIPInboundTrunkRequest, update_inbound_trunk),
    "UpdateSIPOutboundTrunk": Method(UpdateSIPOutboundTrunkRequest, update_outbound_trunk),
    "GetSIPInboundTrunk": Method(GetSIPInboundTrunkRequest, get_inbound_trunk),
    "GetSIPOutboundTrunk": Method(GetSIPOutboundTrunkRequest, get_outbound_trunk),
    "ListSIPInboundTrunk": Method(ListSIPInboundTrunkRequest, list_inbound_trunks),
    "ListSIPOutboundTrunk": Method(ListSIPOutboundTrunkRequest, list_outbound_trunks),
    "DeleteSIPTrunk": Method(DeleteSIPTrunkRequest, delete_trunk),
    "CreateSIPDispatchRule": Method(CreateSIPDispatchRuleRequest, create_dispatch_rule),
    "UpdateSIPDispatchRule": Method(UpdateSIPDispatchRuleRequest, update_dispatch_rule),
    "ListSIPDispatchRule": Method(ListSIPDispatchRuleRequest, list_dispatch_rules),
    "DeleteSIPDispatchRule": Method(DeleteSIPDispatchRuleRequest, delete_dispatch_rule),
}
