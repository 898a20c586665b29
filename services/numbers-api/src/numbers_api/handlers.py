"""numbers-api's use cases: plain async functions over a Store, each one transaction.

Every change writes its CloudEvent in the same transaction, so an event exists exactly when the
change committed. Reads and writes are scoped by the caller's organization.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import SecretStr

from numbers_api.adapters.postgres import (
    Store,
    SyncRecorded,
    Tx,
    decode_cursor,
    encode_cursor,
    internal_from_row,
    new_number_row,
    number_from_row,
)
from numbers_api.domain import (
    agent_in_use,
    check_assignment,
    check_termination_host,
    check_voice_capable,
    new_id,
)
from numbers_api.schemas import (
    AgentAssignment,
    AgentCreate,
    AgentUpdate,
    Page,
    PhoneNumberCreate,
    PhoneNumberUpdate,
)
from talkifai_common.auth import Principal
from talkifai_common.crypto import SecretBox
from talkifai_common.destinations import DestinationRefused, validate_webhook_url
from talkifai_common.errors import Conflict, NotFound, ValidationFailed
from talkifai_common.events import (
    AgentData,
    CloudEvent,
    EventName,
    PhoneNumberData,
    PhoneNumberSyncData,
    SyncState,
    new_event,
)
from talkifai_common.internal_api import InternalPhoneNumber, OutboundCredentials
from talkifai_common.voice import (
    DEFAULT_GREETING,
    DEFAULT_INSTRUCTIONS,
    DEFAULT_LANGUAGE,
    Architecture,
    LLMConfig,
    RealtimeConfig,
    STTConfig,
    TTSConfig,
)

SOURCE = "/talkifai/numbers-api"
_SECTIONS = {
    Architecture.PIPELINE: ("stt", "llm", "tts"),
    Architecture.REALTIME: ("realtime",),
    Architecture.TEXT: ("llm",),
}
_DEFAULT_SECTIONS: dict[str, Any] = {
    "stt": STTConfig(),
    "llm": LLMConfig(),
    "tts": TTSConfig(),
    "realtime": RealtimeConfig(),
}


# --- agents ---------------------------------------------------------------------------------


def _resolve_agent(
    agent_id: str,
    body: AgentCreate | AgentUpdate,
    existing: AgentData | None,
    now: datetime,
) -> AgentData:
    """Merge a body into an agent, filling defaults for the sections its architecture uses."""
    given = body.model_dump(exclude_unset=True)
    for key, value in list(given.items()):
        if value is None and key in ("name", "architecture"):
            raise ValidationFailed.for_field(key, "Field may not be null")
    architecture = body.architecture or (existing.architecture if existing else None)
    assert architecture is not None  # AgentCreate requires it
    wanted = _SECTIONS[architecture]
    errors = [
        key
        for key in ("stt", "llm", "tts", "realtime")
        if key in given and given[key] is not None and key not in wanted
    ]
    if errors:
        raise ValidationFailed.for_field(
            errors[0], f"{architecture.value} agents have no {errors[0]} configuration"
        )
    sections: dict[str, Any] = {}
    for key in ("stt", "llm", "tts", "realtime"):
        if key not in wanted:
            sections[key] = None
        elif getattr(body, key) is not None:
            sections[key] = getattr(body, key)
        elif existing is not None and getattr(existing, key) is not None:
            sections[key] = getattr(existing, key)
        else:
            sections[key] = _DEFAULT_SECTIONS[key]

    def pick(name: str, default: str) -> str:
        value = getattr(body, name)
        if value is not None:
            return str(value)
        return str(getattr(existing, name)) if existing else default

    return AgentData(
        id=agent_id,
        name=pick("name", ""),
        architecture=architecture,
        instructions=pick("instructions", DEFAULT_INSTRUCTIONS),
        greeting=pick("greeting", DEFAULT_GREETING),
        language=pick("language", DEFAULT_LANGUAGE),
        version=existing.version if existing else 1,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        **sections,
    )


async def create_agent(store: Store, principal: Principal, body: AgentCreate) -> AgentData:
    """Create an agent in the caller's organization."""
    principal.require_manager()
    agent = _resolve_agent(new_id("agent"), body, None, datetime.now(UTC))
    async with store.transaction() as tx:
        stored = await tx.insert_agent(principal.org_id, agent)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_CREATED, stored)
    return stored


async def get_agent(store: Store, principal: Principal, agent_id: str) -> AgentData:
    """One agent of the caller's organization."""
    async with store.reader() as tx:
        agent = await tx.get_agent(principal.org_id, agent_id)
    if agent is None:
        raise NotFound(f"Agent {agent_id} not found")
    return agent


async def list_agents(
    store: Store, principal: Principal, limit: int, cursor: str | None
) -> Page[AgentData]:
    """The caller's agents in creation order."""
    after = None
    if cursor:
        try:
            created, _, agent_id = decode_cursor(cursor).partition("|")
            after = (datetime.fromisoformat(created), agent_id)
        except ValueError as exc:
            raise ValidationFailed.for_field("cursor", "Invalid cursor") from exc
    async with store.reader() as tx:
        agents = await tx.list_agents(principal.org_id, limit + 1, after)
    next_cursor = None
    if len(agents) > limit:
        last = agents[limit - 1]
        next_cursor = encode_cursor(f"{last.created_at.isoformat()}|{last.id}")
    return Page[AgentData](items=agents[:limit], next_cursor=next_cursor)


async def update_agent(
    store: Store, principal: Principal, agent_id: str, body: AgentUpdate
) -> AgentData:
    """Change an agent; an agent on a phone number cannot become text-only."""
    principal.require_manager()
    async with store.transaction() as tx:
        existing = await tx.get_agent(principal.org_id, agent_id, lock="update")
        if existing is None:
            raise NotFound(f"Agent {agent_id} not found")
        agent = _resolve_agent(agent_id, body, existing, datetime.now(UTC))
        if not agent.architecture.is_voice:
            numbers = await tx.numbers_using_agent(agent_id)
            if numbers:
                raise agent_in_use("a text-only agent cannot make voice calls", numbers)
        stored = await tx.update_agent(principal.org_id, agent)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_UPDATED, stored)
    return stored


async def delete_agent(store: Store, principal: Principal, agent_id: str) -> None:
    """Delete an agent that no phone number uses."""
    principal.require_manager()
    async with store.transaction() as tx:
        agent = await tx.get_agent(principal.org_id, agent_id, lock="update")
        if agent is None:
            raise NotFound(f"Agent {agent_id} not found")
        numbers = await tx.numbers_using_agent(agent_id)
        if numbers:
            raise agent_in_use("unassign it before deleting it", numbers)
        await tx.delete_agent(principal.org_id, agent_id)
        await _emit_agent(tx, principal.org_id, EventName.AGENT_DELETED, agent)


async def _emit_agent(tx: Tx, org_id: str, name: EventName, agent: AgentData) -> None:
    await tx.emit(new_event(name, source=SOURCE, subject=agent.id, orgid=org_id, data=agent))


# --- phone numbers --------------------------------------------------------------------------


def _number_fields(
    body: PhoneNumberCreate | PhoneNumberUpdate,
    box: SecretBox,
    allow_private_webhooks: bool,
    allow_private_sip: bool,
) -> dict[str, Any]:
    """Columns to write from the fields the body set; encrypts the password, checks where the
    webhook and termination URI point."""
    fields: dict[str, Any] = {}
    for name in body.model_fields_set | (
        set(type(body).model_fields) if isinstance(body, PhoneNumberCreate) else set()
    ):
        value = getattr(body, name)
        if name == "phone_number" and value is None:
            raise ValidationFailed.for_field("phone_number", "Phone number may not be null")
        if name in ("recording_mode", "sip_transport", "media_encryption"):
            if value is None:
                raise ValidationFailed.for_field(name, "Field may not be null")
            fields[name] = value.value
        elif name == "sip_password":
            fields["sip_password_ciphertext"] = (
                box.encrypt(value.get_secret_value()) if value is not None else None
            )
        elif name == "webhook_url" and value is not None:
            try:
                fields[name] = validate_webhook_url(value, allow_private=allow_private_webhooks)
            except DestinationRefused as exc:
                raise ValidationFailed.for_field("webhook_url", str(exc)) from exc
        elif name == "termination_uri" and value is not None:
            try:
                check_termination_host(value, allow_private=allow_private_sip)
            except DestinationRefused as exc:
                raise ValidationFailed.for_field("termination_uri", str(exc)) from exc
            fields[name] = value
        else:
            fields[name] = value
    return fields


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
    fields = _number_fields(body, box, allow_private_webhooks, allow_private_sip)
    number_id = new_id("pn")
    row = new_number_row(principal.org_id, number_id, fields, datetime.now(UTC))
    number = number_from_row(row)
    event = new_event(
        EventName.PHONE_NUMBER_CREATED,
        source=SOURCE,
        subject=number_id,
        orgid=principal.org_id,
        data=number,
    )
    async with store.reader() as tx:
        try:
            await tx.insert_number(row, event)
        except asyncpg.UniqueViolationError as exc:
            raise _already_registered(body.phone_number) from exc
    return number


async def get_number(store: Store, principal: Principal, number_id: str) -> PhoneNumberData:
    """One number of the caller's organization."""
    async with store.reader() as tx:
        number = await tx.get_number(principal.org_id, number_id)
    if number is None:
        raise NotFound(f"Phone number {number_id} not found")
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
    fields = _number_fields(body, box, allow_private_webhooks, allow_private_sip)
    async with store.transaction() as tx:
        if await tx.lock_number(principal.org_id, number_id) is None:
            raise NotFound(f"Phone number {number_id} not found")
        if fields:
            try:
                await tx.update_number(number_id, fields)
            except asyncpg.UniqueViolationError as exc:
                raise _already_registered(str(fields.get("phone_number"))) from exc
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
            raise NotFound(f"Phone number {number_id} not found")
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
    async with store.transaction() as tx:
        # Agents are share-locked (so they cannot be deleted or made text-only meanwhile) before
        # the number, in id order: concurrent assignments never wait on each other's agents, and
        # agent deletion, which locks the agent first too, cannot deadlock with them.
        fields = {
            "inbound_agent_id": body.inbound_agent_id,
            "outbound_agent_id": body.outbound_agent_id,
        }
        for agent_id in sorted({a for a in fields.values() if a is not None}):
            agent = await tx.get_agent(principal.org_id, agent_id, lock="share")
            for field in (f for f, a in fields.items() if a == agent_id):
                if agent is None:
                    raise ValidationFailed.for_field(field, f"Agent {agent_id} not found")
                check_voice_capable(field, agent.architecture)
        number_id = await tx.find_number_id(principal.org_id, body.phone_number, lock=True)
        if number_id is None:
            raise NotFound(f"Phone number {body.phone_number} not found")
        await tx.update_number(
            number_id,
            {
                "inbound_agent_id": body.inbound_agent_id,
                "outbound_agent_id": body.outbound_agent_id,
            },
        )
        return await _emit_number(tx, principal.org_id, number_id, EventName.PHONE_NUMBER_UPDATED)


async def _emit_number(tx: Tx, org_id: str, number_id: str, name: EventName) -> PhoneNumberData:
    number = await tx.get_number(org_id, number_id)
    assert number is not None
    await tx.emit(new_event(name, source=SOURCE, subject=number_id, orgid=org_id, data=number))
    return number


def _already_registered(phone_number: str) -> Conflict:
    return Conflict(f"Phone number {phone_number} is already registered")


# --- trunk-sync and internal callers --------------------------------------------------------


async def record_sync_result(store: Store, event: CloudEvent[PhoneNumberSyncData]) -> SyncRecorded:
    """Keep a number's sync state current; a stale result (older version, or a failure after
    the same version was synced) is recognised and left unapplied."""
    data = event.data
    error = data.error if data.state is SyncState.FAILED else None
    # A single UPDATE guarded by the version is atomic alone: no BEGIN/COMMIT round trips.
    async with store.reader() as tx:
        return await tx.record_sync(
            data.phone_number_id, data.version, data.state, error, data.at, data.resources
        )


async def outbound_credentials(store: Store, number_id: str, box: SecretBox) -> OutboundCredentials:
    """Internal: a number's outbound trunk settings with the decrypted SIP password."""
    async with store.reader() as tx:
        row = await tx.number_org(number_id)
    if row is None:
        raise NotFound(f"Phone number {number_id} not found")
    return _credentials(row, box)


async def number_for_sync(
    store: Store, number_id: str, box: SecretBox
) -> tuple[InternalPhoneNumber, OutboundCredentials]:
    """Internal: a number and its outbound credentials from one row."""
    async with store.reader() as tx:
        row = await tx.number_view(number_id)
    if row is None:
        raise NotFound(f"Phone number {number_id} not found")
    return internal_from_row(row), _credentials(row, box)


async def numbers_for_sync(
    store: Store, number_ids: list[str], box: SecretBox
) -> list[tuple[InternalPhoneNumber, OutboundCredentials]]:
    """Internal: `number_for_sync` for many numbers in one read; absent ones are left out."""
    async with store.reader() as tx:
        rows = await tx.number_views(number_ids)
    return [(internal_from_row(row), _credentials(row, box)) for row in rows]


def _credentials(row: Mapping[str, Any], box: SecretBox) -> OutboundCredentials:
    ciphertext = row["sip_password_ciphertext"]
    return OutboundCredentials(
        phone_number_id=row["id"],
        phone_number=row["phone_number"],
        org_id=row["org_id"],
        version=row["version"],
        termination_uri=row["termination_uri"],
        sip_username=row["sip_username"],
        sip_password=SecretStr(box.decrypt(ciphertext)) if ciphertext is not None else None,
        sip_transport=row["sip_transport"],
        media_encryption=row["media_encryption"],
    )


async def internal_number(store: Store, number_id: str) -> InternalPhoneNumber:
    """Internal: a number with its organization and LiveKit resources, across organizations."""
    async with store.reader() as tx:
        found = await tx.number_with_org(number_id)
    if found is None:
        raise NotFound(f"Phone number {number_id} not found")
    return found


async def internal_agent(store: Store, agent_id: str) -> tuple[str, AgentData]:
    """Internal: an agent and its organization, by id across organizations."""
    async with store.reader() as tx:
        found = await tx.agent_with_org(agent_id)
    if found is None:
        raise NotFound(f"Agent {agent_id} not found")
    return found


async def list_all_numbers(
    store: Store, limit: int, cursor: str | None
) -> tuple[list[InternalPhoneNumber], str | None]:
    """Internal: every organization's numbers (trunk-sync's full reconcile, read models)."""
    try:
        after = decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise ValidationFailed.for_field("cursor", "Invalid cursor") from exc
    async with store.reader() as tx:
        rows = await tx.all_numbers(after, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def rotate_keys(store: Store, box: SecretBox, batch_size: int = 500) -> int:
    """Re-encrypt every stored SIP password with the newest key; returns how many."""
    rotated = 0
    after: str | None = None
    while True:
        async with store.transaction() as tx:
            rows = await tx.ciphertexts(after, batch_size)
            for row in rows:
                await tx.set_ciphertext(row["id"], box.rotate(row["sip_password_ciphertext"]))
        rotated += len(rows)
        if len(rows) < batch_size:
            return rotated
        after = rows[-1]["id"]
