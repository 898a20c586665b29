import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { agent, callRecord, FakeApi, number, recording } from "./test/fakeApi";
import { FakeEventSource } from "./test/fakeEventSource";
import { renderStudio } from "./test/render";
import type { CallRecord } from "./lib/types";

let api: FakeApi;
const sales = agent("agent_b", "Sales Agent", "realtime");
const CALLS = "/telephony/calls";

const COST = {
  currency: "USD",
  total: "0.031250",
  total_micros: 31250,
  billed_s: 120,
  destination_prefix: "+1",
  breakdown: [
    { component: "carrier" as const, quantity: "2", unit: "minute", rate: "0.0140", rated_by: "+1", amount: "0.028000", amount_micros: 28000 },
    { component: "llm_input" as const, quantity: "0.0120", unit: "million_tokens", rate: "0.15", rated_by: "openai/gpt-4o-mini", amount: "0.001800", amount_micros: 1800 },
    { component: "tts" as const, quantity: "0.000097", unit: "million_characters", rate: "15.00", rated_by: "default", amount: "0.001450", amount_micros: 1450 },
  ],
  rate_deck_version: 0,
  computed_at: "2026-12-07T10:05:00Z",
};

beforeEach(() => {
  api = new FakeApi();
  api.agents = [sales];
  api.numbers = [
    number("+12025550100", {
      status: "active",
      termination_uri: "trunk.pstn.twilio.com",
      outbound_agent: { id: sales.id, name: sales.name, architecture: "realtime" },
      sync: { state: "synced", error: null, synced_at: "2025-01-01T00:00:00Z" },
    }),
    number("+12025550101"),
  ];
  api.callRecords = [
    callRecord({ id: "call_done", status: "completed", started_at: "2026-12-07T09:00:00Z", answered_at: "2026-12-07T09:00:05Z", ended_at: "2026-12-07T09:01:20Z", duration_s: 75, total_duration_s: 80, cost: COST }),
    callRecord({ id: "call_busy", status: "failed", failure_reason: "busy", sip_status_code: 486, started_at: "2026-12-07T09:10:00Z", ended_at: "2026-12-07T09:10:04Z", total_duration_s: 4 }),
    callRecord({
      id: "call_in",
      direction: "inbound",
      status: "completed",
      phone_number: "+12025550101",
      phone_number_id: "pn_12025550101",
      from_number: "+447700900123",
      to_number: "+12025550101",
      agent: { id: "agent_s", name: "Support Agent" },
      started_at: "2026-12-07T09:20:00Z",
      duration_s: 30,
    }),
    callRecord({ id: "call_live", status: "answered", started_at: "2026-12-07T09:30:00Z", ringing_at: "2026-12-07T09:30:01Z", answered_at: "2026-12-07T09:30:04Z" }),
  ];
});

afterEach(() => {
  vi.unstubAllGlobals();
  FakeEventSource.instances = [];
});

const rows = () => screen.queryAllByTestId("call-row");
const ids = () => rows().map((r) => r.dataset.call);
const row = (id: string) => rows().find((r) => r.dataset.call === id)!;

describe("call history", () => {
  it("lists calls newest first: the other party, status, our number, agent, talk time and cost", async () => {
    await renderStudio(api, "owner", { path: CALLS });
    expect(screen.getByRole("heading", { name: "Calls" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Calls" })).toHaveAttribute("aria-current", "page");
    expect(ids()).toEqual(["call_live", "call_in", "call_busy", "call_done"]);
    expect(within(row("call_done")).getByText("+14155550123")).toBeInTheDocument();
    expect(within(row("call_done")).getByTestId("call-status")).toHaveTextContent("Completed");
    expect(row("call_done")).toHaveTextContent("via +12025550100");
    expect(row("call_done")).toHaveTextContent("Sales Agent");
    expect(row("call_done")).toHaveTextContent("1:15");
    expect(row("call_done")).toHaveTextContent("USD 0.03125");
    // Inbound: the caller is the other party.
    expect(within(row("call_in")).getByText("+447700900123")).toBeInTheDocument();
    expect(within(row("call_in")).getByLabelText("Inbound")).toBeInTheDocument();
    expect(within(row("call_busy")).getByTestId("call-status")).toHaveTextContent("Failed");
    expect(row("call_live")).toHaveAttribute("href", "/telephony/calls/call_live");
    expect(api.requests("GET", "/calls")[0].path).toBe("/calls?limit=50");
  });

  it("filters by number, direction and status with GET /calls' parameters, kept in the address", async () => {
    const { user } = await renderStudio(api, "owner", { path: CALLS });
    await screen.findByRole("option", { name: "+12025550101" });
    await user.selectOptions(screen.getByLabelText("Number"), "+12025550101");
    await waitFor(() => expect(ids()).toEqual(["call_in"]));
    expect(window.location.search).toBe("?phone_number=%2B12025550101");
    await user.selectOptions(screen.getByLabelText("Number"), "+12025550100");
    await user.selectOptions(screen.getByLabelText("Direction"), "outbound");
    await user.selectOptions(screen.getByLabelText("Status"), "failed");
    await waitFor(() => expect(ids()).toEqual(["call_busy"]));
    const last = api.requests("GET", "/calls?").at(-1)!;
    expect(new URLSearchParams(last.path.split("?")[1]).toString()).toBe("phone_number=%2B12025550100&direction=outbound&status=failed&limit=50");
    await user.selectOptions(screen.getByLabelText("Status"), "initiated");
    expect(await screen.findByText("No calls match these filters")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    await waitFor(() => expect(ids()).toHaveLength(4));
    expect(window.location.search).toBe("");
  });

  it("filters by agent and by the days calls started, sent as started_from/started_before", async () => {
    const { user } = await renderStudio(api, "owner", { path: CALLS });
    await screen.findByRole("option", { name: "Sales Agent" });
    await user.selectOptions(screen.getByLabelText("Agent"), "agent_b");
    await waitFor(() => expect(ids()).toEqual(["call_live", "call_busy", "call_done"]));
    expect(window.location.search).toBe("?agent_id=agent_b");
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-08" } });
    expect(await screen.findByText("No calls match these filters")).toBeInTheDocument();
    const sent = new URLSearchParams(api.requests("GET", "/calls?").at(-1)!.path.split("?")[1]);
    expect(sent.get("agent_id")).toBe("agent_b");
    expect(sent.get("started_from")).toBe(new Date(2026, 11, 8).toISOString());
    fireEvent.change(screen.getByLabelText("From"), { target: { value: "2026-12-06" } });
    fireEvent.change(screen.getByLabelText("To"), { target: { value: "2026-12-07" } });
    await waitFor(() => expect(ids()).toEqual(["call_live", "call_busy", "call_done"]));
    const range = new URLSearchParams(api.requests("GET", "/calls?").at(-1)!.path.split("?")[1]);
    expect(range.get("started_before")).toBe(new Date(2026, 11, 8).toISOString());
    expect(window.location.search).toBe("?agent_id=agent_b&from=2026-12-06&to=2026-12-07");
  });

  it("opens filtered by the address (the link from a number's details)", async () => {
    await renderStudio(api, "owner", { path: `${CALLS}?phone_number=%2B12025550101&direction=inbound` });
    expect(ids()).toEqual(["call_in"]);
    expect(screen.getByLabelText("Number")).toHaveValue("+12025550101");
    expect(screen.getByLabelText("Direction")).toHaveValue("inbound");
  });

  it("pages with Load more until the cursor runs out", async () => {
    api.callRecords = Array.from({ length: 60 }, (_, i) => callRecord({ id: `call_${String(i).padStart(3, "0")}`, status: "completed", started_at: `2026-12-07T08:${String(i).padStart(2, "0")}:00Z` }));
    const { user } = await renderStudio(api, "owner", { path: CALLS });
    expect(rows()).toHaveLength(50);
    expect(ids()[0]).toBe("call_059");
    expect(screen.getByText("50 calls shown")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(rows()).toHaveLength(60));
    expect(ids().at(-1)).toBe("call_000");
    expect(api.requests("GET", "/calls?").at(-1)!.path).toBe("/calls?limit=50&cursor=50");
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();
    expect(screen.getByText("60 calls")).toBeInTheDocument();
  });

  it("shows the empty state", async () => {
    api.callRecords = [];
    await renderStudio(api, "owner", { path: CALLS });
    expect(screen.getByText("No calls yet")).toBeInTheDocument();
  });
});

describe("live calls", () => {
  function stream() {
    const source = FakeEventSource.instances[0];
    return (status: CallRecord["status"], call: CallRecord, time = "2026-12-07T10:00:00Z") =>
      act(() => source.send(`telephony.call.${status}`, { id: `evt_${call.id}_${status}`, type: `talkifai.telephony.call.${status}.v1`, subject: call.id, time, data: { ...call, status } } as never));
  }

  it("adds new calls and moves their status on; an older event never takes a newer state back", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    await renderStudio(api, "owner", { path: CALLS, live: true });
    const send = stream();
    const fresh = callRecord({ id: "call_new", status: "initiated", started_at: "2026-12-07T11:00:00Z", to_number: "+14155550199" });
    send("initiated", fresh);
    await waitFor(() => expect(ids()[0]).toBe("call_new"));
    expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Initiated");
    send("ringing", { ...fresh, ringing_at: "2026-12-07T11:00:01Z" });
    await waitFor(() => expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Ringing"));
    send("answered", { ...fresh, ringing_at: "2026-12-07T11:00:01Z", answered_at: "2026-12-07T11:00:03Z" });
    await waitFor(() => expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Answered"));
    // The ringing event delivered again, late: the call stays answered.
    send("ringing", { ...fresh, ringing_at: "2026-12-07T11:00:01Z" });
    expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Answered");
    send("completed", { ...fresh, ended_at: "2026-12-07T11:01:00Z", duration_s: 57 });
    await waitFor(() => expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Completed"));
    expect(row("call_new")).toHaveTextContent("0:57");
    send("answered", fresh);
    expect(within(row("call_new")).getByTestId("call-status")).toHaveTextContent("Completed");
    expect(screen.getByRole("status", { name: "Live updates: connecting" })).toBeInTheDocument();
  });

  it("leaves out new calls the filters exclude", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    await renderStudio(api, "owner", { path: `${CALLS}?direction=inbound`, live: true });
    stream()("initiated", callRecord({ id: "call_out", status: "initiated", started_at: "2026-12-07T11:00:00Z" }));
    expect(ids()).toEqual(["call_in"]);
  });

  it("follows one call on its page, listing the changes it saw", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    const ringing = callRecord({ id: "call_r", status: "ringing", ringing_at: "2026-12-07T10:00:01Z" });
    api.callRecords.push(ringing);
    await renderStudio(api, "owner", { path: `${CALLS}/call_r`, live: true });
    await screen.findByRole("heading", { name: "+14155550123" });
    expect(screen.getByTestId("call-outcome")).toHaveTextContent("Ringing");
    const send = stream();
    send("answered", { ...ringing, answered_at: "2026-12-07T10:00:04Z" }, "2026-12-07T10:00:04Z");
    await waitFor(() => expect(screen.getByTestId("call-outcome")).toHaveTextContent("In progress"));
    send("ringing", ringing);
    expect(screen.getByTestId("call-outcome")).toHaveTextContent("In progress");
    expect(within(screen.getByTestId("seen-changes")).getAllByRole("listitem")).toHaveLength(1);
    expect(screen.getByTestId("seen-changes")).toHaveTextContent("Answered");
    expect(screen.getByTestId("seen-changes")).toHaveTextContent("live event");
    // Another call's events are not this page's.
    send("failed", { ...ringing, id: "call_other" });
    expect(screen.getByTestId("call-outcome")).toHaveTextContent("In progress");
  });
});

describe("a call's page", () => {
  it("shows the outcome, timeline, agent, durations, cost and transcript", async () => {
    api.transcripts.call_done = {
      call_id: "call_done",
      agent_id: "agent_b",
      truncated: false,
      started_at: "2026-12-07T09:00:05Z",
      ended_at: "2026-12-07T09:01:20Z",
      items: [
        { role: "agent", text: "Hi, this is Sales.", at: "2026-12-07T09:00:06Z", interrupted: false },
        { role: "user", text: "What is my order status?", at: "2026-12-07T09:00:10Z", interrupted: false },
        { role: "tool", text: '{"status": "shipped"}', at: "2026-12-07T09:00:12Z", interrupted: false, tool_name: "lookup_order", tool_arguments: '{"order": "42"}' },
        { role: "agent", text: "It has shipped.", at: "2026-12-07T09:00:14Z", interrupted: true },
      ],
    };
    const { user } = await renderStudio(api, "owner", { path: CALLS });
    await user.click(within(row("call_done")).getByText("+14155550123"));
    expect(window.location.pathname).toBe("/telephony/calls/call_done");
    expect(await screen.findByRole("heading", { name: "+14155550123" })).toBeInTheDocument();
    expect(screen.getByText("ID: call_done")).toBeInTheDocument();
    expect(screen.getByTestId("call-outcome")).toHaveTextContent("Completed");
    expect(screen.getByTestId("call-agent")).toHaveTextContent("Sales Agent");
    expect(screen.getByTestId("call-duration")).toHaveTextContent("1:15");
    const timeline = screen.getByRole("region", { name: "Timeline" });
    expect(within(timeline).getAllByRole("listitem").map((li) => li.className)).toEqual(["timeline-done", "timeline-open", "timeline-done", "timeline-done"]);
    const cost = screen.getByRole("region", { name: "Usage and cost" });
    expect(within(cost).getByText("Carrier minutes")).toBeInTheDocument();
    expect(within(cost).getByText("USD 0.028")).toBeInTheDocument();
    expect(within(cost).getByText("2 min")).toBeInTheDocument();
    expect(within(cost).getByTestId("call-cost")).toHaveTextContent("USD 0.03125");
    expect(cost).toHaveTextContent("rate deck default");
    const transcript = await screen.findByTestId("transcript");
    const turns = within(transcript).getAllByRole("listitem");
    expect(turns).toHaveLength(4);
    expect(turns[0]).toHaveTextContent("Agent");
    expect(turns[0]).toHaveTextContent("Hi, this is Sales.");
    expect(turns[1]).toHaveTextContent("Caller");
    expect(turns[2]).toHaveTextContent("Tool: lookup_order");
    expect(turns[2]).toHaveTextContent('{"order": "42"}');
    expect(turns[3]).toHaveTextContent("(interrupted)");
    expect(screen.getByRole("region", { name: "Recording" })).toHaveTextContent("Not recorded");
    expect(screen.queryByRole("button", { name: "Hang up" })).toBeNull();
    await user.click(screen.getByRole("link", { name: "All calls" }));
    expect(window.location.pathname).toBe("/telephony/calls");
    await waitFor(() => expect(rows()).toHaveLength(4));
  });

  it("explains a failure and its SIP code in plain words; no transcript yet", async () => {
    await renderStudio(api, "owner", { path: `${CALLS}/call_busy` });
    expect(await screen.findByTestId("call-outcome")).toHaveTextContent("Busy");
    expect(screen.getByTestId("sip-status")).toHaveTextContent("SIP 486: Busy here: the line is busy");
    expect(await screen.findByTestId("transcript-missing")).toHaveTextContent("Transcript not available yet");
    expect(screen.getByTestId("call-cost")).toHaveTextContent("Not priced yet");
  });

  it("says when a call does not exist", async () => {
    await renderStudio(api, "owner", { path: `${CALLS}/call_nope` });
    expect(await screen.findByRole("heading", { name: "Call not found" })).toBeInTheDocument();
  });
});

describe("a call's recording", () => {
  const card = () => screen.getByRole("region", { name: "Recording" });
  const done = () => api.callRecords[0];
  const openDone = (role: "owner" | "admin" | "member" = "owner", live = false) => renderStudio(api, role, { path: `${CALLS}/call_done`, live });

  it("plays an available recording through the API with the token in the query, and says how long and how big", async () => {
    done().recording = recording({ duration_s: 75, size_bytes: 1_234_567 });
    await openDone("member");
    const player = (await screen.findByLabelText("Call recording")) as HTMLAudioElement;
    expect(player.tagName).toBe("AUDIO");
    expect(player.controls).toBe(true);
    expect(player.getAttribute("preload")).toBe("none");
    const token = api.requests("GET", "/calls/call_done")[0].auth!.replace(/^Bearer /, "");
    expect(player.getAttribute("src")).toBe(`/calls/call_done/recording?access_token=${encodeURIComponent(token)}`);
    expect(screen.getByTestId("recording-facts")).toHaveTextContent("1 min 15 s long, 1.2 MB");
    // Members listen; only owners and admins delete.
    expect(within(card()).queryByRole("button", { name: "Delete recording" })).toBeNull();
    expect(card()).toHaveTextContent("Only owners and admins can delete recordings.");
  });

  it("says a recording is pending while it uploads, without a player", async () => {
    done().recording = recording({ status: "pending", duration_s: null, size_bytes: null, stored_at: null });
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent("Recording pending"));
    expect(screen.queryByLabelText("Call recording")).toBeNull();
    expect(within(card()).queryByRole("button", { name: "Delete recording" })).toBeNull();
  });

  it("says a pending recording whose upload failed is kept and uploaded again", async () => {
    done().recording = recording({ status: "pending", duration_s: null, size_bytes: null, stored_at: null, error: "Upload to object storage failed again: object storage did not answer upload", upload_attempts: 3 });
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent("Recording pending"));
    expect(screen.getByTestId("recording-retrying")).toHaveTextContent("The upload to object storage failed; the recording is kept and uploaded again (3 attempts so far). Last error: Upload to object storage failed again");
    expect(screen.queryByLabelText("Call recording")).toBeNull();
  });

  it("explains a failed recording in plain words", async () => {
    done().recording = recording({ status: "failed", duration_s: null, size_bytes: null, stored_at: null, error: "S3 upload failed: access denied" });
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent("The recording could not be stored: S3 upload failed: access denied"));
    expect(screen.queryByLabelText("Call recording")).toBeNull();
  });

  it("says when a recording was deleted", async () => {
    done().recording = recording({ status: "deleted", deleted_at: "2026-12-07T12:00:00Z" });
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent(`Deleted on ${new Date("2026-12-07T12:00:00Z").toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" })}`));
    expect(screen.queryByLabelText("Call recording")).toBeNull();
  });

  it("says a call was not recorded, with the number's recording setting", async () => {
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent("Not recorded (this number's Call Recording setting: Disabled)."));
    expect(api.requests("GET", "/phone-numbers/pn_12025550100")).toHaveLength(1);
  });

  it("says a call was not recorded without the setting when the number cannot be read", async () => {
    api.callRecords[0].phone_number_id = null;
    await openDone();
    await waitFor(() => expect(card()).toHaveTextContent("Not recorded (the number's Call Recording setting, or no consent)."));
  });

  it("deletes after a confirmation, then shows it deleted", async () => {
    done().recording = recording();
    const { user } = await openDone("admin");
    await user.click(await within(card()).findByRole("button", { name: "Delete recording" }));
    const dialog = screen.getByRole("alertdialog", { name: "Delete this recording?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(api.requests("DELETE", "/calls/")).toHaveLength(0);
    expect(screen.getByLabelText("Call recording")).toBeInTheDocument();
    await user.click(within(card()).getByRole("button", { name: "Delete recording" }));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete recording" }));
    await waitFor(() => expect(card()).toHaveTextContent("Deleted on"));
    expect(api.requests("DELETE", "/calls/call_done/recording")).toHaveLength(1);
    expect(await screen.findByText("Recording deleted")).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(screen.queryByLabelText("Call recording")).toBeNull();
  });

  it("explains a 409 (still uploading, or failed) and shows the recording as it is", async () => {
    done().recording = recording();
    const { user } = await openDone();
    await user.click(await within(card()).findByRole("button", { name: "Delete recording" }));
    // call-orchestrator refuses while a recording is pending or failed; the page re-reads the call.
    api.overrides.push((c) => (c.method === "DELETE" ? { status: 409, body: { title: "Conflict", status: 409, detail: "The recording is pending" } } : undefined));
    const reads = api.requests("GET", "/calls/call_done").length;
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete recording" }));
    expect(await screen.findByText(/cannot be deleted yet: it is still being uploaded, or its upload failed/)).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).toBeNull();
    await waitFor(() => expect(api.requests("GET", "/calls/call_done").length).toBeGreaterThan(reads));
    expect(screen.getByLabelText("Call recording")).toBeInTheDocument();
  });

  it("re-renders when a live event brings the recording's new state; a late copy never takes it back", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    done().recording = recording({ status: "pending", duration_s: null, size_bytes: null, stored_at: null });
    await openDone("owner", true);
    await waitFor(() => expect(card()).toHaveTextContent("Recording pending"));
    const source = FakeEventSource.instances[0];
    const send = (data: CallRecord) =>
      act(() => source.send("telephony.call.completed", { id: `evt_${data.recording?.status}`, type: "talkifai.telephony.call.completed.v1", subject: data.id, time: "2026-12-07T09:02:00Z", data } as never));
    send({ ...done(), recording: recording({ size_bytes: 2_000 }) });
    await waitFor(() => expect(screen.getByTestId("recording-facts")).toHaveTextContent("1 min 15 s long, 2 KB"));
    send({ ...done(), recording: recording({ status: "pending", duration_s: null, size_bytes: null, stored_at: null }) });
    expect(screen.getByLabelText("Call recording")).toBeInTheDocument();
    send({ ...done(), recording: null });
    expect(screen.getByLabelText("Call recording")).toBeInTheDocument();
  });
});

describe("hang up", () => {
  it("asks first, then ends the live call", async () => {
    const { user } = await renderStudio(api, "owner", { path: `${CALLS}/call_live` });
    await user.click(await screen.findByRole("button", { name: "Hang up" }));
    const dialog = screen.getByRole("alertdialog", { name: "Hang up this call?" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(api.requests("POST", "/calls/")).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Hang up" }));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Hang up" }));
    await waitFor(() => expect(screen.getByTestId("call-outcome")).toHaveTextContent("Completed: hung up from the Studio"));
    expect(api.requests("POST", "/calls/call_live/hangup")).toHaveLength(1);
    expect(await screen.findByText("Call hung up")).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(screen.queryByRole("button", { name: "Hang up" })).toBeNull();
    expect(screen.getByTestId("seen-changes")).toHaveTextContent("hang up");
  });

  it("shows a 409 as already ended, and the call as it is", async () => {
    const { user } = await renderStudio(api, "owner", { path: `${CALLS}/call_live` });
    await user.click(await screen.findByRole("button", { name: "Hang up" }));
    // Meanwhile the callee hung up.
    Object.assign(api.callRecords[3], { status: "completed", ended_at: "2026-12-07T09:31:00Z", duration_s: 56 });
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Hang up" }));
    expect(await screen.findByText("This call has already ended; there is nothing to hang up.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("call-outcome")).toHaveTextContent("Completed"));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(screen.queryByRole("button", { name: "Hang up" })).toBeNull();
  });

  it("is not offered to members", async () => {
    await renderStudio(api, "member", { path: `${CALLS}/call_live` });
    expect(await screen.findByTestId("call-outcome")).toHaveTextContent("In progress");
    expect(screen.queryByRole("button", { name: "Hang up" })).toBeNull();
    expect(screen.getByRole("note")).toHaveTextContent("Only owners and admins can hang up calls.");
  });
});

describe("from the Phone Numbers page", () => {
  it("Make Test Call leads to the placed call's page", async () => {
    api.callResponse = {
      status: 202,
      body: { success: true, message: "Call initiated successfully", room_name: "r", agent: { id: "agent_b", name: "Sales Agent" }, from_number: "+12025550100", to_number: "+14155550199", call_id: "call_placed", status: "initiated" },
    };
    api.callRecords.push(callRecord({ id: "call_placed", status: "initiated", to_number: "+14155550199" }));
    const { user } = await renderStudio(api);
    await user.click(screen.getAllByTestId("phone-number-row")[0].querySelector<HTMLButtonElement>(".row-main")!);
    await user.click(screen.getByRole("button", { name: "Make Test Call" }));
    await user.type(within(screen.getByRole("dialog", { name: "Make Test Call" })).getByLabelText("Destination Number"), "+14155550199{Enter}");
    expect(await screen.findByRole("heading", { name: "+14155550199" })).toBeInTheDocument();
    expect(window.location.pathname).toBe("/telephony/calls/call_placed");
    expect(api.requests("POST", "/telephony/outbound-call")[0].body).toEqual({ to_number: "+14155550199", from_number: "+12025550100", wait_until_answered: false });
    expect(screen.getByTestId("call-outcome")).toHaveTextContent("Placing the call");
  });

  it("links a number's details to its calls", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getAllByTestId("phone-number-row")[1].querySelector<HTMLButtonElement>(".row-main")!);
    await user.click(screen.getByRole("link", { name: "Calls of +12025550101" }));
    expect(window.location.pathname + window.location.search).toBe("/telephony/calls?phone_number=%2B12025550101");
    await waitFor(() => expect(ids()).toEqual(["call_in"]));
  });
});
