"""The Campaigns pages in Chromium, the API answered at the network level (tests/campaign_fake.py):
no backend runs. call-orchestrator's campaign routes are built to issue 22's contract in parallel;
these tests hold the Studio to that contract."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from talkifai_common import devinfra
from talkifai_common.auth import Role, issue_hs256_token

from .campaign_fake import FakeBackend, campaign, install, row
from .conftest import NewPage, studio_server
from .test_studio_e2e import assert_no_horizontal_overflow

expect = pytest.importorskip(
    "playwright.async_api", reason="Studio e2e: the playwright package is not installed"
).expect

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CSV = """to_number,name,time_zone
+12025550111,Ada,America/New_York
12,Bob,
+12025550111,Ada again,
+12025550199,Blocked,
+14155550123,Cy,Mars/Olympus
+14155550124,Dee,
"""


@pytest.fixture
def studio() -> Iterator[str]:
    """The Studio's own server with no service behind it: every API path is answered by the page's routes."""
    nowhere = f"http://127.0.0.1:{devinfra.free_port()}"
    with studio_server(nowhere, nowhere) as url:
        yield url


def page_url(studio: str, path: str, role: Role = Role.OWNER) -> str:
    token = issue_hs256_token("campaigns-e2e-secret", sub="user-1", org_id="org_e2e", role=role)
    return f"{studio}{path}#token={token}"


def running_backend() -> FakeBackend:
    """One running campaign: two rows pending, one waiting to retry after a busy line."""
    backend = FakeBackend()
    live = campaign(
        "cmp_live",
        "December renewals",
        "running",
        total=3,
        calls_in_progress=1,
        eta_at=(datetime.now(UTC) + timedelta(hours=2, minutes=30)).isoformat(),
        started_at="2026-12-08T09:00:00Z",
    )
    live["counts"].update(pending=2, waiting_retry=1)
    backend.campaigns = [live]
    backend.rows["cmp_live"] = [
        row("r1", 2, "+12025550111"),
        row("r2", 3, "+12025550112"),
        row("r3", 4, "+12025550113", "waiting_retry", attempts=1),
    ]
    return backend


async def test_owner_creates_a_campaign_from_a_csv_seeing_each_refused_row(
    studio: str, new_page: NewPage
) -> None:
    backend = FakeBackend()
    backend.dnc = [
        {
            "number": "+12025550199",
            "reason": None,
            "added_at": "2026-12-01T00:00:00Z",
            "added_by": "u",
        }
    ]
    page = await new_page()
    await install(page, backend)
    await page.goto(page_url(studio, "/telephony/campaigns"))
    await expect(page.get_by_role("link", name="Campaigns")).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.get_by_text("No campaigns yet")).to_be_visible()
    await page.get_by_role("link", name="New campaign").click()
    await expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    form = page.get_by_role("form", name="New campaign")

    # Nothing filled in: each field says what it needs and the cursor goes to the first.
    await form.get_by_role("button", name="Create as draft").click()
    name = form.get_by_label("Name")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(form.get_by_text("Pick the voice agent")).to_be_visible()
    await expect(form.get_by_text("Choose the CSV file of numbers to call.")).to_be_visible()

    await name.fill("December renewals")
    agent = form.get_by_role("combobox", name="Agent")
    await expect(agent.locator("option")).to_have_text(
        ["Choose an agent", "Sales Agent (realtime)", "Support Agent (pipeline)"]
    )
    await agent.select_option(label="Sales Agent (realtime)")
    await form.get_by_label("+12025550100").check()

    # The file: the server's verdict, each refused row with its line and reason, a preview.
    await form.get_by_label("CSV file").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    await expect(form.get_by_text("contacts.csv: 6 rows")).to_be_visible()
    await expect(
        form.get_by_text("2 rows will be called; 4 rows are refused and left out.")
    ).to_be_visible()
    refused = form.get_by_role("table", name="Refused rows")
    await expect(refused.get_by_test_id("rejected-row")).to_have_count(4)
    await expect(
        refused.get_by_role("row", name=re.compile("^3 12 Invalid number"))
    ).to_be_visible()
    await expect(refused.get_by_text("Duplicate of line 2")).to_be_visible()
    await expect(refused.get_by_text("On the do-not-call list")).to_be_visible()
    await expect(refused.get_by_text("Unknown time zone Mars/Olympus")).to_be_visible()
    preview = form.get_by_role("table", name="Preview of accepted rows")
    await expect(preview.get_by_test_id("preview-row")).to_have_count(2)
    await expect(preview.get_by_text("name: Dee")).to_be_visible()

    # Windows, pacing, retries.
    await form.get_by_label("Sat").check()
    await form.get_by_label("Until").fill("18:30")
    await form.get_by_label("Blackout dates").fill("2026-12-25")
    await form.get_by_role("button", name="Add date").click()
    await expect(form.get_by_role("list", name="Blackout dates")).to_contain_text("2026-12-25")
    await form.get_by_label("Max concurrent calls").fill("9")
    await form.get_by_label("Nobody answers").uncheck()
    await form.get_by_label("Retry these SIP failures").fill("500-599, 408, 480")

    # The server refuses two settings: each error shows beside its field.
    backend.create_problem = (
        422,
        {
            "title": "Validation failed",
            "status": 422,
            "detail": "pacing.max_concurrent: above the limit",
            "errors": [
                {
                    "field": "pacing.max_concurrent",
                    "message": "Above your organization's concurrent-call limit (5)",
                },
                {
                    "field": "from_numbers[0]",
                    "message": "+12025550100 has no synced outbound trunk",
                },
            ],
        },
    )
    await form.get_by_role("button", name="Create and start").click()
    concurrent = form.get_by_label("Max concurrent calls")
    await expect(concurrent).to_have_attribute("aria-invalid", "true")
    await expect(
        form.get_by_text("Above your organization's concurrent-call limit (5)")
    ).to_be_visible()
    await expect(form.get_by_text("+12025550100 has no synced outbound trunk")).to_be_visible()
    await expect(form.locator('[data-field="from_numbers"]')).to_be_focused()

    await concurrent.fill("2")
    await form.get_by_role("button", name="Create and start").click()
    await expect(page).to_have_url(re.compile(r"/telephony/campaigns/cmp_1$"))
    await expect(page.get_by_role("heading", name="December renewals")).to_be_visible()
    await expect(page.get_by_test_id("campaign-status")).to_have_text("Running")
    await expect(
        page.get_by_text("created and started: 2 rows; 4 rows were refused")
    ).to_be_visible()

    settings = backend.posted_settings[-1]
    assert settings["windows"] == {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
        "start": "09:00",
        "end": "18:30",
        "blackout_dates": ["2026-12-25"],
    }
    assert settings["pacing"] == {"calls_per_second": 1, "max_concurrent": 2}
    assert settings["retry"] == {
        "max_attempts": 3,
        "delay_s": 3600,
        "on": {
            "busy": True,
            "no_answer": False,
            "failed": ["500-599", "408", "480"],
            "agent_failed": True,
        },
    }
    posts = [p for m, p, _ in backend.requests if m == "POST"]
    assert posts.count("/campaigns?dry_run=true") == 1
    assert posts[-2:] == ["/campaigns", "/campaigns/cmp_1/start"]


async def test_a_running_campaign_moves_live_and_is_paused_resumed_cancelled_and_downloaded(
    studio: str, new_page: NewPage
) -> None:
    backend = running_backend()
    backend.advance_on_read = True
    page = await new_page()
    await install(page, backend)
    await page.goto(page_url(studio, "/telephony/campaigns/cmp_live"))
    await expect(page.get_by_role("heading", name="December renewals")).to_be_visible()
    await expect(page.get_by_test_id("calls-in-progress")).to_have_text("1")
    # Read again every 2 s while it runs: both pending rows complete, the retry is still due.
    await expect(page.get_by_test_id("count-completed")).to_contain_text("2", timeout=15_000)
    await expect(page.get_by_test_id("count-pending")).to_contain_text("0")
    await expect(page.get_by_role("progressbar", name="Campaign progress")).to_have_attribute(
        "aria-valuenow", "66"
    )
    await expect(page.get_by_test_id("campaign-eta")).to_contain_text(
        re.compile(r"About 2 h (29|30) min left")
    )

    # The rows waiting to retry, with the call of each attempt.
    await page.get_by_test_id("count-waiting_retry").click()
    await expect(page).to_have_url(re.compile(r"\?status=waiting_retry$"))
    rows = page.get_by_test_id("campaign-row-item")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("+12025550113")
    await expect(rows.first).to_contain_text("#1 Busy (SIP 486)")
    link = rows.first.get_by_role("link", name="Call of attempt 1")
    await expect(link).to_have_attribute("href", "/telephony/calls/call_r3_1")

    await page.get_by_role("button", name="Pause").click()
    await expect(page.get_by_test_id("campaign-status")).to_have_text("Paused")
    await expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    await page.get_by_role("button", name="Resume").click()
    await expect(page.get_by_test_id("campaign-status")).to_have_text("Running")

    # The results, fetched with the bearer token and saved.
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download results").click()
    download = await info.value
    assert download.suggested_filename == "results.csv"
    saved = await asyncio.to_thread(Path(await download.path()).read_text)
    assert saved.splitlines()[0].startswith("line,to_number,status,attempts")
    assert "+12025550113,waiting_retry,1,busy" in saved
    auth = [a for m, p, a in backend.requests if p.endswith("/results.csv")]
    assert auth and auth[0] is not None and auth[0].startswith("Bearer ")

    # Cancel asks first; Escape keeps the campaign.
    await page.get_by_role("button", name="Cancel campaign").click()
    dialog = page.get_by_role("alertdialog", name="Cancel this campaign?")
    await expect(dialog.get_by_role("button", name="Keep campaign")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert not any(p.endswith("/cancel") for _, p, _ in backend.requests)
    await page.get_by_role("button", name="Cancel campaign").click()
    await dialog.get_by_role("button", name="Cancel campaign").click()
    await expect(page.get_by_test_id("campaign-status")).to_have_text("Cancelled")
    await expect(
        page.get_by_role("button", name=re.compile("^(Start|Pause|Resume|Cancel campaign)$"))
    ).to_have_count(0)
    await expect(page.get_by_role("button", name="Download results")).to_be_visible()


async def test_a_call_event_of_the_campaign_reads_it_again(studio: str, new_page: NewPage) -> None:
    backend = running_backend()
    paused = backend.campaigns[0]
    paused.update(status="paused", calls_in_progress=0, eta_at=None)
    event = {
        "id": "evt_1",
        "type": "telephony.call.completed",
        "subject": "call_r1_1",
        "data": {"id": "call_r1_1", "campaign": {"id": "cmp_live", "row_id": "r1", "attempt": 1}},
    }
    stream = f"retry: 60000\nevent: telephony.call.completed\ndata: {json.dumps(event)}\n\n"
    gate = asyncio.Event()
    page = await new_page()
    await install(page, backend, events=stream, gate=gate)
    await page.goto(page_url(studio, "/telephony/campaigns/cmp_live"))
    await expect(page.get_by_test_id("count-completed")).to_contain_text("0")
    # Paused, nothing in progress: the page does not poll; only the event makes it read again.
    paused["counts"].update(pending=1, completed=1)
    gate.set()
    await expect(page.get_by_test_id("count-completed")).to_contain_text("1")
    reads = [p for m, p, _ in backend.requests if m == "GET" and p == "/campaigns/cmp_live"]
    assert len(reads) >= 2


async def test_owner_manages_the_do_not_call_list(studio: str, new_page: NewPage) -> None:
    backend = FakeBackend()
    page = await new_page()
    await install(page, backend)
    await page.goto(page_url(studio, "/telephony/campaigns"))
    card = page.get_by_role("region", name="Do-not-call list")
    await expect(card.get_by_text("No numbers on the list.")).to_be_visible()
    numbers = card.get_by_label("Numbers to add")
    await numbers.fill("12345")
    await card.get_by_role("button", name="Add to list").click()
    await expect(numbers).to_have_attribute("aria-invalid", "true")
    await expect(
        card.get_by_text(re.compile("Not phone numbers in E.164 format.*12345"))
    ).to_be_visible()

    await numbers.fill("+12025550199\n+1 202 555 0198")
    await card.get_by_label("Reason (optional)").fill("Asked not to be called")
    await card.get_by_role("button", name="Add to list").click()
    await expect(page.get_by_text("2 numbers added to the do-not-call list")).to_be_visible()
    await expect(card.get_by_test_id("dnc-item")).to_have_count(2)
    await expect(card.get_by_test_id("dnc-item").first).to_contain_text("Asked not to be called")
    await card.get_by_role("button", name="Remove +12025550199").click()
    await (
        page.get_by_role("alertdialog", name="Remove from the do-not-call list?")
        .get_by_role("button", name="Remove")
        .click()
    )
    await expect(card.get_by_test_id("dnc-item")).to_have_count(1)
    assert [d["number"] for d in backend.dnc] == ["+12025550198"]


def breakpoint_backend() -> FakeBackend:
    backend = running_backend()
    backend.page_size = 2
    backend.campaigns += [
        campaign(
            "cmp_a_very_long_identifier_0001",
            "Spring reminders for customers with a long campaign name",
            "completed",
            total=1200,
        ),
        campaign("cmp_b", "Appointment confirmations", "draft", total=40),
    ]
    backend.dnc = [
        {
            "number": "+12025550199",
            "reason": "Asked not to be called again, on the phone",
            "added_at": "2026-12-01T00:00:00Z",
            "added_by": "u",
        }
    ]
    return backend


@pytest.mark.parametrize(
    ("name", "width", "height"),
    [("desktop", 1280, 800), ("tablet", 900, 800), ("mobile", 390, 844)],
)
async def test_the_campaigns_pages_at_three_breakpoints(
    studio: str, new_page: NewPage, artifacts: Path, name: str, width: int, height: int
) -> None:
    backend = breakpoint_backend()
    page = await new_page(width=width, height=height)
    await install(page, backend)

    await page.goto(page_url(studio, "/telephony/campaigns"))
    await expect(page.get_by_test_id("campaign-row")).to_have_count(2)
    await page.get_by_role("button", name="Load more").click()
    await expect(page.get_by_test_id("campaign-row")).to_have_count(3)
    await expect(page.get_by_role("link", name="Campaigns")).to_be_visible()
    await page.screenshot(
        path=artifacts / f"campaigns-{name}-{width}.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(page)

    await page.get_by_role("link", name="New campaign").click()
    form = page.get_by_role("form", name="New campaign")
    await form.get_by_role("combobox", name="Agent").select_option(label="Sales Agent (realtime)")
    await form.get_by_label("+12025550100").check()
    await form.get_by_label("CSV file").set_input_files(
        files=[{"name": "contacts.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    await expect(form.get_by_test_id("rejected-row")).to_have_count(4)
    await page.screenshot(
        path=artifacts / f"campaigns-new-{name}-{width}.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(page)

    await page.goto(page_url(studio, "/telephony/campaigns/cmp_live"))
    await expect(page.get_by_test_id("campaign-row-item")).to_have_count(3)
    await page.screenshot(
        path=artifacts / f"campaign-{name}-{width}.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(page)
    await page.get_by_role("button", name="Cancel campaign").click()
    await expect(page.get_by_role("alertdialog", name="Cancel this campaign?")).to_be_visible()
    await assert_no_horizontal_overflow(page)


async def test_members_read_campaigns_but_change_nothing(studio: str, new_page: NewPage) -> None:
    backend = running_backend()
    backend.dnc = [
        {
            "number": "+12025550199",
            "reason": None,
            "added_at": "2026-12-01T00:00:00Z",
            "added_by": "u",
        }
    ]
    page = await new_page()
    await install(page, backend)
    await page.goto(page_url(studio, "/telephony/campaigns", Role.MEMBER))
    await expect(page.get_by_test_id("campaign-row")).to_have_count(1)
    await expect(page.get_by_role("link", name="New campaign")).to_have_count(0)
    await expect(page.get_by_role("button", name="Add to list")).to_have_count(0)
    await expect(page.get_by_role("button", name="Remove +12025550199")).to_have_count(0)
    await page.get_by_test_id("campaign-row").click()
    await expect(page.get_by_role("heading", name="December renewals")).to_be_visible()
    await expect(
        page.get_by_role("button", name=re.compile("^(Start|Pause|Resume|Cancel campaign)$"))
    ).to_have_count(0)
    await expect(page.get_by_role("button", name="Download results")).to_be_visible()
    await expect(page.get_by_role("note")).to_contain_text("Only owners and admins")
