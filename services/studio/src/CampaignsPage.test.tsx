import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CampaignStatus } from "./lib/types";
import { agent, FakeApi, number } from "./test/fakeApi";
import { campaign, campaignRow, FakeCampaigns } from "./test/fakeCampaigns";
import { FakeEventSource } from "./test/fakeEventSource";
import { renderStudio } from "./test/render";

let api: FakeApi;
let backend: FakeCampaigns;
const LIST = "/telephony/campaigns";

beforeEach(() => {
  api = new FakeApi();
  api.agents = [agent("agent_b", "Sales Agent", "realtime"), agent("agent_s", "Support Agent", "pipeline"), agent("agent_t", "Chat Bot", "text")];
  api.numbers = [number("+12025550100", { status: "active" }), number("+12025550101")];
  backend = new FakeCampaigns();
  api.overrides.push(backend.route);
});

afterEach(() => {
  vi.unstubAllGlobals();
  FakeEventSource.instances = [];
});

const field = (label: string) => screen.getByLabelText(new RegExp(`^${label}( \\*)?$`));
const helpOf = (el: HTMLElement) => document.getElementById(el.getAttribute("aria-describedby")!)!;
const gets = (prefix: string) => api.requests("GET", prefix).map((c) => c.path);

function csvFile(text: string, name = "contacts.csv") {
  return new File([text], name, { type: "text/csv" });
}

describe("the campaigns list", () => {
  it("lists campaigns newest first with status, progress and creation time, and pages by cursor", async () => {
    backend.pageSize = 2;
    backend.campaigns = [
      campaign("cmp_3", "December renewals", {
        status: "running",
        counts: { total: 4, pending: 1, in_progress: 1, waiting_retry: 0, completed: 1, failed: 1, do_not_call: 0, cancelled: 0 },
      }),
      campaign("cmp_2", "Appointment confirmations", { status: "paused" }),
      campaign("cmp_1", "Spring reminders", { status: "completed", counts: { total: 2, pending: 0, in_progress: 0, waiting_retry: 0, completed: 2, failed: 0, do_not_call: 0, cancelled: 0 } }),
    ];
    await renderStudio(api, "owner", { path: LIST });
    expect(screen.getByRole("heading", { name: "Campaigns" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Campaigns" })).toHaveAttribute("aria-current", "page");
    let rows = screen.getAllByTestId("campaign-row");
    expect(rows.map((r) => r.dataset.campaign)).toEqual(["cmp_3", "cmp_2"]);
    expect(within(rows[0]).getByTestId("campaign-status")).toHaveTextContent("Running");
    expect(within(rows[0]).getByRole("progressbar", { name: "December renewals progress" })).toHaveAttribute("aria-valuenow", "50");
    expect(rows[0]).toHaveTextContent("2 of 4 done · 50%");
    expect(rows[0]).toHaveAttribute("href", "/telephony/campaigns/cmp_3");
    fireEvent.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(screen.getAllByTestId("campaign-row")).toHaveLength(3));
    rows = screen.getAllByTestId("campaign-row");
    expect(rows[2]).toHaveTextContent("2 of 2 done · 100%");
    expect(gets("/campaigns")).toContain("/campaigns?cursor=2&limit=25");
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
  });

  it("filters by status through the address", async () => {
    backend.campaigns = [campaign("cmp_2", "Running one", { status: "running" }), campaign("cmp_1", "Draft one")];
    const { user } = await renderStudio(api, "owner", { path: LIST });
    await user.selectOptions(field("Status"), "draft");
    await waitFor(() => expect(screen.getAllByTestId("campaign-row").map((r) => r.dataset.campaign)).toEqual(["cmp_1"]));
    expect(window.location.search).toBe("?status=draft");
    expect(gets("/campaigns")).toContain("/campaigns?status=draft&limit=25");
  });

  it("reads the first page again when a campaign event arrives", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    backend.campaigns = [campaign("cmp_1", "Draft one")];
    await renderStudio(api, "owner", { path: LIST, live: true });
    expect(screen.getAllByTestId("campaign-row")).toHaveLength(1);
    backend.campaigns.unshift(campaign("cmp_2", "Made elsewhere"));
    act(() => FakeEventSource.instances[0].send("telephony.campaign.created", { id: "evt_1", type: "talkifai.telephony.campaign.created.v1", subject: "cmp_2", data: {} }));
    await waitFor(() => expect(screen.getAllByTestId("campaign-row").map((r) => r.dataset.campaign)).toEqual(["cmp_2", "cmp_1"]));
  });

  it("opens a new campaign with N, except while typing", async () => {
    const { user } = await renderStudio(api, "owner", { path: LIST });
    await user.type(screen.getByLabelText("Numbers to add"), "n");
    expect(window.location.pathname).toBe(LIST);
    await user.click(screen.getByRole("heading", { name: "Campaigns" }));
    await user.keyboard("n");
    expect(await screen.findByRole("heading", { name: "New campaign" })).toBeInTheDocument();
    expect(window.location.pathname).toBe(`${LIST}/new`);
  });

  it("keeps members to reading: no new campaign, no do-not-call changes", async () => {
    backend.dnc = [{ number: "+12025550199", reason: null, added_at: "2026-12-01T00:00:00Z", added_by: "u" }];
    await renderStudio(api, "member", { path: LIST });
    await screen.findByText("+12025550199");
    expect(screen.queryByRole("link", { name: "New campaign" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Add to list" })).toBeNull();
    expect(screen.queryByRole("button", { name: "Remove +12025550199" })).toBeNull();
    expect(screen.getByText("Only owners and admins can change the do-not-call list.")).toBeInTheDocument();
  });
});

describe("the do-not-call list", () => {
  it("adds numbers (refusing what is not E.164, beside the field) and removes one", async () => {
    const { user } = await renderStudio(api, "owner", { path: LIST });
    const card = screen.getByRole("region", { name: "Do-not-call list" });
    await within(card).findByText("No numbers on the list.");
    const box = within(card).getByLabelText("Numbers to add");
    await user.type(box, "12345");
    await user.click(within(card).getByRole("button", { name: "Add to list" }));
    expect(box).toHaveAttribute("aria-invalid", "true");
    expect(helpOf(box)).toHaveTextContent("Not phone numbers in E.164 format (+ and 10 or more digits): 12345");
    expect(api.requests("POST", "/do-not-call")).toHaveLength(0);

    await user.clear(box);
    await user.type(box, "+1 202 555 0199{enter}+12025550198");
    await user.type(within(card).getByLabelText("Reason (optional)"), "Asked not to be called");
    await user.click(within(card).getByRole("button", { name: "Add to list" }));
    await screen.findByText("2 numbers added to the do-not-call list");
    expect(api.requests("POST", "/do-not-call")[0].body).toEqual({ numbers: ["+12025550199", "+12025550198"], reason: "Asked not to be called" });
    await waitFor(() => expect(within(card).getAllByTestId("dnc-item")).toHaveLength(2));
    // Removing asks first: campaigns may call the number again.
    await user.click(within(card).getByRole("button", { name: "Remove +12025550199" }));
    let dialog = screen.getByRole("alertdialog", { name: "Remove from the do-not-call list?" });
    expect(dialog).toHaveTextContent("Campaigns may call +12025550199 again from now on.");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(api.requests("DELETE", "/do-not-call")).toHaveLength(0);
    await user.click(within(card).getByRole("button", { name: "Remove +12025550199" }));
    dialog = screen.getByRole("alertdialog", { name: "Remove from the do-not-call list?" });
    await user.click(within(dialog).getByRole("button", { name: "Remove" }));
    await waitFor(() => expect(within(card).getAllByTestId("dnc-item")).toHaveLength(1));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(api.requests("DELETE", "/do-not-call")[0].path).toBe("/do-not-call/%2B12025550199");
    expect(backend.dnc.map((d) => d.number)).toEqual(["+12025550198"]);
  });
});

describe("a campaign's page", () => {
  const page = (id = "cmp_1") => `${LIST}/${id}`;

  it.each<[CampaignStatus, string[]]>([
    ["draft", ["Start", "Cancel campaign"]],
    ["running", ["Pause", "Cancel campaign"]],
    ["paused", ["Resume", "Cancel campaign"]],
    ["completed", []],
    ["cancelled", []],
  ])("a %s campaign offers %j besides the download", async (status, buttons) => {
    backend.campaigns = [campaign("cmp_1", "December renewals", { status })];
    await renderStudio(api, "owner", { path: page() });
    await screen.findByRole("heading", { name: "December renewals" });
    const actions = document.querySelector(".topbar-actions")!;
    expect(within(actions as HTMLElement).getAllByRole("button").map((b) => b.textContent)).toEqual([...buttons, "Download results"]);
  });

  it("shows members the campaign without its actions", async () => {
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "running" })];
    await renderStudio(api, "member", { path: page() });
    await screen.findByRole("heading", { name: "December renewals" });
    expect(screen.queryByRole("button", { name: "Pause" })).toBeNull();
    expect(screen.getByRole("note")).toHaveTextContent("Only owners and admins can start, pause, resume or cancel campaigns.");
  });

  it("shows counts by status, calls in progress and the ETA, and filters rows by a count", async () => {
    const eta = new Date(Date.now() + (2 * 60 + 30) * 60_000 + 20_000).toISOString();
    backend.campaigns = [
      campaign("cmp_1", "December renewals", {
        status: "running",
        calls_in_progress: 2,
        eta_at: eta,
        counts: { total: 10, pending: 4, in_progress: 2, waiting_retry: 1, completed: 2, failed: 1, do_not_call: 0, cancelled: 0 },
      }),
    ];
    backend.rows.cmp_1 = [
      campaignRow("r1", 2, "completed", {
        attempts: [
          { number: 1, call_id: "call_a", from_number: "+12025550100", started_at: "2026-12-08T09:00:00Z", ended_at: "2026-12-08T09:00:05Z", outcome: "busy", sip_status_code: 486, detail: null },
          { number: 2, call_id: "call_b", from_number: "+12025550100", started_at: "2026-12-08T10:00:00Z", ended_at: "2026-12-08T10:02:00Z", outcome: "answered", sip_status_code: null, detail: null },
        ],
      }),
      campaignRow("r2", 3, "waiting_retry", { next_attempt_at: "2026-12-08T11:00:00Z" }),
      campaignRow("r3", 4, "in_progress", {
        attempts: [{ number: 1, call_id: "call_c", from_number: "+12025550100", started_at: "2026-12-08T10:05:00Z", ended_at: null, outcome: null, sip_status_code: null, detail: null }],
      }),
    ];
    const { user } = await renderStudio(api, "owner", { path: page() });
    await screen.findByRole("heading", { name: "December renewals" });
    expect(screen.getByRole("progressbar", { name: "Campaign progress" })).toHaveAttribute("aria-valuenow", "30");
    expect(screen.getByTestId("calls-in-progress")).toHaveTextContent("2");
    expect(screen.getByTestId("campaign-eta")).toHaveTextContent("About 2 h 30 min left");
    expect(screen.getByTestId("count-waiting_retry")).toHaveTextContent("1Waiting to retry");
    expect(screen.getByRole("region", { name: "Settings" })).toHaveTextContent("WindowMon, Tue, Wed, Thu, Fri, 09:00–20:00 callee's time");
    await waitFor(() => expect(screen.getAllByTestId("campaign-row-item")).toHaveLength(3));
    // A call still going on has no outcome yet.
    expect(within(screen.getAllByTestId("campaign-row-item")[2]).getByTestId("attempt")).toHaveTextContent(/^#1 In progress · call/);
    const first = screen.getAllByTestId("campaign-row-item")[0];
    expect(within(first).getAllByTestId("attempt").map((a) => a.textContent)).toEqual([
      expect.stringMatching(/^#1 Busy \(SIP 486\) · call/),
      expect.stringMatching(/^#2 Answered · call/),
    ]);
    expect(within(first).getByRole("link", { name: "Call of attempt 2" })).toHaveAttribute("href", "/telephony/calls/call_b");

    await user.click(screen.getByTestId("count-waiting_retry"));
    expect(window.location.search).toBe("?status=waiting_retry");
    expect(screen.getByTestId("count-waiting_retry")).toHaveAttribute("aria-pressed", "true");
    await waitFor(() => expect(screen.getAllByTestId("campaign-row-item")).toHaveLength(1));
    expect(gets("/campaigns/cmp_1/rows")).toContain("/campaigns/cmp_1/rows?status=waiting_retry&limit=50");
    expect(field("Status")).toHaveValue("waiting_retry");
  });

  it("asks before cancelling; Keep campaign leaves it running", async () => {
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "running" })];
    const { user } = await renderStudio(api, "owner", { path: page() });
    await user.click(await screen.findByRole("button", { name: "Cancel campaign" }));
    let dialog = screen.getByRole("alertdialog", { name: "Cancel this campaign?" });
    expect(dialog).toHaveTextContent("10 numbers not called yet will not be");
    expect(within(dialog).getByRole("button", { name: "Keep campaign" })).toHaveFocus();
    await user.click(within(dialog).getByRole("button", { name: "Keep campaign" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(api.requests("POST", "/campaigns/cmp_1/cancel")).toHaveLength(0);

    await user.click(screen.getByRole("button", { name: "Cancel campaign" }));
    dialog = screen.getByRole("alertdialog", { name: "Cancel this campaign?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel campaign" }));
    await waitFor(() => expect(screen.getByTestId("campaign-status")).toHaveTextContent("Cancelled"));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(screen.getByText("Campaign December renewals: cancelled")).toBeInTheDocument();
  });

  it("pauses and resumes, and explains a transition the server no longer allows", async () => {
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "running" })];
    const { user } = await renderStudio(api, "owner", { path: page() });
    await user.click(await screen.findByRole("button", { name: "Pause" }));
    await waitFor(() => expect(screen.getByTestId("campaign-status")).toHaveTextContent("Paused"));
    // Someone else finished it meanwhile: Resume answers 409, the page says why and reads again.
    backend.campaigns[0].status = "completed";
    await user.click(screen.getByRole("button", { name: "Resume" }));
    await screen.findByText(/Resume: not possible now \(only a paused campaign can be resumed\)\. Cannot resume a campaign that is completed/);
    await waitFor(() => expect(screen.getByTestId("campaign-status")).toHaveTextContent("Completed"));
    expect(screen.queryByRole("button", { name: "Resume" })).toBeNull();
  });

  it("downloads results.csv with the bearer token under the server's file name", async () => {
    const createObjectURL = vi.fn(() => "blob:results");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() }));
    const clicked: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "completed" })];
    const { user } = await renderStudio(api, "owner", { path: page() });
    await user.click(await screen.findByRole("button", { name: "Download results" }));
    await waitFor(() => expect(clicked).toEqual(["december-results.csv"]));
    const request = api.requests("GET", "/campaigns/cmp_1/results.csv")[0];
    expect(request.auth).toMatch(/^Bearer /);
    expect(createObjectURL).toHaveBeenCalledOnce();
    click.mockRestore();
  });

  it("reads the campaign again when a call event names it, and not for other calls", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "paused" })];
    await renderStudio(api, "owner", { path: page(), live: true });
    await screen.findByRole("heading", { name: "December renewals" });
    const reads = () => gets("/campaigns/cmp_1").filter((p) => p === "/campaigns/cmp_1").length;
    expect(reads()).toBe(1);
    const source = FakeEventSource.instances[0];
    const send = (campaignId: string | null) =>
      act(() =>
        source.send("telephony.call.completed", {
          id: `evt_${campaignId}`,
          type: "talkifai.telephony.call.completed.v1",
          subject: "call_1",
          data: { id: "call_1", campaign: campaignId ? { id: campaignId, row_id: "r1", attempt: 1 } : null },
        }),
      );
    send("cmp_other");
    send(null);
    backend.campaigns[0].counts = { ...backend.campaigns[0].counts, pending: 9, completed: 1 };
    send("cmp_1");
    await waitFor(() => expect(reads()).toBe(2));
    await waitFor(() => expect(screen.getByTestId("count-completed")).toHaveTextContent("1Completed"));
  });

  it("describes its settings, a campaign without a window as calling at any time", async () => {
    backend.campaigns = [
      campaign("cmp_1", "December renewals", { windows: null, retry: { max_attempts: 2, delay_s: 5400, on: { busy: true, no_answer: false, failed: [], agent_failed: false } } }),
    ];
    await renderStudio(api, "owner", { path: page() });
    const settings = await screen.findByRole("region", { name: "Settings" });
    expect(settings).toHaveTextContent("WindowAny day, any time");
    expect(settings).toHaveTextContent("RetriesUp to 2 attempts, 1 h 30 min apart, on busy");
    expect(settings).toHaveTextContent("Pacing1 call per second, at most 2 at once");
  });

  it("reads the campaign again on its own telephony.campaign.* event, not on another campaign's", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    backend.campaigns = [campaign("cmp_1", "December renewals", { status: "draft" })];
    await renderStudio(api, "owner", { path: page(), live: true });
    await screen.findByRole("heading", { name: "December renewals" });
    const reads = () => gets("/campaigns/cmp_1").filter((p) => p === "/campaigns/cmp_1").length;
    const source = FakeEventSource.instances[0];
    const send = (subject: string) =>
      act(() => source.send("telephony.campaign.started", { id: `evt_${subject}`, type: "talkifai.telephony.campaign.started.v1", subject, data: {} }));
    send("cmp_other");
    backend.campaigns[0].status = "running";
    send("cmp_1");
    await waitFor(() => expect(screen.getByTestId("campaign-status")).toHaveTextContent("Running"));
    expect(reads()).toBe(2);
    expect(FakeEventSource.instances).toHaveLength(1);
  });

  it("says so when the campaign does not exist", async () => {
    await renderStudio(api, "owner", { path: page("cmp_nope") });
    expect(await screen.findByRole("heading", { name: "Campaign not found" })).toBeInTheDocument();
  });
});

describe("a new campaign from a CSV file", () => {
  const NEW = `${LIST}/new`;
  const CSV = "to_number,name\n+12025550111,Ada\n12,Bob\n+12025550112,Cy\n";

  async function fillBasics(user: Awaited<ReturnType<typeof renderStudio>>["user"]) {
    await user.type(field("Name"), "December renewals");
    await waitFor(() => expect(screen.getByRole("option", { name: "Sales Agent (realtime)" })).toBeInTheDocument());
    await user.selectOptions(screen.getByRole("combobox", { name: /^Agent/ }), "agent_b");
    await user.click(screen.getByRole("checkbox", { name: "+12025550100" }));
  }

  it("offers voice agents only and the organization's numbers", async () => {
    await renderStudio(api, "owner", { path: NEW });
    await waitFor(() => expect(screen.getByRole("option", { name: "Sales Agent (realtime)" })).toBeInTheDocument());
    expect(screen.queryByRole("option", { name: /Chat Bot/ })).toBeNull();
    expect(screen.getAllByRole("checkbox", { name: /^\+1202555010/ })).toHaveLength(2);
    expect(screen.getByText("Inactive")).toBeInTheDocument();
  });

  it("previews the file with the server's verdict: accepted rows and each refused row with its line", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await fillBasics(user);
    await user.upload(field("CSV file"), csvFile(CSV));
    await screen.findByText("2 rows will be called; 1 row is refused and left out.");
    expect(screen.getByText("contacts.csv: 3 rows, columns to_number, name")).toBeInTheDocument();
    const refused = screen.getByRole("table", { name: "Refused rows" });
    expect(within(refused).getAllByTestId("rejected-row").map((r) => r.textContent)).toEqual(["312Invalid number"]);
    expect(within(screen.getByRole("table", { name: "Preview of accepted rows" })).getAllByTestId("preview-row")).toHaveLength(2);
    const dryRun = api.requests("POST", "/campaigns?dry_run=true");
    expect(dryRun).toHaveLength(1);
    const body = dryRun[0].body as { file: string; campaign: string };
    expect(body.file).toBe(CSV);
    expect(JSON.parse(body.campaign)).toMatchObject({ name: "December renewals", agent_id: "agent_b", from_numbers: ["+12025550100"] });
  });

  it("refuses a file without a to_number column in the browser, beside the file field", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await fillBasics(user);
    await user.upload(field("CSV file"), csvFile("phone,name\n+12025550111,Ada\n"));
    await waitFor(() => expect(field("CSV file")).toHaveAttribute("aria-invalid", "true"));
    expect(helpOf(field("CSV file"))).toHaveTextContent("The header row has no to_number column (it has: phone, name).");
    expect(api.requests("POST", "/campaigns")).toHaveLength(0);
  });

  it("waits for the agent and numbers before asking the server about the rows", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await user.upload(field("CSV file"), csvFile(CSV));
    await screen.findByText(/Choose the agent and at least one number above/);
    expect(api.requests("POST", "/campaigns")).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Check rows" }));
    expect(screen.getByText("Pick the voice agent that talks to the people called.")).toBeInTheDocument();
    expect(api.requests("POST", "/campaigns")).toHaveLength(0);
    // Once they are chosen, the rows are checked without asking.
    await fillBasics(user);
    await screen.findByText("2 rows will be called; 1 row is refused and left out.");
    expect(api.requests("POST", "/campaigns?dry_run=true")).toHaveLength(1);
  });

  it("shows its own checks, then the server's, each beside its field, and focuses the first", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await user.click(screen.getByRole("button", { name: "Create as draft" }));
    await waitFor(() => expect(field("Name")).toHaveFocus());
    expect(field("Name")).toHaveAttribute("aria-invalid", "true");
    expect(helpOf(field("CSV file"))).toHaveTextContent("Choose the CSV file of numbers to call.");
    expect(api.requests("POST", "/campaigns")).toHaveLength(0);

    await fillBasics(user);
    await user.upload(field("CSV file"), csvFile(CSV));
    await screen.findByText(/2 rows will be called/);
    backend.createProblem = {
      status: 422,
      body: {
        title: "Validation failed",
        status: 422,
        detail: "pacing.max_concurrent: too many",
        errors: [
          { field: "pacing.max_concurrent", message: "Above your organization's concurrent-call limit (5)" },
          { field: "windows.blackout_dates[0]", message: "Blackout dates must be in the future" },
        ],
      },
    };
    await user.click(screen.getByRole("button", { name: "Create as draft" }));
    await waitFor(() => expect(helpOf(field("Max concurrent calls"))).toHaveTextContent("Above your organization's concurrent-call limit (5)"));
    expect(field("Max concurrent calls")).toHaveAttribute("aria-invalid", "true");
    expect(helpOf(field("Blackout dates"))).toHaveTextContent("Blackout dates must be in the future");
    await waitFor(() => expect(field("Blackout dates")).toHaveFocus());
    // Changing a field clears its own error only.
    await user.clear(field("Max concurrent calls"));
    await user.type(field("Max concurrent calls"), "2");
    expect(field("Max concurrent calls")).not.toHaveAttribute("aria-invalid");
    expect(field("Blackout dates")).toHaveAttribute("aria-invalid", "true");
  });

  it("puts a 413 on the file field", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await fillBasics(user);
    api.overrides.unshift((call) =>
      call.method === "POST" && call.path.startsWith("/campaigns")
        ? { status: 413, body: { title: "Payload Too Large", status: 413, detail: "The file has more than 100,000 rows (CAMPAIGN_MAX_ROWS)" } }
        : undefined,
    );
    await user.upload(field("CSV file"), csvFile(CSV));
    await waitFor(() => expect(helpOf(field("CSV file"))).toHaveTextContent("The file has more than 100,000 rows (CAMPAIGN_MAX_ROWS)"));
  });

  it("creates and starts the campaign, then shows it", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    await fillBasics(user);
    await user.upload(field("CSV file"), csvFile(CSV));
    await screen.findByText(/2 rows will be called/);
    await user.click(screen.getByRole("button", { name: "Create and start" }));
    await screen.findByRole("heading", { name: "December renewals" });
    expect(window.location.pathname).toBe("/telephony/campaigns/cmp_1");
    expect(screen.getByTestId("campaign-status")).toHaveTextContent("Running");
    expect(screen.getByText("Campaign December renewals created and started: 2 rows; 1 row was refused")).toBeInTheDocument();
    expect(api.calls.filter((c) => c.method === "POST").map((c) => c.path)).toEqual(["/campaigns?dry_run=true", "/campaigns", "/campaigns/cmp_1/start"]);
  });

  it("calls at any time without a window, or to midnight", async () => {
    const { user } = await renderStudio(api, "owner", { path: NEW });
    expect(await screen.findByRole("group", { name: /Days/ })).toBeInTheDocument();
    await user.click(screen.getByRole("checkbox", { name: "To midnight" }));
    expect(field("Until")).toBeDisabled();
    await user.click(screen.getByRole("checkbox", { name: "Call at any time (no calling window)" }));
    expect(screen.queryByRole("group", { name: /Days/ })).toBeNull();
    expect(screen.queryByLabelText(/^From/)).toBeNull();
    expect(screen.queryByLabelText(/^Blackout dates/)).toBeNull();
  });

  it("is closed to members", async () => {
    await renderStudio(api, "member", { path: NEW });
    expect(screen.getByRole("heading", { name: "Only owners and admins can create campaigns" })).toBeInTheDocument();
  });
});
