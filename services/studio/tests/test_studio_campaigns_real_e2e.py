"""A CSV campaign run from the Studio's Campaigns page against the real services (issue 22's
"done when"): numbers-api, trunk-sync and call-orchestrator with its campaign scheduler on
PostgreSQL and nats-server, LiveKit's emulator as LiveKit and the carrier; the stack and the
seeded agent and number are test_studio_calls_e2e's.

In the Studio alone: a new campaign from a four-row CSV file (one line refused in the preview,
with its line and reason), created and started, watched running until it completes (two callees
answer and hang up, one of them after ringing for 3 s; one is busy and is not retried), then
results.csv downloaded: a line per accepted row with its status.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from talkifai_common.auth import Role
from tests.support.trunk_sync import token_factory

from .conftest import NewPage
from .real_stack import NUMBER, CallStack, number_with_outbound_agent

expect = pytest.importorskip(
    "playwright.async_api", reason="Studio e2e: the playwright package is not installed"
).expect

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

ANSWERS = ("+12025550131", "+12025550132")
BUSY = "+12025550133"
# The callee picks up, waits 300 ms and hangs up: the call completes without an agent.
HANG_UP_AFTER_300_MS: list[dict[str, Any]] = [{"wait_ms": 300}, {"hangup": True}]


def calling_zone(now: datetime) -> str:
    """A time zone whose local time is well inside a 00:00-23:59 window now (the window's last
    minute is outside it): UTC, else (around midnight UTC) Tokyo, nine hours ahead, no DST."""
    return "UTC" if 1 <= now.hour < 22 else "Asia/Tokyo"


def contacts_csv(zone: str) -> str:
    """Two callees that answer, a line that is not a number (line 4), one busy callee."""
    return (
        "to_number,time_zone,name\n"
        f"{ANSWERS[0]},{zone},Ada\n"
        f"{ANSWERS[1]},{zone},Bob\n"
        "12,,Cy\n"
        f"{BUSY},{zone},Dee\n"
    )


async def test_a_new_user_runs_a_csv_campaign_from_the_studio_and_downloads_its_results(
    call_stack: CallStack,
    new_page: NewPage,
    artifacts: Path,
) -> None:
    stack = call_stack
    await number_with_outbound_agent(stack)
    await stack.lk.control.set_outcome(ANSWERS[0], script=HANG_UP_AFTER_300_MS)
    # The second rings for 3 s first: the campaign's page surely opens on a running campaign.
    await stack.lk.control.set_outcome(ANSWERS[1], ring_ms=3000, script=HANG_UP_AFTER_300_MS)
    await stack.lk.control.set_outcome(BUSY, sip_status_code=486)
    zone = calling_zone(datetime.now(UTC))
    token = token_factory()("org_a", Role.OWNER)

    page = await new_page()
    await page.goto(stack.page_url(token))
    await page.get_by_role("link", name="Campaigns").click()
    await expect(page.get_by_text("No campaigns yet")).to_be_visible()
    await page.get_by_role("link", name="New campaign").click()
    form = page.get_by_role("form", name="New campaign")
    await form.get_by_label("Name").fill("December renewals")
    await form.get_by_role("combobox", name="Agent").select_option(label="Sales (pipeline)")
    await form.get_by_label(NUMBER).check()

    # The server checks the file: the refused line with its reason, a preview of the others.
    await form.get_by_label("CSV file").set_input_files(
        files=[
            {"name": "contacts.csv", "mimeType": "text/csv", "buffer": contacts_csv(zone).encode()}
        ]
    )
    await expect(form.get_by_text("contacts.csv: 4 rows")).to_be_visible()
    await expect(
        form.get_by_text("3 rows will be called; 1 row is refused and left out.")
    ).to_be_visible()
    refused = form.get_by_role("table", name="Refused rows")
    await expect(refused.get_by_test_id("rejected-row")).to_have_count(1)
    await expect(refused.get_by_test_id("rejected-row")).to_contain_text(
        re.compile(r"^4\s*12\s*invalid number: .*E\.164")
    )
    preview = form.get_by_role("table", name="Preview of accepted rows")
    await expect(preview.get_by_test_id("preview-row")).to_have_count(3)
    await expect(preview.get_by_test_id("preview-row").nth(2)).to_contain_text(BUSY)
    await expect(preview.get_by_text("name: Dee")).to_be_visible()

    # Any day, any time (in the rows' zone), quick pacing, no retry: done in seconds.
    for day in ("Sat", "Sun"):
        await form.get_by_label(day, exact=True).check()
    await form.get_by_label(re.compile(r"^From\b")).fill("00:00")
    await form.get_by_label(re.compile(r"^Until\b")).fill("23:59")
    await form.get_by_label("Calls per second").fill("5")
    await form.get_by_label("Max attempts").fill("1")
    await page.screenshot(path=str(artifacts / "campaign-real-new-1280.png"), full_page=True)
    await form.get_by_role("button", name="Create and start").click()

    # The campaign's page follows it to the end.
    await expect(page).to_have_url(re.compile(r"/telephony/campaigns/cmp_[A-Za-z0-9]+$"))
    campaign_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_role("heading", name="December renewals")).to_be_visible()
    await expect(page.get_by_text("created and started: 3 rows; 1 row was refused")).to_be_visible()
    # Running, then completed, with no reload: the page reads it again while it runs.
    status = page.get_by_test_id("campaign-status")
    await expect(status).to_have_text("Running")
    await expect(status).to_have_text("Completed", timeout=30_000)
    await expect(page.get_by_test_id("count-completed")).to_contain_text("2")
    await expect(page.get_by_test_id("count-failed")).to_contain_text("1")
    await expect(page.get_by_test_id("count-pending")).to_contain_text("0")
    await expect(page.get_by_test_id("calls-in-progress")).to_have_text("0")
    await expect(page.get_by_test_id("campaign-row-item")).to_have_count(3)
    await page.screenshot(path=str(artifacts / "campaign-real-completed-1280.png"), full_page=True)

    # results.csv, fetched by the page with the token and saved: one line per accepted row.
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download results").click()
    download = await info.value
    assert download.suggested_filename == f"{campaign_id}-results.csv"
    saved = await asyncio.to_thread(Path(await download.path()).read_text)
    lines = list(csv.DictReader(io.StringIO(saved)))
    got = [
        (r["line"], r["to_number"], r["status"], r["attempts"], r["last_outcome"]) for r in lines
    ]
    assert got == [
        ("2", ANSWERS[0], "completed", "1", "answered"),
        ("3", ANSWERS[1], "completed", "1", "answered"),
        ("5", BUSY, "failed", "1", "busy"),
    ], saved
    assert lines[2]["last_sip_status_code"] == "486", saved
    assert all(r["last_call_id"].startswith("call_") for r in lines), saved
    assert [r["name"] for r in lines] == ["Ada", "Bob", "Dee"], saved
