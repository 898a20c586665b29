"""The Phone Numbers and Agents pages in Chromium against the real numbers-api (no mocked API)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from talkifai_common.auth import Role

from .conftest import NewPage, Stack

# Without the package (the general `pytest` run), the module skips; scripts/test.sh provides it.
expect = pytest.importorskip(
    "playwright.async_api", reason="Studio e2e: the playwright package is not installed"
).expect

RED = "rgb(220, 38, 38)"


async def agent(stack: Stack, name: str, architecture: str = "pipeline") -> dict[str, Any]:
    """Create an agent through the API."""
    result: dict[str, Any] = await stack.call(
        "POST", "/agents", json={"name": name, "architecture": architecture}
    )
    return result


async def phone(stack: Stack, number: str, **kw: Any) -> dict[str, Any]:
    """Create a phone number through the API; on Twilio unless told, whose published signalling
    ranges let an inbound agent be assigned (numbers-api refuses one on an open number)."""
    kw.setdefault("carrier", "twilio")
    result: dict[str, Any] = await stack.call(
        "POST", "/phone-numbers", json={"phone_number": number, **kw}
    )
    return result


async def assign(stack: Stack, number: str, inbound: str | None, outbound: str | None) -> None:
    """Assign agents through the API."""
    await stack.call(
        "PUT",
        "/phone-numbers/agent-assignments",
        json={"phone_number": number, "inbound_agent_id": inbound, "outbound_agent_id": outbound},
    )


def agents_url(stack: Stack, token: str, query: str = "") -> str:
    """The Agents page by its own address (the server answers index.html for it)."""
    return f"{stack.studio_url}/telephony/agents{query}#token={token}"


def agent_row(page: Any, name: str) -> Any:
    """An agent's row in the Agents list."""
    return page.locator(f'[data-testid="agent-row"][data-agent="{name}"]')


def row(page: Any, number: str) -> Any:
    """A number's row in the list."""
    return page.locator(f'[data-testid="phone-number-row"][data-number="{number}"]')


async def assert_no_horizontal_overflow(page: Any) -> None:
    """Nothing wider than its box: the page, the main column and any open dialog."""
    widest: list[str] = await page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll('.appbar, .main, .dialog, .card')]
            .filter((el) => el.scrollWidth > el.clientWidth + 1)
            .map((el) => `${el.className || el.tagName}: ${el.scrollWidth} > ${el.clientWidth}`)"""
    )
    assert widest == []


async def test_owner_adds_a_number_after_fixing_invalid_input(
    stack: Stack, new_page: NewPage
) -> None:
    page = await new_page()
    await page.goto(f"{stack.studio_url}/telephony/")
    await expect(page.get_by_text("Please select an organization first")).to_be_visible()
    await page.get_by_label("Organization ID").fill("org_e2e")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="No phone numbers")).to_be_visible()

    await page.get_by_role("button", name="Add Phone Number").first.click()
    dialog = page.get_by_role("dialog", name="Add Phone Number")
    await dialog.get_by_label("Phone Number").fill("12025550123")
    await dialog.get_by_label("Termination URI").fill("https://trunk.example.com")
    await dialog.get_by_role("button", name="Save").click()
    phone_field = dialog.get_by_label("Phone Number")
    await expect(phone_field).to_have_attribute("aria-invalid", "true")
    await expect(phone_field).to_have_css("border-top-color", RED)
    await expect(dialog.get_by_text(re.compile("start with \\+"))).to_be_visible()
    await expect(dialog.get_by_text(re.compile("must be a valid SIP host"))).to_be_visible()

    await phone_field.fill("+1 202 555 0123")
    await dialog.get_by_label("Termination URI").fill("sips:your-trunk.pstn.twilio.com:5061")
    await dialog.get_by_label("SIP Username").fill("talkifai")
    await dialog.get_by_label("SIP Password", exact=True).fill("s3cret-pass")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_text("Phone number +12025550123 added")).to_be_visible()
    await expect(row(page, "+12025550123")).to_be_visible()
    await expect(page.get_by_role("heading", name="+12025550123")).to_be_visible()

    stored = (await stack.call("GET", "/phone-numbers"))["items"]
    assert [(n["phone_number"], n["termination_uri"], n["has_sip_password"]) for n in stored] == [
        ("+12025550123", "your-trunk.pstn.twilio.com:5061", True)
    ]

    # The server's own rules come back inline too: the number is taken.
    await page.keyboard.press("n")
    dialog = page.get_by_role("dialog", name="Add Phone Number")
    await dialog.get_by_label("Phone Number").fill("+12025550123")
    await page.keyboard.press("Enter")
    await expect(dialog.locator(".field-error")).to_contain_text("already")


async def test_owner_edits_a_number_and_the_password_stays_write_only(
    stack: Stack, new_page: NewPage
) -> None:
    number = await phone(stack, "+12025550140", sip_username="olduser", sip_password="old-pass")
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    await expect(page).not_to_have_url(re.compile("token="))
    await page.get_by_role("button", name="Edit +12025550140").click()
    dialog = page.get_by_role("dialog", name="Edit Phone Number")
    await expect(dialog.get_by_label("SIP Password", exact=True)).to_have_value("")
    await expect(dialog.get_by_text(re.compile("A password is set"))).to_be_visible()
    await dialog.get_by_label("Termination URI").fill("trunk.example.com")
    await dialog.get_by_label("SIP Username").fill("newuser")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Phone number +12025550140 updated")).to_be_visible()

    stored = await stack.call("GET", f"/phone-numbers/{number['id']}")
    assert (stored["termination_uri"], stored["sip_username"], stored["has_sip_password"]) == (
        "trunk.example.com",
        "newuser",
        True,
    )


async def test_owner_assigns_agents_and_call_settings(stack: Stack, new_page: NewPage) -> None:
    support = await agent(stack, "Support Agent", "pipeline")
    sales = await agent(stack, "Sales Agent", "realtime")
    await agent(stack, "Chat Bot", "text")
    number = await phone(
        stack,
        "+12025550150",
        termination_uri="trunk.example.com",
        sip_username="talkifai",
        sip_password="s3cret-pass",
    )
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    await row(page, "+12025550150").locator(".row-main").click()
    details = page.get_by_test_id("details")
    await expect(details.get_by_text(f"ID: {number['id']}")).to_be_visible()
    await expect(details.get_by_test_id("sync-state")).to_contain_text("Sync pending")
    # No agent yet: the number is inactive, so it cannot place calls, and saving needs an agent.
    await expect(details.get_by_text("Inactive", exact=True)).to_be_visible()
    await expect(details.get_by_role("button", name="Make Test Call")).to_be_disabled()
    await expect(
        details.get_by_role("note").filter(has_text="inbound or outbound agent")
    ).to_be_visible()
    await details.get_by_role("button", name="Save Agent Assignments").click()
    await expect(details.get_by_text("At least one agent must be selected")).to_be_visible()
    await expect(page.get_by_text("Agent assignments saved successfully")).to_have_count(0)

    inbound = details.get_by_label("Inbound Call Agent")
    await inbound.select_option(label="Chat Bot (text)")
    await details.get_by_role("button", name="Save Agent Assignments").click()
    await expect(
        details.get_by_text("Agent is a text-only agent and cannot make voice calls")
    ).to_be_visible()

    await inbound.select_option(label="Support Agent (pipeline)")
    await details.get_by_label("Outbound Call Agent").select_option(label="Sales Agent (realtime)")
    await details.get_by_label("Webhook URL").fill("https://example.com/hooks/calls")
    await details.get_by_label("Call Recording").select_option(label="Record with consent")
    await details.get_by_label("Call Recording").press("Enter")  # the seed's "Enter — Save changes"
    await expect(page.get_by_text("Agent assignments saved successfully")).to_be_visible()
    await expect(row(page, "+12025550150")).to_contain_text("Inbound: Support Agent (pipeline)")
    await expect(row(page, "+12025550150")).to_contain_text("Outbound: Sales Agent (realtime)")
    await expect(details.get_by_text("Current: Sales Agent (realtime)")).to_be_visible()

    stored = await stack.call("GET", f"/phone-numbers/{number['id']}")
    assert stored["inbound_agent"]["id"] == support["id"]
    assert stored["outbound_agent"]["id"] == sales["id"]
    assert stored["webhook_url"] == "https://example.com/hooks/calls"
    assert stored["recording_mode"] == "consent"

    # Make Test Call: call-orchestrator is not running here, and the dialog says so.
    await expect(details.get_by_text("Active", exact=True)).to_be_visible()
    await details.get_by_role("button", name="Make Test Call").click()
    call = page.get_by_role("dialog", name="Make Test Call")
    await call.get_by_label("Destination Number").fill("+12025550123")
    await call.get_by_role("button", name="Call").click()
    await expect(call.get_by_test_id("call-outcome")).to_contain_text("Call service unavailable")
    await page.keyboard.press("Escape")
    await expect(call).to_be_hidden()


async def test_carrier_inbound_security_and_the_trunk_check(
    stack: Stack, new_page: NewPage, artifacts: Path
) -> None:
    await agent(stack, "Support Agent")
    # A custom carrier (nothing to recognise in the host) publishes no ranges: the inbound side is open.
    await phone(stack, "+12025550221", termination_uri="127.0.0.1:9", carrier="custom")
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    await page.get_by_role("button", name="Add Phone Number").first.click()
    dialog = page.get_by_role("dialog", name="Add Phone Number")
    await dialog.get_by_label("Phone Number").fill("+12025550220")
    await dialog.get_by_label("Termination URI").fill("acme.pstn.twilio.com")
    await dialog.get_by_label("Carrier").select_option(label="Twilio Elastic SIP Trunking")
    await dialog.get_by_text("How to set up Twilio Elastic SIP Trunking").click()
    await expect(dialog.get_by_test_id("carrier-setup").get_by_role("link").first).to_be_visible()
    await dialog.get_by_text("Advanced SIP").click()
    await expect(dialog.get_by_label("Transport")).to_have_value("tls")
    await dialog.get_by_role("button", name="Save").click()
    await expect(dialog).to_be_hidden()
    card = page.get_by_test_id("carrier-card")
    await expect(card.get_by_test_id("carrier-name")).to_have_text("Twilio Elastic SIP Trunking")
    await expect(card.get_by_test_id("inbound-summary")).to_contain_text("the carrier's 15 ranges")

    await row(page, "+12025550221").locator(".row-main").click()
    details = page.get_by_test_id("details")
    await details.get_by_label("Inbound Call Agent").select_option(label="Support Agent (pipeline)")
    await details.get_by_role("button", name="Save Agent Assignments").click()
    refusal = details.get_by_test_id("inbound-refusal")
    await expect(refusal).to_be_visible()
    await expect(
        details.get_by_text(re.compile("^An inbound agent answers only calls from the carrier"))
    ).to_be_visible()
    await expect(
        refusal.get_by_role("button", name="Open inbound security settings")
    ).to_be_visible()

    # The trunk doctor: nothing listens on 127.0.0.1:9, so the report fails and says what to fix.
    panel = page.get_by_test_id("trunk-check")
    await panel.get_by_role("button", name="Check now").click()
    report = panel.get_by_test_id("check-report")
    await expect(report).to_be_visible(timeout=20_000)
    await expect(report.locator(".badge-verdict")).to_have_text(
        re.compile("Healthy|Degraded|Failing")
    )
    await expect(row(page, "+12025550221").get_by_test_id("verdict-dot")).to_be_visible()
    await page.locator(".cards").last.screenshot(
        path=artifacts / "desktop-1280-trunk-check.png", style=".toasts { display: none; }"
    )
    await assert_no_horizontal_overflow(page)


async def test_search_filters_by_number_and_agent_names(stack: Stack, new_page: NewPage) -> None:
    support = await agent(stack, "Support Agent")
    sales = await agent(stack, "Sales Agent")
    for n in ("+12025550160", "+12025550161", "+442071838750"):
        await phone(stack, n)
    await assign(stack, "+12025550160", support["id"], None)
    await assign(stack, "+442071838750", None, sales["id"])
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    rows = page.get_by_test_id("phone-number-row")
    await expect(rows).to_have_count(3)
    await page.keyboard.press("Control+f")
    search = page.get_by_placeholder("Search phone numbers…")
    await expect(search).to_be_focused()
    await search.fill("+1202")
    await expect(rows).to_have_count(2)
    await search.fill("support")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-number", "+12025550160")
    await search.fill("SALES")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-number", "+442071838750")
    await search.fill("nobody")
    await expect(page.get_by_text("No phone numbers found")).to_be_visible()


async def test_delete_selects_the_next_number_then_the_empty_state(
    stack: Stack, new_page: NewPage
) -> None:
    await phone(stack, "+12025550170")
    await phone(stack, "+12025550171")
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    await row(page, "+12025550170").locator(".row-main").click()
    await page.get_by_role("button", name="Delete +12025550170").first.click()
    confirm = page.get_by_role("alertdialog")
    await expect(confirm).to_contain_text(
        "Are you sure you want to delete phone number +12025550170?"
    )
    await expect(confirm).to_contain_text("This action cannot be undone.")
    await confirm.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_text("Phone number +12025550170 deleted")).to_be_visible()
    await expect(page.get_by_role("heading", name="+12025550171")).to_be_visible()

    # The Delete key asks too.
    # Away from any field: the brand, which no link covers (a spot in the top bar may hold one).
    await page.locator(".brand").click()
    await page.keyboard.press("Delete")
    await page.get_by_role("alertdialog").get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("heading", name="No phone numbers")).to_be_visible()
    assert (await stack.call("GET", "/phone-numbers"))["items"] == []


async def test_a_change_in_one_tab_shows_in_another(stack: Stack, new_page: NewPage) -> None:
    first = await new_page()
    await first.goto(stack.page_url(stack.token()))
    second = await new_page(first.context)
    # The second tab gets no server events: only the tabs' BroadcastChannel can tell it.
    await second.route("**/events?*", lambda route: route.abort())
    await second.goto(stack.page_url(stack.token()))
    await expect(second.get_by_role("heading", name="No phone numbers")).to_be_visible()

    await first.keyboard.press("n")
    dialog = first.get_by_role("dialog", name="Add Phone Number")
    await dialog.get_by_label("Phone Number").fill("+12025550180")
    await dialog.get_by_label("Phone Number").press("Enter")
    await expect(row(second, "+12025550180")).to_be_visible()

    await first.get_by_role("button", name="Delete +12025550180").first.click()
    await first.get_by_role("alertdialog").get_by_role("button", name="Confirm").click()
    await expect(row(second, "+12025550180")).to_have_count(0)


async def test_a_change_by_another_client_arrives_live(stack: Stack, new_page: NewPage) -> None:
    page = await new_page()
    await page.goto(stack.page_url(stack.token()))
    await expect(page.get_by_role("status", name="Live updates: live")).to_be_visible()

    support = await agent(stack, "Support Agent")
    created = await phone(stack, "+12025550190")
    await expect(row(page, "+12025550190")).to_be_visible()
    await assign(stack, "+12025550190", support["id"], None)
    await expect(row(page, "+12025550190")).to_contain_text("Inbound: Support Agent (pipeline)")
    await stack.call("PATCH", f"/agents/{support['id']}", json={"name": "Front Desk"})
    await expect(row(page, "+12025550190")).to_contain_text("Inbound: Front Desk (pipeline)")
    await stack.call("DELETE", f"/phone-numbers/{created['id']}")
    await expect(row(page, "+12025550190")).to_have_count(0)
    # Another organization's changes never arrive.
    await stack.call(
        "POST", "/phone-numbers", org_id="org_other", json={"phone_number": "+12025550191"}
    )
    await page.wait_for_timeout(300)
    await expect(row(page, "+12025550191")).to_have_count(0)


async def test_members_see_a_read_only_page(stack: Stack, new_page: NewPage) -> None:
    support = await agent(stack, "Support Agent")
    await phone(stack, "+12025550200", termination_uri="trunk.example.com")
    await assign(stack, "+12025550200", support["id"], None)
    page = await new_page()
    await page.goto(stack.page_url(stack.token(role=Role.MEMBER)))
    await expect(row(page, "+12025550200")).to_be_visible()
    await expect(page.get_by_role("button", name="Add Phone Number")).to_have_count(0)
    await expect(page.get_by_role("button", name=re.compile("^(Edit|Delete) "))).to_have_count(0)
    await row(page, "+12025550200").locator(".row-main").click()
    await expect(page.get_by_role("button", name="Save Agent Assignments")).to_have_count(0)
    await expect(page.get_by_label("Inbound Call Agent")).to_be_disabled()
    await expect(page.get_by_role("button", name="Make Test Call")).to_be_enabled()
    await page.keyboard.press("n")
    await expect(page.get_by_role("dialog")).to_have_count(0)


async def test_the_three_breakpoints(stack: Stack, new_page: NewPage, artifacts: Path) -> None:
    support = await agent(stack, "Support Agent", "pipeline")
    sales = await agent(stack, "Sales Agent", "realtime")
    for i, n in enumerate(["+12025550100", "+12025550101", "+13125550102", "+442071838750"]):
        await phone(stack, n, termination_uri="your-trunk.pstn.twilio.com")
        if i != 1:
            await assign(stack, n, support["id"], sales["id"] if i == 0 else None)
    token = stack.token()

    desktop = await new_page(width=1280, height=800)
    await desktop.goto(stack.page_url(token))
    await row(desktop, "+12025550100").locator(".row-main").click()
    sidebar = desktop.get_by_role("complementary", name="Phone numbers list")
    box = await sidebar.bounding_box()
    assert box is not None and round(box["width"]) == 320
    await expect(row(desktop, "+12025550100")).to_have_css("border-top-color", "rgb(37, 99, 235)")
    await expect(desktop.get_by_role("button", name="Open menu")).to_have_count(0)
    await desktop.screenshot(
        path=artifacts / "desktop-1280.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(desktop)
    await desktop.get_by_role("button", name="Add Phone Number").first.click()
    await desktop.screenshot(path=artifacts / "desktop-1280-add-dialog.png", animations="disabled")

    tablet = await new_page(width=900, height=800)
    await tablet.goto(stack.page_url(token))
    rail = tablet.get_by_role("complementary", name="Phone numbers list")
    rail_box = await rail.bounding_box()
    assert rail_box is not None and rail_box["width"] < 100
    await expect(tablet.get_by_test_id("phone-number-row")).to_have_count(0)
    await tablet.get_by_role("button", name=re.compile(r"^\+12025550100")).click()
    await expect(tablet.get_by_role("heading", name="+12025550100")).to_be_visible()
    await tablet.screenshot(
        path=artifacts / "tablet-900.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(tablet)

    mobile = await new_page(width=390, height=844)
    await mobile.goto(stack.page_url(token))
    await expect(mobile.get_by_role("complementary")).to_have_count(0)
    await mobile.get_by_role("button", name="Open menu").click()
    drawer = mobile.get_by_role("dialog", name="Phone numbers menu")
    await expect(drawer.get_by_test_id("phone-number-row")).to_have_count(4)
    await mobile.screenshot(path=artifacts / "mobile-390-drawer.png", animations="disabled")
    await drawer.locator('[data-number="+12025550100"] .row-main').click()
    await expect(drawer).to_be_hidden()
    await expect(mobile.get_by_role("heading", name="+12025550100")).to_be_visible()
    await mobile.screenshot(
        path=artifacts / "mobile-390.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(mobile)
    # The dialog's new sections, opened, fit the phone too.
    await mobile.get_by_role("button", name="Edit +12025550100").click()
    dialog = mobile.get_by_role("dialog", name="Edit Phone Number")
    await dialog.get_by_text("How to set up Twilio Elastic SIP Trunking").click()
    await dialog.get_by_text("Advanced SIP").click()
    await dialog.get_by_role("button", name="Add header").click()
    await mobile.screenshot(path=artifacts / "mobile-390-edit-dialog.png", animations="disabled")
    await assert_no_horizontal_overflow(mobile)
    await mobile.keyboard.press("Escape")


async def test_owner_creates_edits_and_deletes_agents(stack: Stack, new_page: NewPage) -> None:
    support = await agent(stack, "Support Agent")
    await phone(stack, "+12025550300")
    await assign(stack, "+12025550300", support["id"], None)
    page = await new_page()
    await page.goto(agents_url(stack, stack.token()))
    await expect(page.get_by_role("link", name="Agents")).to_have_attribute("aria-current", "page")
    await expect(agent_row(page, "Support Agent")).to_contain_text("1 phone number")

    # Create: the browser's checks first, then the server's own refusal under its field.
    await page.get_by_role("button", name="Create Agent").first.click()
    dialog = page.get_by_role("dialog", name="Create Agent")
    await dialog.locator('[data-field="language"]').fill("English")
    await dialog.get_by_role("button", name="Create Agent").click()
    await expect(dialog.get_by_text("Name is required")).to_be_visible()
    await expect(dialog.locator('[data-field="language"]')).to_have_attribute(
        "aria-invalid", "true"
    )
    await dialog.locator('[data-field="name"]').fill("Front Desk")
    await dialog.locator('[data-field="language"]').fill("en-GB")
    llm = dialog.get_by_role("group", name="Language model")
    await llm.get_by_label("Model server URL").fill("https://user:secret@models.example.com/v1")
    await dialog.get_by_role("button", name="Create Agent").click()
    server_url = llm.get_by_label("Model server URL")
    await expect(server_url).to_have_attribute("aria-invalid", "true")
    await expect(llm.locator(".field-error")).to_contain_text("must not carry credentials")
    await expect(server_url).to_have_css("border-top-color", RED)
    await server_url.fill("")
    await dialog.get_by_label("TTS provider").select_option("espeak")
    await dialog.get_by_role("button", name="Create Agent").click()
    await expect(page.get_by_text("Agent Front Desk created")).to_be_visible()
    details = page.get_by_test_id("agent-details")
    await expect(details.get_by_role("heading", name="Front Desk")).to_be_visible()
    stored = {a["name"]: a for a in (await stack.call("GET", "/agents"))["items"]}
    assert stored["Front Desk"]["language"] == "en-GB"
    assert stored["Front Desk"]["tts"]["provider"] == "espeak"

    # Edit.
    await page.get_by_role("button", name="Edit Front Desk").click()
    dialog = page.get_by_role("dialog", name="Edit Agent")
    await dialog.get_by_label("Greeting").fill("Front desk, how may I help?")
    await dialog.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Agent Front Desk saved")).to_be_visible()
    await expect(details).to_contain_text("Front desk, how may I help?")
    assert (await stack.call("GET", f"/agents/{stored['Front Desk']['id']}"))["version"] == 2

    # A change by another client arrives live.
    await expect(page.get_by_role("status", name="Live updates: live")).to_be_visible()
    await agent(stack, "Night Shift", "realtime")
    await expect(agent_row(page, "Night Shift")).to_be_visible()

    # Deleting an agent a number uses: numbers-api's 409, explained, with the way to the number.
    await page.get_by_role("button", name="Delete Support Agent").click()
    confirm = page.get_by_role("alertdialog", name="Delete Agent")
    await confirm.get_by_role("button", name="Confirm").click()
    notice = confirm.get_by_test_id("agent-assigned")
    await expect(notice).to_contain_text("Support Agent is assigned to a phone number")
    await expect(notice).to_contain_text("Unassign it from these numbers before deleting it.")
    await notice.get_by_role("link", name="+12025550300").click()
    await expect(page.get_by_role("heading", name="+12025550300")).to_be_visible()
    assert "/telephony/?number=pn_" in page.url
    await expect(page.get_by_label("Inbound Call Agent")).to_have_value(support["id"])

    # Back to the agents, and an unassigned one goes.
    await page.get_by_role("link", name="Agents").click()
    await page.get_by_role("button", name="Delete Front Desk").click()
    await page.get_by_role("alertdialog").get_by_role("button", name="Confirm").click()
    await expect(page.get_by_text("Agent Front Desk deleted")).to_be_visible()
    await expect(agent_row(page, "Front Desk")).to_have_count(0)
    names = [a["name"] for a in (await stack.call("GET", "/agents"))["items"]]
    assert names == ["Support Agent", "Night Shift"]


async def test_the_agents_page_at_three_breakpoints(
    stack: Stack, new_page: NewPage, artifacts: Path
) -> None:
    support = await agent(stack, "Support Agent with a rather long name for the list", "pipeline")
    await agent(stack, "Sales Agent", "realtime")
    await agent(stack, "Chat Bot", "text")
    await phone(stack, "+12025550310")
    await assign(stack, "+12025550310", support["id"], support["id"])
    token = stack.token()
    query = f"?agent={support['id']}"

    desktop = await new_page(width=1280, height=800)
    await desktop.goto(agents_url(stack, token, query))
    sidebar = desktop.get_by_role("complementary", name="Agents list")
    box = await sidebar.bounding_box()
    assert box is not None and round(box["width"]) == 320
    await expect(desktop.get_by_test_id("agent-numbers")).to_contain_text("+12025550310")
    await desktop.screenshot(
        path=artifacts / "agents-desktop-1280.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(desktop)
    await desktop.get_by_role("button", name="Create Agent").first.click()
    await desktop.screenshot(
        path=artifacts / "agents-desktop-1280-create-dialog.png", animations="disabled"
    )
    await assert_no_horizontal_overflow(desktop)

    tablet = await new_page(width=900, height=800)
    await tablet.goto(agents_url(stack, token, query))
    await expect(tablet.get_by_role("complementary", name="Agents list")).to_be_visible()
    await expect(tablet.get_by_role("link", name="Phone Numbers")).to_be_visible()
    await tablet.screenshot(
        path=artifacts / "agents-tablet-900.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(tablet)

    mobile = await new_page(width=390, height=844)
    await mobile.goto(agents_url(stack, token))
    await expect(mobile.get_by_role("complementary")).to_have_count(0)
    await mobile.get_by_role("button", name="Open menu").click()
    drawer = mobile.get_by_role("dialog", name="Agents menu")
    await expect(drawer.get_by_test_id("agent-row")).to_have_count(3)
    await mobile.screenshot(path=artifacts / "agents-mobile-390-drawer.png", animations="disabled")
    await drawer.locator('[data-agent="Sales Agent"] .row-main').click()
    await expect(drawer).to_be_hidden()
    await expect(mobile.get_by_role("heading", name="Sales Agent")).to_be_visible()
    await mobile.screenshot(
        path=artifacts / "agents-mobile-390.png", full_page=True, animations="disabled"
    )
    await assert_no_horizontal_overflow(mobile)
    await mobile.get_by_role("button", name="Edit", exact=True).click()
    dialog = mobile.get_by_role("dialog", name="Edit Agent")
    await dialog.get_by_label("Architecture").select_option("pipeline")
    await mobile.screenshot(
        path=artifacts / "agents-mobile-390-edit-dialog.png", animations="disabled"
    )
    await assert_no_horizontal_overflow(mobile)
    # The top bar's way back to the numbers.
    await mobile.keyboard.press("Escape")
    await mobile.get_by_role("link", name="Phone Numbers").click()
    await expect(mobile.get_by_role("heading", name="Select a phone number")).to_be_visible()
