import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { agent, FakeApi, makeToken, number } from "./test/fakeApi";
import { FakeEventSource } from "./test/fakeEventSource";
import { renderStudio } from "./test/render";

let api: FakeApi;
const support = agent("agent_s", "Support Agent", "pipeline");
const sales = agent("agent_b", "Sales Agent", "realtime");
const chat = agent("agent_t", "Chat Bot", "text");

beforeEach(() => {
  api = new FakeApi();
  api.agents = [support, sales, chat];
  api.numbers = [
    number("+12025550100", {
      status: "active",
      termination_uri: "trunk.pstn.twilio.com",
      inbound_agent: { id: support.id, name: support.name, architecture: "pipeline" },
      outbound_agent: { id: sales.id, name: sales.name, architecture: "realtime" },
      sync: { state: "synced", error: null, synced_at: "2025-01-01T00:00:00Z" },
    }),
    number("+12025550101", { sync: { state: "failed", error: "LiveKit refused the trunk", synced_at: null } }),
    number("+442071838750"),
  ];
});

const rows = () => screen.queryAllByTestId("phone-number-row");
const rowButton = (i: number) => rows()[i].querySelector<HTMLButtonElement>(".row-main")!;

describe("list", () => {
  it("shows each number with its badge and agents as Name (mode)", async () => {
    await renderStudio(api);
    expect(rows()).toHaveLength(3);
    const first = rows()[0];
    expect(within(first).getByText("+12025550100")).toBeInTheDocument();
    expect(within(first).getByText("Active")).toHaveClass("badge-active");
    expect(within(first).getByText(/Inbound: Support Agent \(pipeline\)/)).toBeInTheDocument();
    expect(within(first).getByText(/Outbound: Sales Agent \(realtime\)/)).toBeInTheDocument();
    expect(within(rows()[1]).getByText("Inactive")).toHaveClass("badge-inactive");
    expect(within(rows()[1]).getByText(/Inbound: Not assigned/)).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Phone Numbers" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Add Phone Number" })).toBeInTheDocument();
  });

  it("filters in real time, case-insensitively, by number and both agent names", async () => {
    const { user } = await renderStudio(api);
    const search = screen.getByPlaceholderText("Search phone numbers…");
    await user.type(search, "+1202");
    expect(rows()).toHaveLength(2);
    await user.clear(search);
    await user.type(search, "support");
    expect(rows().map((r) => r.dataset.number)).toEqual(["+12025550100"]);
    await user.clear(search);
    await user.type(search, "SALES");
    expect(rows().map((r) => r.dataset.number)).toEqual(["+12025550100"]);
    await user.clear(search);
    await user.type(search, "zzz");
    expect(rows()).toHaveLength(0);
    expect(screen.getByText("No phone numbers found")).toBeInTheDocument();
  });

  it("asks the server to search when the list is too long to hold in the browser", async () => {
    api.numbers = Array.from({ length: 450 }, (_, i) => number(`+1202555${String(1000 + i)}`));
    const { user } = await renderStudio(api, "owner", { maxLoaded: 200 });
    expect(rows()).toHaveLength(200);
    await user.type(screen.getByPlaceholderText("Search phone numbers…"), "5551449");
    await waitFor(() => expect(api.calls.some((c) => c.path.includes("search=5551449"))).toBe(true));
    await waitFor(() => expect(rows().map((r) => r.dataset.number)).toEqual(["+12025551449"]));
  });

  it("shows the empty states when there are no numbers", async () => {
    api.numbers = [];
    await renderStudio(api);
    expect(screen.getByText("No phone numbers found")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "No phone numbers" })).toBeInTheDocument();
    expect(screen.getByTestId("no-selection").querySelector("svg")).toHaveAttribute("width", "64");
    expect(within(screen.getByTestId("no-selection")).getByRole("button", { name: "Add Phone Number" })).toBeInTheDocument();
  });

  it("says Select a phone number until one is chosen, then shows its details", async () => {
    const { user } = await renderStudio(api);
    expect(screen.getByRole("heading", { name: "Select a phone number" })).toBeInTheDocument();
    await user.click(rowButton(0));
    expect(rows()[0]).toHaveClass("row-selected");
    const details = screen.getByTestId("details");
    expect(within(details).getByRole("heading", { name: "+12025550100" })).toBeInTheDocument();
    expect(within(details).getByText(`ID: ${api.numbers[0].id}`)).toBeInTheDocument();
    expect(within(details).getByRole("button", { name: "Make Test Call" })).toHaveClass("green");
    expect(within(details).getByText("Inbound Call Configuration")).toBeInTheDocument();
    expect(within(details).getByText("Outbound Call Configuration")).toBeInTheDocument();
    expect(within(details).getByText("Call Settings")).toBeInTheDocument();
    expect(within(details).getByTestId("sync-state")).toHaveTextContent("Synced");
    const inbound = within(details).getByLabelText("Inbound Call Agent") as HTMLSelectElement;
    expect(Array.from(inbound.options).map((o) => o.text)).toEqual(["Not assigned", "Support Agent (pipeline)", "Sales Agent (realtime)", "Chat Bot (text)"]);
    expect(within(details).getAllByText(/Current:/)[0]).toHaveTextContent("Current: Support Agent (pipeline)");
    const recording = within(details).getByLabelText("Call Recording") as HTMLSelectElement;
    expect(Array.from(recording.options).map((o) => o.text)).toEqual(["Disabled", "Record all calls", "Record with consent"]);
  });

  it("shows a failed sync with its error", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    expect(screen.getByTestId("sync-state")).toHaveTextContent("Sync failed: LiveKit refused the trunk");
  });
});

describe("add and edit", () => {
  it("validates inline, then adds the number, toasts, selects it and announces it", async () => {
    const added = vi.fn();
    window.addEventListener("phoneNumberAdded", added);
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog", { name: "Add Phone Number" });
    const phone = within(dialog).getByLabelText(/^Phone Number/);
    expect(phone).toHaveFocus();
    await user.type(phone, "12345");
    await user.type(within(dialog).getByLabelText("Termination URI"), "https://bad");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    expect(phone).toHaveAttribute("aria-invalid", "true");
    expect(phone).toHaveClass("invalid");
    expect(within(dialog).getByText(/start with \+/)).toHaveClass("field-error");
    expect(within(dialog).getByText(/Termination URI must be a valid SIP host/)).toBeInTheDocument();
    expect(api.requests("POST", "/phone-numbers")).toHaveLength(0);

    await user.clear(phone);
    await user.type(phone, "+13125550199");
    await user.clear(within(dialog).getByLabelText("Termination URI"));
    await user.type(within(dialog).getByLabelText("Termination URI"), "sips:your-trunk.pstn.twilio.com:5061");
    await user.type(within(dialog).getByLabelText("SIP Username"), "talkifai");
    await user.type(within(dialog).getByLabelText("SIP Password"), "s3cret");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(api.requests("POST", "/phone-numbers")[0].body).toEqual({
      phone_number: "+13125550199",
      termination_uri: "sips:your-trunk.pstn.twilio.com:5061",
      sip_username: "talkifai",
      sip_password: "s3cret",
    });
    expect(await screen.findByText("Phone number +13125550199 added")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "+13125550199" })).toBeInTheDocument();
    expect(rows()).toHaveLength(4);
    expect(added).toHaveBeenCalledWith(expect.objectContaining({ detail: expect.objectContaining({ orgId: "org_a" }) }));
    window.removeEventListener("phoneNumberAdded", added);
  });

  it("shows the server's field errors inline", async () => {
    api.overrides.push((c) =>
      c.method === "POST" && c.path === "/phone-numbers"
        ? { status: 422, body: { title: "Validation failed", status: 422, detail: "phone_number: no country", errors: [{ field: "phone_number", message: "Phone number has no valid country calling code" }] } }
        : undefined,
    );
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Phone Number/), "+9995550123{Enter}");
    const error = await within(dialog).findByText("Phone number has no valid country calling code");
    expect(error).toHaveClass("field-error");
    expect(within(dialog).getByLabelText(/^Phone Number/)).toHaveAttribute("aria-invalid", "true");
  });

  it("shows a number already registered (409) on the phone field", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Phone Number/), "+12025550100{Enter}");
    expect(await within(dialog).findByText(/already registered/)).toHaveClass("field-error");
  });

  it("edits a number, sending the password only when typed", async () => {
    api.numbers[0].has_sip_password = true;
    api.numbers[0].sip_username = "olduser";
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Edit +12025550100" }));
    const dialog = screen.getByRole("dialog", { name: "Edit Phone Number" });
    expect(within(dialog).getByLabelText(/^Phone Number/)).toHaveValue("+12025550100");
    expect(within(dialog).getByText(/A password is set/)).toBeInTheDocument();
    await user.clear(within(dialog).getByLabelText("SIP Username"));
    await user.type(within(dialog).getByLabelText("SIP Username"), "newuser");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.requests("PATCH", "/phone-numbers/")).toHaveLength(1));
    expect(api.requests("PATCH", "/phone-numbers/")[0].body).toEqual({ sip_username: "newuser" });
    expect(await screen.findByText("Phone number +12025550100 updated")).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Edit +12025550100" }));
    await user.type(within(screen.getByRole("dialog")).getByLabelText("SIP Password"), "n3w");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(api.requests("PATCH", "/phone-numbers/")).toHaveLength(2));
    expect(api.requests("PATCH", "/phone-numbers/")[1].body).toEqual({ sip_password: "n3w" });
  });

  it("closes on Cancel and Escape without a request, and traps focus", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog");
    for (let i = 0; i < 12; i++) {
      await user.tab();
      expect(dialog).toContainElement(document.activeElement as HTMLElement);
    }
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(api.requests("POST", "/phone-numbers")).toHaveLength(0);
  });
});

describe("delete", () => {
  it("confirms with the seed's text, deletes, toasts and selects the next number", async () => {
    const deleted = vi.fn();
    window.addEventListener("phoneNumberDeleted", deleted);
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.click(within(rows()[0]).getByRole("button", { name: "Delete +12025550100" }));
    const dialog = screen.getByRole("alertdialog");
    expect(dialog).toHaveTextContent("Are you sure you want to delete phone number +12025550100?");
    expect(dialog).toHaveTextContent("This action cannot be undone.");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    expect(await screen.findByText("Phone number +12025550100 deleted")).toBeInTheDocument();
    expect(rows()).toHaveLength(2);
    expect(screen.getByRole("heading", { name: "+12025550101" })).toBeInTheDocument();
    expect(deleted).toHaveBeenCalled();
    window.removeEventListener("phoneNumberDeleted", deleted);
  });

  it("shows the empty state after the last number goes", async () => {
    api.numbers = api.numbers.slice(0, 1);
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.click(within(rows()[0]).getByRole("button", { name: "Delete +12025550100" }));
    await user.click(screen.getByRole("button", { name: "Confirm" }));
    expect(await screen.findByRole("heading", { name: "No phone numbers" })).toBeInTheDocument();
  });

  it("keeps the number on Cancel", async () => {
    const { user } = await renderStudio(api);
    await user.click(within(rows()[0]).getByRole("button", { name: "Delete +12025550100" }));
    await user.click(screen.getByRole("button", { name: "Cancel" }));
    expect(rows()).toHaveLength(3);
    expect(api.requests("DELETE", "/phone-numbers/")).toHaveLength(0);
  });
});

describe("agent assignments and call settings", () => {
  it("saves with the seed's PUT body, toasts and refreshes", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    const details = screen.getByTestId("details");
    await user.selectOptions(within(details).getByLabelText("Inbound Call Agent"), "agent_s");
    await user.selectOptions(within(details).getByLabelText("Outbound Call Agent"), "agent_b");
    const listsBefore = api.requests("GET", "/phone-numbers").length;
    await user.click(within(details).getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")[0].body).toEqual({
      phone_number: "+12025550101",
      inbound_agent_id: "agent_s",
      outbound_agent_id: "agent_b",
    });
    await waitFor(() => expect(within(rows()[1]).getByText(/Inbound: Support Agent \(pipeline\)/)).toBeInTheDocument());
    expect(within(screen.getByTestId("details")).getAllByText(/Current:/)[1]).toHaveTextContent("Sales Agent (realtime)");
    await waitFor(() => expect(api.requests("GET", "/phone-numbers").length).toBeGreaterThan(listsBefore));
  });

  it("shows the spinner and Saving… while the request runs", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow = new FakeApi();
    Object.assign(slow, { agents: api.agents, numbers: api.numbers });
    const inner = slow.fetch;
    slow.fetch = async (input, init) => {
      if (String(input).includes("agent-assignments")) await gate;
      return inner(input, init);
    };
    const { user } = await renderStudio(slow);
    await user.click(rowButton(1));
    await user.selectOptions(screen.getByLabelText("Inbound Call Agent"), "agent_s");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    const saving = await screen.findByRole("button", { name: "Saving…" });
    expect(saving).toBeDisabled();
    expect(saving.querySelector(".spin")).not.toBeNull();
    await act(async () => release());
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
  });

  it("refuses a text agent and an empty assignment inline", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.selectOptions(screen.getByLabelText("Inbound Call Agent"), "agent_t");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(screen.getByText("Agent is a text-only agent and cannot make voice calls")).toBeInTheDocument();
    expect(screen.getByLabelText("Inbound Call Agent")).toHaveAttribute("aria-invalid", "true");
    await user.selectOptions(screen.getByLabelText("Inbound Call Agent"), "");
    await user.selectOptions(screen.getByLabelText("Outbound Call Agent"), "");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(screen.getByText("At least one agent must be selected")).toBeInTheDocument();
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")).toHaveLength(0);
  });

  it("refuses to save with no agent chosen, even when nothing else changed", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("At least one agent must be selected")).toBeInTheDocument();
    expect(screen.queryByText("Agent assignments saved successfully")).toBeNull();
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")).toHaveLength(0);
    expect(api.requests("PATCH", "/phone-numbers/")).toHaveLength(0);
  });

  it("saves the call settings alone on a number without agents", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    await user.selectOptions(screen.getByLabelText("Call Recording"), "all");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
    expect(api.requests("PATCH", "/phone-numbers/")[0].body).toEqual({ webhook_url: null, recording_mode: "all" });
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")).toHaveLength(0);
  });

  it("says there is nothing to save instead of a success when nothing changed", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("No changes to save")).toBeInTheDocument();
    expect(screen.queryByText("Agent assignments saved successfully")).toBeNull();
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")).toHaveLength(0);
  });

  it("saves the call settings with PATCH", async () => {
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.type(screen.getByLabelText("Webhook URL"), "not a url");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(screen.getByLabelText("Webhook URL")).toHaveAttribute("aria-invalid", "true");
    await user.clear(screen.getByLabelText("Webhook URL"));
    await user.type(screen.getByLabelText("Webhook URL"), "https://example.com/hooks");
    await user.selectOptions(screen.getByLabelText("Call Recording"), "consent");
    await user.click(screen.getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
    expect(api.requests("PATCH", "/phone-numbers/")[0].body).toEqual({ webhook_url: "https://example.com/hooks", recording_mode: "consent" });
    expect(api.requests("PUT", "/phone-numbers/agent-assignments")).toHaveLength(0);
  });

  it("shows the server's refusal inline and as a toast", async () => {
    api.overrides.push((c) =>
      c.method === "PUT"
        ? { status: 422, body: { title: "Validation failed", status: 422, detail: "x", errors: [{ field: "outbound_agent_id", message: "Agent is a text-only agent and cannot make voice calls" }] } }
        : undefined,
    );
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    await user.selectOptions(screen.getByLabelText("Outbound Call Agent"), "agent_b");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getAllByText(/text-only agent/).length).toBeGreaterThanOrEqual(2));
    expect(screen.getByLabelText("Outbound Call Agent")).toHaveAttribute("aria-invalid", "true");
  });
});

describe("sync state after a save", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    FakeEventSource.instances = [];
  });

  it("keeps Synced once trunk-sync reported it, whatever responses read before that arrive later", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    // Reads (GET) are answered with what the server held when they were made, but delivered only
    // when the test releases them: the order the browser sees when a response is slower than an event.
    const held: { path: string; release: () => void }[] = [];
    let holding = false;
    const inner = api.fetch;
    api.fetch = async (input, init) => {
      const response = await inner(input, init);
      if (holding && (init?.method ?? "GET") === "GET" && String(input).startsWith("/phone-numbers")) {
        await new Promise<void>((release) => held.push({ path: String(input), release }));
      }
      return response;
    };
    const release = async (prefix: string) => {
      await waitFor(() => expect(held.some((h) => h.path.startsWith(prefix))).toBe(true));
      await act(async () => held.filter((h) => h.path.startsWith(prefix)).forEach((h) => h.release()));
    };
    const { user } = await renderStudio(api, "owner", { live: true });
    const stream = FakeEventSource.instances[0];
    const target = api.numbers[0];
    await user.click(rowButton(0));
    const details = screen.getByTestId("details");
    // Agents and call settings together: PUT (version 2), then PATCH (version 3).
    await user.selectOptions(within(details).getByLabelText("Inbound Call Agent"), "agent_b");
    await user.type(within(details).getByLabelText("Webhook URL"), "https://example.com/hooks");
    api.numbers.push(number("+12025550199"));
    holding = true;
    await user.click(within(details).getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
    expect(target.version).toBe(3);
    expect(within(details).getByTestId("sync-state")).toHaveTextContent("Sync pending");

    // The stream forwards trunk-sync's result before numbers-api has recorded it, so the read the
    // page makes on it still says pending; an agent renamed meanwhile marks that read's arrival.
    target.outbound_agent = { ...sales, name: "Sales Team" };
    act(() =>
      stream.send("telephony.phone_number.synced", {
        id: "evt_1",
        type: "talkifai.telephony.phone_number.synced.v1",
        subject: target.id,
        data: { phone_number_id: target.id, phone_number: target.phone_number, version: 3, state: "synced", error: null, at: "2025-01-01T00:01:00Z" },
      }),
    );
    await waitFor(() => expect(within(details).getByTestId("sync-state")).toHaveTextContent("Synced with LiveKit"));
    await waitFor(() => expect(held.some((h) => h.path === `/phone-numbers/${target.id}`)).toBe(true));
    target.sync = { state: "synced", error: null, synced_at: "2025-01-01T00:01:00Z" };

    await release(`/phone-numbers/${target.id}`);
    await waitFor(() => expect(within(details).getAllByText(/Current:/)[1]).toHaveTextContent("Sales Team (realtime)"));
    expect(within(details).getByTestId("sync-state")).toHaveTextContent("Synced with LiveKit");

    // The list the save asked for was read before the result too.
    await release("/phone-numbers?");
    await waitFor(() => expect(rows().map((r) => r.dataset.number)).toContain("+12025550199"));
    expect(within(screen.getByTestId("details")).getByTestId("sync-state")).toHaveTextContent("Synced with LiveKit");
  });
});

describe("roles", () => {
  it("gives members no add, edit, delete or save", async () => {
    const { user } = await renderStudio(api, "member");
    expect(screen.queryByRole("button", { name: "Add Phone Number" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Edit / })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Delete / })).not.toBeInTheDocument();
    await user.click(rowButton(0));
    expect(screen.queryByRole("button", { name: "Save Agent Assignments" })).not.toBeInTheDocument();
    expect(screen.getByLabelText("Inbound Call Agent")).toBeDisabled();
    expect(screen.getByRole("button", { name: "Make Test Call" })).toBeEnabled();
    await user.keyboard("n");
    await user.keyboard("{Delete}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });
});

describe("keyboard shortcuts", () => {
  it("N opens the add dialog, Ctrl+F focuses search, Delete asks to delete the selected number", async () => {
    const { user } = await renderStudio(api);
    await user.keyboard("n");
    expect(screen.getByRole("dialog", { name: "Add Phone Number" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await user.keyboard("{Control>}f{/Control}");
    expect(screen.getByPlaceholderText("Search phone numbers…")).toHaveFocus();
    // Typing N in the search box types; it does not open the dialog.
    await user.keyboard("N");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await user.clear(screen.getByPlaceholderText("Search phone numbers…"));
    await user.click(rowButton(2));
    await user.keyboard("{Delete}");
    expect(screen.getByRole("alertdialog")).toHaveTextContent("Are you sure you want to delete phone number +442071838750?");
  });

  it("Enter saves the dialog", async () => {
    const { user } = await renderStudio(api);
    await user.keyboard("n");
    await user.keyboard("+13125550100{Enter}");
    await waitFor(() => expect(api.requests("POST", "/phone-numbers")).toHaveLength(1));
  });
});

describe("errors", () => {
  it("retries a failed load from the toast", async () => {
    let failures = 1;
    api.overrides.push((c) => (c.method === "GET" && c.path.startsWith("/phone-numbers") && failures-- > 0 ? { status: 503, body: { title: "Service Unavailable", status: 503, detail: "Database is not reachable" } } : undefined));
    const { saveSession, decodeToken } = await import("./lib/session");
    saveSession(decodeToken(makeToken("org_a", "owner")));
    const { render } = await import("@testing-library/react");
    const userEvent = (await import("@testing-library/user-event")).default;
    const { App } = await import("./App");
    const { ToastProvider } = await import("./components/Toasts");
    const user = userEvent.setup();
    render(
      <ToastProvider>
        <App fetchImpl={api.fetch} live={false} />
      </ToastProvider>,
    );
    const toast = await screen.findByRole("alert");
    expect(toast).toHaveTextContent("Could not load phone numbers: Database is not reachable");
    await user.click(within(toast).getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(rows()).toHaveLength(3));
  });

  it("asks for an organization first, then signs in with the dev token endpoint", async () => {
    const { user } = await renderStudio(api, null);
    expect(screen.getByText("Please select an organization first")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Organization ID"), "org_a");
    await user.selectOptions(screen.getByLabelText("Role"), "admin");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Phone Numbers" })).toBeInTheDocument();
    expect(api.requests("POST", "/dev/token")[0].body).toEqual({ org_id: "org_a", role: "admin", sub: "dev-user" });
    expect(api.requests("GET", "/phone-numbers").at(-1)?.auth).toMatch(/^Bearer /);
  });
});

describe("token hand-off and organizations", () => {
  it("takes #token from the URL and removes it", async () => {
    window.history.replaceState(null, "", `/telephony/#token=${makeToken("org_b", "member")}`);
    await renderStudio(api, null);
    expect(await screen.findByRole("heading", { name: "Phone Numbers" })).toBeInTheDocument();
    expect(window.location.hash).toBe("");
    expect(screen.getByLabelText("Organization")).toHaveValue("org_b");
    expect(screen.queryByRole("button", { name: "Add Phone Number" })).not.toBeInTheDocument();
  });

  it("switches organization and reloads", async () => {
    const { user } = await renderStudio(api, "owner");
    await user.selectOptions(screen.getByLabelText("Organization"), "__other__");
    await user.type(screen.getByLabelText("Organization ID"), "org_c");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await screen.findByRole("heading", { name: "Phone Numbers" });
    expect(screen.getByLabelText("Organization")).toHaveValue("org_c");
    const before = api.requests("GET", "/phone-numbers").length;
    await user.selectOptions(screen.getByLabelText("Organization"), "org_a");
    await waitFor(() => expect(api.requests("GET", "/phone-numbers").length).toBeGreaterThan(before));
    expect(screen.getByLabelText("Organization")).toHaveValue("org_a");
  });
});

describe("real time", () => {
  it("applies another component's CustomEvents and reloads agents on agentUpdated", async () => {
    await renderStudio(api);
    act(() => {
      window.dispatchEvent(new CustomEvent("phoneNumberDeleted", { detail: { orgId: "org_a", id: api.numbers[2].id, source: "elsewhere" } }));
    });
    expect(rows()).toHaveLength(2);
    const agentsBefore = api.requests("GET", "/agents").length;
    act(() => {
      window.dispatchEvent(new CustomEvent("agentUpdated", { detail: { id: "agent_s" } }));
    });
    await waitFor(() => expect(api.requests("GET", "/agents").length).toBeGreaterThan(agentsBefore));
  });

  it("ignores another organization's changes", async () => {
    await renderStudio(api);
    act(() => {
      window.dispatchEvent(new CustomEvent("phoneNumberDeleted", { detail: { orgId: "org_x", id: api.numbers[2].id, source: "elsewhere" } }));
    });
    expect(rows()).toHaveLength(3);
  });
});

describe("make test call", () => {
  it("cannot be started from an inactive number, and says what the number lacks", async () => {
    api.numbers[1] = { ...api.numbers[1], termination_uri: "trunk.pstn.twilio.com", outbound_agent: { id: sales.id, name: sales.name, architecture: "realtime" } };
    const { user } = await renderStudio(api);
    await user.click(rowButton(1));
    const button = screen.getByRole("button", { name: "Make Test Call" });
    expect(button).toBeDisabled();
    expect(button).toHaveAccessibleDescription(/SIP credentials/);
    await user.click(button);
    expect(screen.queryByRole("dialog", { name: "Make Test Call" })).toBeNull();
    expect(api.requests("POST", "/telephony/outbound-call")).toHaveLength(0);
  });

  it.each([
    // An older call-orchestrator (no call id): the seed's success body, explained in the dialog.
    [200, { success: true, message: "Call initiated successfully", room_name: "outbound_agent_b_12025550123_12025550100", agent: { id: "agent_b", name: "Sales Agent" }, from_number: "+12025550100", to_number: "+12025550123" }, "Call initiated successfully"],
    [402, { success: false, error: "insufficient_balance", message: "Carrier account has insufficient funds" }, "Insufficient balance"],
    [404, { success: false, error: "phone_number_not_found", message: "Phone number not found" }, "Phone number not found"],
    [408, { success: false, error: "timeout", message: "No answer", sip_status_code: 408 }, "Timeout / No answer"],
    [502, null, "Call service unavailable"],
  ])("explains a %i", async (status, body, title) => {
    api.callResponse = { status, body };
    const { user } = await renderStudio(api);
    await user.click(rowButton(0));
    await user.click(screen.getByRole("button", { name: "Make Test Call" }));
    const dialog = screen.getByRole("dialog", { name: "Make Test Call" });
    await user.type(within(dialog).getByLabelText("Destination Number"), "12345{Enter}");
    expect(within(dialog).getByText(/start with \+/)).toHaveClass("field-error");
    await user.clear(within(dialog).getByLabelText("Destination Number"));
    await user.type(within(dialog).getByLabelText("Destination Number"), "+12025550123{Enter}");
    expect(await within(dialog).findByTestId("call-outcome")).toHaveTextContent(title);
    expect(api.requests("POST", "/telephony/outbound-call")[0].body).toEqual({ to_number: "+12025550123", from_number: "+12025550100", wait_until_answered: false });
  });
});
