"""Helpers of the campaign tests: create campaigns, read them, control their scheduler's clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from talkifai_common.auth import Role
from tests.support.call_orchestrator import Harness, Seeded, eventually


class ManualClock:
    """A clock a test sets and moves (the scheduler's `Clock`)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """The instant the test set."""
        return self.at

    def set(self, at: datetime) -> None:
        """Jump to `at`."""
        self.at = at

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.at += timedelta(seconds=seconds)


def admin(harness: Harness, org_id: str = "org_a") -> dict[str, str]:
    """An admin's bearer header."""
    return harness.headers(org_id, Role.ADMIN)


def campaign_body(seeded: Seeded, rows: list[Any], **settings: Any) -> dict[str, Any]:
    """A JSON `POST /campaigns` body from the seeded number and agent."""
    body: dict[str, Any] = {
        "name": "December renewals",
        "agent_id": seeded.agent.id,
        "from_numbers": [seeded.phone_number],
        "rows": rows,
        "pacing": {"calls_per_second": 50, "max_concurrent": 5},
        "retry": {"max_attempts": 1, "delay_s": 0},
    }
    body.update(settings)
    return body


async def create(
    harness: Harness, body: dict[str, Any], *, dry_run: bool = False, org_id: str = "org_a"
) -> httpx.Response:
    """`POST /campaigns` with JSON as an admin."""
    return await harness.http.post(
        "/campaigns",
        params={"dry_run": "true"} if dry_run else None,
        json=body,
        headers=admin(harness, org_id),
    )


async def upload(
    harness: Harness,
    csv_text: str | bytes,
    settings: dict[str, Any],
    *,
    dry_run: bool = False,
) -> httpx.Response:
    """`POST /campaigns` with a CSV upload as an admin."""
    content = csv_text.encode() if isinstance(csv_text, str) else csv_text
    return await harness.http.post(
        "/campaigns",
        params={"dry_run": "true"} if dry_run else None,
        files={"file": ("leads.csv", content, "text/csv")},
        data={"campaign": json.dumps(settings)},
        headers=admin(harness),
    )


async def action(harness: Harness, campaign_id: str, name: str) -> httpx.Response:
    """`POST /campaigns/{id}/<name>` as an admin."""
    return await harness.http.post(f"/campaigns/{campaign_id}/{name}", headers=admin(harness))


async def get(harness: Harness, campaign_id: str) -> dict[str, Any]:
    """`GET /campaigns/{id}`."""
    response = await harness.http.get(f"/campaigns/{campaign_id}", headers=harness.headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def rows(harness: Harness, campaign_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of the campaign (one page of 500)."""
    response = await harness.http.get(
        f"/campaigns/{campaign_id}/rows", params={"limit": 500, **params}, headers=harness.headers()
    )
    assert response.status_code == 200, response.text
    return list(response.json()["rows"])


async def wait_status(
    harness: Harness, campaign_id: str, status: str, within_s: float = 20.0
) -> dict[str, Any]:
    """Until the campaign is in `status`."""
    return await eventually(
        lambda: get(harness, campaign_id), lambda c: c["status"] == status, within_s
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
