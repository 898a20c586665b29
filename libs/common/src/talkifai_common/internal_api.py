"""numbers-api's internal representations (`/internal/*`, with the internal token only), shared
by numbers-api, which answers with them, and the services that read them; and the listing of
every number through an httpx client that carries the token.

`TrunkCredentials` carries a number's SIP password, which trunk-sync hands to LiveKit and
nowhere else: it is a `SecretStr`, masked in `repr`, `str` and every ordinary dump, and written in
clear only by `reveal_json`, which numbers-api's internal routes alone call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from opentelemetry import propagate
from pydantic import BaseModel, ConfigDict, Field, SecretStr, SerializationInfo, field_serializer

from talkifai_common.events import (
    AgentData,
    LiveKitResources,
    MediaEncryption,
    PhoneNumberData,
    SipTransport,
)

PAGE_LIMIT = 200  # numbers-api's largest page
_REVEAL = "reveal_secrets"  # the serialization context key that writes secrets in clear


class InternalPhoneNumber(PhoneNumberData):
    """A number with its organization and LiveKit resources, for internal callers."""

    org_id: str
    livekit: LiveKitResources = Field(
        default_factory=LiveKitResources,
        description="The LiveKit resources of the number's last synced version, as trunk-sync "
        "reported them (ids stay when a later sync fails).",
    )


class InternalAgent(AgentData):
    """An agent with its organization, for internal callers."""

    org_id: str


class TrunkCredentials(BaseModel):
    """A number's trunk settings with its SIP passwords (the outbound one LiveKit answers the
    carrier's challenges with, the inbound one LiveKit challenges the carrier for), for
    trunk-sync to hand LiveKit."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    phone_number_id: str
    phone_number: str
    org_id: str
    version: int
    termination_uri: str | None
    sip_username: str | None
    sip_password: SecretStr | None = Field(repr=False)
    sip_transport: SipTransport
    media_encryption: MediaEncryption
    inbound_auth_password: SecretStr | None = Field(default=None, repr=False)

    @field_serializer("sip_password", "inbound_auth_password", when_used="json")
    def _password_masked_unless_revealed(
        self, password: SecretStr | None, info: SerializationInfo
    ) -> str | None:
        if password is None:
            return None
        if isinstance(info.context, dict) and info.context.get(_REVEAL) is True:
            return password.get_secret_value()
        return str(password)


class NumberForSync(BaseModel):
    """A number and its outbound credentials, read together (one consistent version)."""

    number: InternalPhoneNumber
    trunk_credentials: TrunkCredentials


class NumbersForSync(BaseModel):
    """The requested numbers that exist, each with its outbound credentials."""

    items: list[NumberForSync]


def reveal_json(model: BaseModel) -> str:
    """`model`'s JSON with its secrets in clear: only for an answer to the internal token."""
    return model.model_dump_json(context={_REVEAL: True})


class _NumberPage(BaseModel):
    items: list[InternalPhoneNumber]
    next_cursor: str | None = None


async def phone_number_pages(http: httpx.AsyncClient) -> AsyncIterator[list[InternalPhoneNumber]]:
    """Every number of every organization from `GET /internal/phone-numbers`, a page at a time in
    id order. `http` has numbers-api's base URL and the internal token; raises `httpx.HTTPError`
    (an `httpx.HTTPStatusError` for any answer but 200)."""
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": PAGE_LIMIT}
        if cursor:
            params["cursor"] = cursor
        headers: dict[str, str] = {}
        propagate.inject(headers)
        response = await http.get("/internal/phone-numbers", params=params, headers=headers)
        response.raise_for_status()
        page = _NumberPage.model_validate_json(response.content)
        yield page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor
