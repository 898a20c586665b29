"""Phone number use cases: register, read, list, change, delete and assign agents."""

from __future__ import annotations

from datetime import UTC, datetime

from numbers_api.adapters.postgres import (
    Store,
    Tx,
    decode_cursor,
    encode_cursor,
    new_number_row,
    number_from_row,
)
from numbers_api.domain import (
    SOURCE,
    PhoneNumberChanges,
    check_assignment,
    check_inbound_security,
    check_termination_host,
    check_voice_capable,
    new_id,
)
from numbers_api.errors import PhoneNumberNotFound
from numbers_api.schemas import AgentAssignment, Page, PhoneNumberCreate, PhoneNumberUpdate
from talkifai_common import carriers
from talkifai_common.auth import Principal
from talkifai_common.crypto import SecretBox
from talkifai_common.destinations import DestinationRefused, validate_webhook_url
from talkifai_common.errors import ValidationFailed
from talkifai_common.events import EventName, PhoneNumberData, new_event

_NOT_NULL = (
    "recording_mode",
    "sip_transport",
    "media_encryption",
    "carrier",
    "inbound_allow_any_source",
)
_PROFILE_DEFAULTS = ("sip_transport", "media_encryption")  # from the carrier profile when left out
_CREATE_DEFAULTED = (*_PROFILE_DEFAULTS, "carrier")  # a create may leave these null


def _changes(
    body: PhoneNumberCreate | PhoneNumberUpdate,
    box: SecretBox,
    allow_private_webhooks: bool,
    allow_private_sip: bool,
) -> PhoneNumberChanges:
    """The changes the body asks for (every field of a create, the set ones of an update);
    encrypts the passwords, checks where the webhook, termination URI and carrier sources point.
    A create without a carrier gets the one its termination host names; a create, or an update
    picking a carrier, takes the profile's transport and media encryption where none is given."""
    given = set(body.model_fields_set)
    creating = isinstance(body, PhoneNumberCreate)
    if creating:
        given |= set(PhoneNumberCreate.model_fields)
    changes: dict[str, object] = {}
    for name in given:
        value = getattr(body, name)
        if name == "phone_number" and value is None:
            raise ValidationFailed.for_field("phone_number", "Phone number may not be null")
        if value is None and name in _NOT_NULL and not (creating and name in _CREATE_DEFAULTED):
            raise ValidationFailed.for_field(name, "Field may not be null")
        if name == "sip_password":
            changes["sip_password_ciphertext"] = (
                box.encrypt(value.get_secret_value()) if value is not None else None
            )
        elif name == "inbound_auth_password":
            changes["inbound_auth_password_ciphertext"] = (
                box.encrypt(value.get_secret_value()) if value is not None else None
            )
        elif name == "webhook_url" and value is not None:
            try:
                changes[name] = validate_webhook_url(value, allow_private=allow_private_webhooks)
            except DestinationRefused as exc:
                raise ValidationFailed.for_field("webhook_url", str(exc)) from exc
        elif name == "termination_uri" and value is not None:
            try:
                check_termination_host(value, allow_private=allow_private_sip)
            except DestinationRefused as exc:
                raise ValidationFailed.for_field("termination_uri", str(exc)) from exc
            changes[name] = value
        elif name == "inbound_allowed_addresses" and value is not None:
            try:
                changes[name] = carriers.parse_networks(value, allow_private=allow_private_sip)
            except ValueError as exc:
                raise ValidationFailed.for_field(name, str(exc)) from exc
        elif name == "number_format" and value is not None:
            changes[name] = value.model_dump()
        else:
            changes[name] = value
    if creating and changes.get("carrier") is None:
        changes["carrier"] = carriers.carrier_of_host(body.termination_uri)
    if "carrier" in changes:
        profile = carriers.profile(str(changes["carrier"]))
        defaults = {
            "sip_transport": profile.transport,
            "media_encryption": profile.media_encryption,
        }
        for name in _PROFILE_DEFAULTS:
            if changes.get(name) is None:
                changes[name] = defaults[name]
    return PhoneNumberChanges.model_validate(changes)


async def create_number(
    store: Store,
    principal: Principal,
    body: PhoneNumberCreate,
    box: SecretBox,
    *,
    allow_private_webhooks: bool,
    allow_private_sip: bool,
) -> PhoneNumberData:
    """Register a number for the caller's organization; a number belongs to one organization."""
    principal.require_manager()
    changes = _changes(body, box, allow_private_webhooks, allow_private_sip)
    number_id = new_id("pn")
    row = new_number_row(principal.org_id, number_id, changes, datetime.now(UTC))
    number = number_from_row(row)
    check_inbound_security(number)
    event = new_event(
        EventName.PHONE_NUMBER_CREATED,
        source=SOURCE,
        subject=number_id,
        orgid=principal.org_id,
        data=number,
    )
    async with store.writer() as tx:
        await tx.insert_number(row, event)
    return number


async def get_number(store: Store, principal: Principal, number_id: str) -> PhoneNumberData:
    """One number of the caller's organization."""
    async with store.reader() as tx:
        number = await tx.get_number(principal.org_id, number_id)
    if number is None:
        raise PhoneNumberNotFound(number_id)
    return number


async def list_numbers(
    store: Store, principal: Principal, search: str | None, limit: int, cursor: str | None
) -> Page[PhoneNumberData]:
    """The caller's numbers in E.164 order, filtered by a substring of number or agent names."""
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except ValueError as exc:
            raise ValidationFailed.for_field("cursor", "Invalid cursor") from exc
    term = search.strip() if search else None
    async with store.reader() as tx:
        numbers = await tx.list_numbers(principal.org_id, term or None, limit + 1, after)
    next_cursor = encode_cursor(numbers[limit - 1].phone_number) if len(numbers) > limit else None
    return Page[PhoneNumberData](items=numbers[:limit], next_cursor=next_cursor)


async def update_number(
    store: Store,
    principal: Principal,
    number_id: str,
    body: PhoneNumberUpdate,
    box: SecretBox,
    *,
    allow_private_webhooks: bool,
    allow_private_sip: bool,
) -> PhoneNumberData:
    """Change a number's details; fields left out stay, `null` clears."""
    principal.require_manager()
    changes = _changes(body, box, allow_private_webhooks, allow_private_sip)
    async with store.transaction() as tx:
        if await tx.lock_number(principal.org_id, number_id) is None:
            raise PhoneNumberNotFound(number_id)
        if changes.model_fields_set:
            await tx.update_number(number_id, changes)
            return await _emit_number(
                tx, principal.org_id, number_id, EventName.PHONE_NUMBER_UPDATED
            )
        number = await tx.get_number(principal.org_id, number_id)
    assert number is not None
    return number


async def delete_number(store: Store, principal: Principal, number_id: str) -> None:
    """Delete a number; trunk-sync removes its LiveKit trunks and rule from the event."""
    principal.require_manager()
    async with store.transaction() as tx:
        if await tx.lock_number(principal.org_id, number_id) is None:
            raise PhoneNumberNotFound(number_id)
        number = await tx.get_number(principal.org_id, number_id)
        assert number is not None
        await tx.delete_number(number_id)
        await tx.emit(
            new_event(
                EventName.PHONE_NUMBER_DELETED,
                source=SOURCE,
                subject=number_id,
                orgid=principal.org_id,
                data=number,
            )
        )


async def assign_agents(
    store: Store, principal: Principal, body: AgentAssignment
) -> PhoneNumberData:
    """Set the inbound and outbound agents of a number (the seed's PUT)."""
    principal.require_manager()
    check_assignment(body.inbound_agent_id, body.outbound_agent_id)
    sides = {"inbound_agent_id": body.inbound_agent_id, "outbound_agent_id": body.outbound_agent_id}
    async with store.transaction() as tx:
        # Agents are share-locked (so they cannot be deleted or made text-only meanwhile) before
        # the number, in id order: concurrent assignments never wait on each other's agents, and
        # agent deletion, which locks the agent first too, cannot deadlock with them.
        for agent_id in sorted({a for a in sides.values() if a is not None}):
            agent = await tx.get_agent(principal.org_id, agent_id, lock="share")
            for field in (f for f, a in sides.items() if a == agent_id):
                if agent is None:
                    raise ValidationFailed.for_field(field, f"Agent {agent_id} not found")
                check_voice_capable(field, agent.architecture)
        number_id = await tx.find_number_id(principal.org_id, body.phone_number, lock=True)
        if number_id is None:
            raise PhoneNumberNotFound(body.phone_number)
        changes = PhoneNumberChanges(
            inbound_agent_id=body.inbound_agent_id, outbound_agent_id=body.outbound_agent_id
        )
        await tx.update_number(number_id, changes)
        return await _emit_number(
            tx,
            principal.org_id,
            number_id,
            EventName.PHONE_NUMBER_UPDATED,
            agent_field="inbound_agent_id" if body.inbound_agent_id else None,
        )


async def _emit_number(
    tx: Tx, org_id: str, number_id: str, name: EventName, *, agent_field: str | None = None
) -> PhoneNumberData:
    """Read the changed number, check the rules that span fields (raising rolls the change
    back) and write its event."""
    number = await tx.get_number(org_id, number_id)
    assert number is not None
    check_inbound_security(number, agent_field=agent_field)
    await tx.emit(new_event(name, source=SOURCE, subject=number_id, orgid=org_id, data=number))
    return number
