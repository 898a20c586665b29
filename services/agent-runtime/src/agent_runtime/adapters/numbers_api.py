"""numbers-api's internal endpoints: one agent, one number, every number (bearer token)."""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import ValidationError

from agent_runtime.directory import KnownAgent, KnownNumber
from agent_runtime.domain import UpstreamUnavailable
from talkifai_common.events import AgentData, PhoneNumberData
from talkifai_common.internal_api import InternalAgent, InternalPhoneNumber, phone_number_pages

M = TypeVar("M", InternalAgent, InternalPhoneNumber)
# The internal representations' extras, left out of what agent-runtime keeps.
_INTERNAL_ONLY = {"org_id", "livekit"}


class NumbersApiClient:
    """AgentSource and NumberSource over numbers-api's `/internal` routes."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 5.0) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s
        )

    async def _get(self, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
        try:
            response = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"numbers-api did not answer {path}: {exc}") from exc
        if response.status_code >= 500 or response.status_code in (401, 403):
            raise UpstreamUnavailable(f"numbers-api answered {response.status_code} for {path}")
        return response

    async def fetch_agent(self, agent_id: str) -> KnownAgent | None:
        """`GET /internal/agents/{id}`; None when numbers-api has no such agent."""
        response = await self._get(f"/internal/agents/{agent_id}")
        if response.status_code == 404:
            return None
        agent = _parse(InternalAgent, response)
        return KnownAgent(agent.org_id, AgentData(**agent.model_dump(exclude={"org_id"})))

    async def fetch_number(self, number_id: str) -> KnownNumber | None:
        """`GET /internal/phone-numbers/{id}`; None when it is gone."""
        response = await self._get(f"/internal/phone-numbers/{number_id}")
        if response.status_code == 404:
            return None
        return _known(_parse(InternalPhoneNumber, response))

    async def all_numbers(self) -> list[KnownNumber]:
        """Every number of every organization, page by page."""
        try:
            return [_known(n) async for page in phone_number_pages(self._http) for n in page]
        except (httpx.HTTPError, ValidationError) as exc:
            raise UpstreamUnavailable(f"numbers-api could not list the numbers: {exc}") from exc

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def _known(number: InternalPhoneNumber) -> KnownNumber:
    return KnownNumber(number.org_id, PhoneNumberData(**number.model_dump(exclude=_INTERNAL_ONLY)))


def _parse(model: type[M], response: httpx.Response) -> M:
    if response.status_code != 200:
        raise UpstreamUnavailable(f"numbers-api answered {response.status_code}")
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise UpstreamUnavailable(f"numbers-api answered an unreadable body: {exc}") from exc
