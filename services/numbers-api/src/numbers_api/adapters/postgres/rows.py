"""Rows and SQL shared by numbers-api's queries: the number view, search text, cursors and the
mapping of rows to the public and internal models (no secret leaves this module)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import TypeAdapter

from numbers_api.domain import PhoneNumberChanges, number_status
from talkifai_common import carriers
from talkifai_common.events import AgentData, LiveKitResources, PhoneNumberData, SyncState
from talkifai_common.internal_api import InternalPhoneNumber
from talkifai_common.voice import Architecture

NUMBER_VIEW = """
SELECT p.*,
       ia.name AS inbound_agent_name, ia.architecture AS inbound_agent_architecture,
       oa.name AS outbound_agent_name, oa.architecture AS outbound_agent_architecture
FROM phone_numbers p
LEFT JOIN agents ia ON ia.id = p.inbound_agent_id
LEFT JOIN agents oa ON oa.id = p.outbound_agent_id
"""

# One expression keeps search_text right wherever a number or an agent's name changes.
SEARCH_TEXT = "lower({number} || ' ' || coalesce({inbound}, '') || ' ' || coalesce({outbound}, ''))"
REFRESH_SEARCH_TEXT = (
    "UPDATE phone_numbers p SET search_text = "
    + SEARCH_TEXT.format(number="p.phone_number", inbound="ia.name", outbound="oa.name")
    + """
FROM phone_numbers p2
LEFT JOIN agents ia ON ia.id = p2.inbound_agent_id
LEFT JOIN agents oa ON oa.id = p2.outbound_agent_id
WHERE p.id = p2.id AND {where}
"""
)


_CURSOR_PREFIX = "c1:"


def encode_cursor(value: str) -> str:
    """An opaque cursor for the last key of a page."""
    return base64.urlsafe_b64encode((_CURSOR_PREFIX + value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor stands for; ValueError if it was not made by encode_cursor."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("malformed cursor") from exc
    if not text.startswith(_CURSOR_PREFIX):
        raise ValueError("malformed cursor")
    return text.removeprefix(_CURSOR_PREFIX)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so user input matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def agent_from_row(row: asyncpg.Record) -> AgentData:
    """The public agent from its row."""
    config: dict[str, Any] = row["config"]
    return AgentData(
        id=row["id"],
        name=row["name"],
        architecture=Architecture(row["architecture"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        **config,
    )


def _number_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """The public fields of a `NUMBER_VIEW` row (no secret leaves this function)."""

    def ref(side: str) -> dict[str, Any] | None:
        agent_id = row[f"{side}_agent_id"]
        if agent_id is None:
            return None
        return {
            "id": agent_id,
            "name": row[f"{side}_agent_name"],
            "architecture": row[f"{side}_agent_architecture"],
        }

    has_password = row["sip_password_ciphertext"] is not None
    return {
        "id": row["id"],
        "phone_number": row["phone_number"],
        "termination_uri": row["termination_uri"],
        "sip_username": row["sip_username"],
        "has_sip_password": has_password,
        "inbound_agent": ref("inbound"),
        "outbound_agent": ref("outbound"),
        "webhook_url": row["webhook_url"],
        "recording_mode": row["recording_mode"],
        "sip_transport": row["sip_transport"],
        "media_encryption": row["media_encryption"],
        "carrier": row["carrier"],
        "inbound_allowed_addresses": row["inbound_allowed_addresses"],
        "inbound_auth_username": row["inbound_auth_username"],
        "has_inbound_auth_password": row["inbound_auth_password_ciphertext"] is not None,
        "inbound_allow_any_source": row["inbound_allow_any_source"],
        "number_format": row["number_format"],
        "sip_headers": row["sip_headers"],
        "last_check": row["last_check"],
        "status": number_status(
            termination_uri=row["termination_uri"],
            inbound_agent_id=row["inbound_agent_id"],
            outbound_agent_id=row["outbound_agent_id"],
            sip_username=row["sip_username"],
            has_sip_password=has_password,
        ),
        "sync": {
            "state": row["sync_state"],
            "error": row["sync_error"],
            "synced_at": row["synced_at"],
        },
        "version": row["version"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


_NUMBERS = TypeAdapter(list[PhoneNumberData])


def number_from_row(row: Mapping[str, Any]) -> PhoneNumberData:
    """The public phone number from a `NUMBER_VIEW` row."""
    return PhoneNumberData.model_validate(_number_dict(row))


def numbers_from_rows(rows: Sequence[asyncpg.Record]) -> list[PhoneNumberData]:
    """Many numbers, validated in one pass (list pages are the hot path)."""
    return _NUMBERS.validate_python([_number_dict(row) for row in rows])


def internal_from_row(row: Mapping[str, Any]) -> InternalPhoneNumber:
    """The internal representation of a `NUMBER_VIEW` row: with the organization and the
    LiveKit resources of the last sync."""
    return InternalPhoneNumber(
        **_number_dict(row),
        org_id=row["org_id"],
        livekit=LiveKitResources(
            inbound_trunk_id=row["inbound_trunk_id"],
            outbound_trunk_id=row["outbound_trunk_id"],
            dispatch_rule_id=row["dispatch_rule_id"],
        ),
    )


NUMBER_COLUMNS = (
    "id",
    "org_id",
    "phone_number",
    "termination_uri",
    "sip_username",
    "sip_password_ciphertext",
    "webhook_url",
    "recording_mode",
    "sip_transport",
    "media_encryption",
    "carrier",
    "inbound_allowed_addresses",
    "inbound_auth_username",
    "inbound_auth_password_ciphertext",
    "inbound_allow_any_source",
    "number_format",
    "sip_headers",
    "sync_state",
    "sync_error",
    "synced_at",
    "version",
    "created_at",
    "updated_at",
)


def new_number_row(
    org_id: str, number_id: str, changes: PhoneNumberChanges, now: datetime
) -> dict[str, Any]:
    """The row a new number is stored as, shaped like a `NUMBER_VIEW` row: the public number is
    `number_from_row` of it before it is written (a new number has no agents)."""
    fields = changes.columns()
    unknown = set(fields) - set(NUMBER_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of a new number: {sorted(unknown)}")
    return {
        "id": number_id,
        "org_id": org_id,
        "termination_uri": None,
        "sip_username": None,
        "sip_password_ciphertext": None,
        "webhook_url": None,
        "carrier": carriers.CUSTOM,
        "inbound_allowed_addresses": None,
        "inbound_auth_username": None,
        "inbound_auth_password_ciphertext": None,
        "inbound_allow_any_source": False,
        "number_format": None,
        "sip_headers": None,
        "last_check": None,
        **fields,
        "sync_state": SyncState.PENDING,
        "sync_error": None,
        "synced_at": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **_NO_AGENTS,
    }


_NO_AGENTS = {
    f"{side}_agent_{what}": None
    for side in ("inbound", "outbound")
    for what in ("id", "name", "architecture")
}
