"""call-orchestrator's internal endpoints (bearer token): recording consent, agent failures."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote

import httpx

from agent_runtime.domain import AgentRuntimeError, UpstreamUnavailable
from talkifai_common.events import CallAgentFailedData


class ConsentRejected(AgentRuntimeError):
    """call-orchestrator refused the report (unknown call, number not in consent mode, ...)."""

    reason = "consent_rejected"


class ConsentPort(Protocol):
    """Reports a granted recording consent for a call (by its id, else by its room)."""

    async def report_consent(self, call_id: str | None, room: str) -> str: ...


class AgentFailureReportRejected(AgentRuntimeError):
    """call-orchestrator refused an agent failure report (no such call, malformed report)."""

    reason = "failure_report_rejected"


class AgentFailurePort(Protocol):
    """Tells call-orchestrator that the agent of a call failed, so the call ends as failed."""

    async def report_agent_failure(self, report: CallAgentFailedData) -> None: ...


class OrchestratorClient:
    """`POST /internal/calls/{call_id}/recording-consent` `{"consent": true}`, or
    `/internal/rooms/{room}/recording-consent` for an inbound call, whose job names no call id."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 5.0) -> None:
        self._base_url = base_url
        self._token = token
        self._timeout_s = timeout_s

    async def report_consent(self, call_id: str | None, room: str) -> str:
        """Report consent; returns the recording's egress id that call-orchestrator started."""
        path = (
            f"/internal/calls/{quote(call_id, safe='')}/recording-consent"
            if call_id
            else f"/internal/rooms/{quote(room, safe='')}/recording-consent"
        )
        # A client per report: the job runs on its own event loop and the call is rare.
        async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout_s) as http:
            try:
                response = await http.post(
                    path,
                    json={"consent": True},
                    headers={"Authorization": f"Bearer {self._token}"},
                )
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"call-orchestrator did not answer: {exc}") from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"call-orchestrator answered {response.status_code}")
        if response.status_code != 200:
            detail = _detail(response)
            raise ConsentRejected(
                f"call-orchestrator refused the consent report ({response.status_code}): {detail}"
            )
        egress_id: str = response.json().get("recording_egress_id", "")
        return egress_id

    async def report_agent_failure(self, report: CallAgentFailedData) -> None:
        """`POST /internal/agent-failures`: the call (by id, else by room) ends as failed with
        reason `agent_failed` and the agent's error."""
        async with httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout_s) as http:
            try:
                response = await http.post(
                    "/internal/agent-failures",
                    content=report.model_dump_json(),
                    headers={
                        "Authorization": f"Bearer {self._token}",
                        "Content-Type": "application/json",
                    },
                )
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"call-orchestrator did not answer: {exc}") from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"call-orchestrator answered {response.status_code}")
        if response.status_code != 200:
            raise AgentFailureReportRejected(
                f"call-orchestrator refused the agent failure report ({response.status_code}): "
                f"{_detail(response)}"
            )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]
