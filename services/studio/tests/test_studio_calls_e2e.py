"""The Calls page in Chromium against the real services: numbers-api, trunk-sync and
call-orchestrator on PostgreSQL and nats-server, LiveKit's emulator as LiveKit and the carrier.
A test call is placed from the Studio ("Make Test Call"), followed on its page and in the
history, hung up, and seen completed; its recording is played (the player's URL fetched) and
deleted; then the history and the call's page at the three breakpoints.

No agent-runtime runs: a stand-in advertises its provider keys (as call-orchestrator's own tests
do), so the call is placed and the agent dispatched, but no agent joins the room; the emulated
callee answers and stays on the line until the Studio hangs up.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from talkifai_common.auth import Role
from tests.support.trunk_sync import (
    token_factory,
)

from .conftest import NewPage
from .real_stack import NUMBER, CallStack, number_with_outbound_agent
from .test_studio_e2e import assert_no_horizontal_overflow

expect = pytest.importorskip(
    "playwright.async_api", reason="Studio e2e: the playwright package is not installed"
).expect

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

CALLEE = "+14155550123"


async def test_a_test_call_placed_from_the_studio_is_followed_hung_up_and_completed(
    call_stack: CallStack, new_page: NewPage, artifacts: Path
) -> None:
    stack = call_stack
    number = await number_with_outbound_agent(stack)
    # The callee's phone rings for two seconds, then answers and stays on the line.
    await stack.lk.control.set_outcome(CALLEE, ring_ms=2000)
    token = token_factory()("org_a", Role.OWNER)

    page = await new_page()
    await page.goto(stack.page_url(token, f"/telephony/?number={number['id']}"))
    await page.get_by_role("button", name="Make Test Call").click()
    dialog = page.get_by_role("dialog", name="Make Test Call")
    await dialog.get_by_label("Destination Number").fill(CALLEE)
    await dialog.get_by_role("button", name="Call").click()

    # Placed: the call's page follows it until the callee answers.
    await expect(page).to_have_url(re.compile(r"/telephony/calls/call_[a-z0-9]+$"))
    call_id = page.url.rsplit("/", 1)[1]
    await expect(page.get_by_role("heading", name=CALLEE)).to_be_visible()
    await expect(page.get_by_test_id("call-outcome")).to_contain_text("In progress", timeout=20_000)
    await expect(page.get_by_test_id("call-agent")).to_have_text("Sales")
    await expect(page.get_by_test_id("transcript-missing")).to_be_visible()
    await page.screenshot(path=str(artifacts / "calls-live-call-1280.png"), full_page=True)

    # In the history, live.
    await page.get_by_role("link", name="Calls", exact=True).click()
    call_row = page.locator(f'[data-testid="call-row"][data-call="{call_id}"]')
    await expect(call_row.get_by_test_id("call-status")).to_have_text("Answered")
    await expect(call_row).to_contain_text(f"via {NUMBER}")

    # Hang it up from its page.
    await call_row.click()
    await page.get_by_role("button", name="Hang up").click()
    await (
        page.get_by_role("alertdialog", name="Hang up this call?")
        .get_by_role("button", name="Hang up")
        .click()
    )
    await expect(page.get_by_test_id("call-outcome")).to_contain_text(
        "Completed: hung up from the Studio"
    )
    await expect(page.get_by_role("button", name="Hang up")).to_have_count(0)
    recorded = (
        await stack.calls.get(f"/calls/{call_id}", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert recorded["status"] == "completed"
    assert recorded["end_reason"] == "hung_up_by_user"

    # The number records every call: once egress has stored the file, the page (reading an ended
    # call again while its recording is pending) shows a player whose URL carries the token.
    card = page.get_by_role("region", name="Recording")
    player = card.get_by_label("Call recording")
    await expect(player).to_be_visible(timeout=20_000)
    await expect(card.get_by_test_id("recording-facts")).to_contain_text("long")
    src = await player.get_attribute("src")
    assert src == f"/calls/{call_id}/recording?access_token={token}", src
    # What the player would fetch, through the Studio's server as the browser sends it.
    fetched = await page.evaluate(
        """async (src) => {
            const r = await fetch(src);
            const bytes = new Uint8Array(await r.arrayBuffer());
            return [r.status, r.headers.get("content-type"), String.fromCharCode(...bytes.slice(0, 4))];
        }""",
        src,
    )
    assert fetched == [200, "audio/ogg", "OggS"], fetched
    # The page's main column scrolls by itself: the card's own screenshot shows the player.
    await card.screenshot(path=str(artifacts / "call-recording-1280.png"))
    await card.get_by_role("button", name="Delete recording").click()
    await (
        page.get_by_role("alertdialog", name="Delete this recording?")
        .get_by_role("button", name="Delete recording")
        .click()
    )
    await expect(card).to_contain_text("Deleted on")
    await expect(player).to_have_count(0)

    # The history says so too, and the number's own link filters it.
    await page.goto(stack.page_url(token, f"/telephony/?number={number['id']}"))
    await page.get_by_role("link", name=f"Calls of {NUMBER}").click()
    await expect(page).to_have_url(re.compile(r"/telephony/calls\?phone_number=%2B12025550177$"))
    await expect(call_row.get_by_test_id("call-status")).to_have_text("Completed")

    # Three breakpoints: the history and the call's page, nothing wider than its box.
    sizes = ((1280, 800, "desktop"), (900, 800, "tablet"), (390, 844, "mobile"))
    for width, height, name in sizes:
        small = await new_page(width=width, height=height)
        await small.goto(stack.page_url(token, "/telephony/calls"))
        row = small.locator(f'[data-testid="call-row"][data-call="{call_id}"]')
        await expect(row).to_be_visible()
        await assert_no_horizontal_overflow(small)
        await small.screenshot(path=str(artifacts / f"calls-{name}.png"), full_page=True)
        await small.goto(stack.page_url(token, f"/telephony/calls/{call_id}"))
        await expect(small.get_by_test_id("call-outcome")).to_contain_text("Completed")
        await assert_no_horizontal_overflow(small)
        await small.screenshot(path=str(artifacts / f"call-{name}.png"), full_page=True)
