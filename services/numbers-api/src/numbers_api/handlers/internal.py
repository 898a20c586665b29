"""Use cases of trunk-sync and other internal callers: sync results, reads across
organizations with or without the SIP password, and key rotation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from numbers_api.adapters.postgres import (
    Store,
    SyncRecorded,
    decode_cursor,
    encode_cursor,
    internal_from_row,
)
from numbers_api.errors import AgentNotFound, PhoneNumberNotFound
from talkifai_common.crypto import SecretBox
from talkifai_common.errors import ValidationFailed
from talkifai_common.events import AgentData, CloudEvent, PhoneNumberSyncData, SyncState
from talkifai_common.internal_api import InternalPhoneNumber, TrunkCredentials


async def record_sync_result(store: Store, event: CloudEvent[PhoneNumberSyncData]) -> SyncRecorded:
    """Keep a number's sync state current; a stale result (older version, or a failure after
    the same version was synced) is recognised and left unapplied."""
    data = event.data
    error = data.error if data.state is SyncState.FAILED else None
    # A single UPDATE guarded by the version is atomic alone: no BEGIN/COMMIT round trips.
    async with store.writer() as tx:
        return await tx.record_sync(
            data.phone_number_id, data.version, data.state, error, data.at, data.resources
        )


async def trunk_credentials(store: Store, number_id: str, box: SecretBox) -> TrunkCredentials:
    """Internal: a number's outbound trunk settings with the decrypted SIP password."""
    async with store.reader() as tx:
        row = await tx.number_org(number_id)
    if row is None:
        raise PhoneNumberNotFound(number_id)
    return _credentials(row, box)


async def number_for_sync(
    store: Store, number_id: str, box: SecretBox
) -> tuple[InternalPhoneNumber, TrunkCredentials]:
    """Internal: a number and its outbound credentials from one row."""
    async with store.reader() as tx:
        row = await tx.number_view(number_id)
    if row is None:
        raise PhoneNumberNotFound(number_id)
    return internal_from_row(row), _credentials(row, box)


async def numbers_for_sync(
    store: Store, number_ids: list[str], box: SecretBox
) -> list[tuple[InternalPhoneNumber, TrunkCredentials]]:
    """Internal: `number_for_sync` for many numbers in one read; absent ones are left out."""
    async with store.reader() as tx:
        rows = await tx.number_views(number_ids)
    return [(internal_from_row(row), _credentials(row, box)) for row in rows]


def _credentials(row: Mapping[str, Any], box: SecretBox) -> TrunkCredentials:
    def clear(column: str) -> SecretStr | None:
        ciphertext = row[column]
        return SecretStr(box.decrypt(ciphertext)) if ciphertext is not None else None

    return TrunkCredentials(
        phone_number_id=row["id"],
        phone_number=row["phone_number"],
        org_id=row["org_id"],
        version=row["version"],
        termination_uri=row["termination_uri"],
        sip_username=row["sip_username"],
        sip_password=clear("sip_password_ciphertext"),
        sip_transport=row["sip_transport"],
        media_encryption=row["media_encryption"],
        inbound_auth_password=clear("inbound_auth_password_ciphertext"),
    )


async def internal_number(store: Store, number_id: str) -> InternalPhoneNumber:
    """Internal: a number with its organization and LiveKit resources, across organizations."""
    async with store.reader() as tx:
        found = await tx.number_with_org(number_id)
    if found is None:
        raise PhoneNumberNotFound(number_id)
    return found


async def internal_agent(store: Store, agent_id: str) -> tuple[str, AgentData]:
    """Internal: an agent and its organization, by id across organizations."""
    async with store.reader() as tx:
        found = await tx.agent_with_org(agent_id)
    if found is None:
        raise AgentNotFound(agent_id)
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
    """Re-encrypt every stored SIP password (outbound and inbound) with the newest key; returns
    how many numbers."""
    rotated = 0
    after: str | None = None
    while True:
        async with store.transaction() as tx:
            rows = await tx.ciphertexts(after, batch_size)
            for row in rows:
                await tx.set_ciphertexts(
                    row["id"],
                    *(
                        box.rotate(row[column]) if row[column] is not None else None
                        for column in (
                            "sip_password_ciphertext",
                            "inbound_auth_password_ciphertext",
                        )
                    ),
                )
        rotated += len(rows)
        if len(rows) < batch_size:
            return rotated
        after = rows[-1]["id"]
