import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { agent, FakeApi, number } from "./test/fakeApi";
import { FakeEventSource } from "./test/fakeEventSource";
import { renderStudio } from "./test/render";

let api: FakeApi;
const support = agent("agent_s", "Support Agent", "pipeline");
const sales = agent("agent_b", "Sales Agent", "realtime");
const chat = agent("agent_t", "Chat Bot", "text");
const AGENTS = "/telephony/agents";

beforeEach(() => {
  api = new FakeApi();
  // As numbers-api stores them: the architecture's sections filled in.
  Object.assign(support, { instructions: "Help callers.", greeting: "Hi, support here.", stt: { provider: "deepgram" }, llm: { provider: "openai", temperature: 0.7 }, tts: { provider: "cartesia" } });
  Object.assign(sales, { instructions: "Sell.", realtime: { provider: "openai", voice: "alloy" } });
  Object.assign(chat, { instructions: "Chat.", llm: { provider: "google", temperature: 0.2 } });
  api.agents = [structuredClone(support), structuredClone(sales), structuredClone(chat)];
  api.numbers = [
    number("+12025550100", {
      inbound_agent: { id: support.id, name: support.name, architecture: "pipeline" },
      outbound_agent: { id: sales.id, name: sales.name, architecture: "realtime" },
    }),
    number("+12025550101", { inbound_agent: { id: support.id, name: support.name, architecture: "pipeline" } }),
  ];
});

afterEach(() => {
  vi.unstubAllGlobals();
  FakeEventSource.instances = [];
});

const rows = () => screen.queryAllByTestId("agent-row");
const row = (name: string) => rows().find((r) => r.dataset.agent === name)!;
const open = (name: string) => row(name).querySelector<HTMLButtonElement>(".row-main")!;
const field = (label: string) => screen.getByLabelText(new RegExp(`^${label}( \\*)?$`));
const helpOf = (label: string) => document.getElementById(field(label).getAttribute("aria-describedby")!)!;

describe("agents list", () => {
  it("lists each agent with its architecture, language and the numbers that use it", async () => {
    await renderStudio(api, "owner", { path: AGENTS });
    expect(screen.getByRole("heading", { name: "Agents" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Agents" })).toHaveAttribute("aria-current", "page");
    expect(screen.getByRole("link", { name: "Phone Numbers" })).not.toHaveAttribute("aria-current");
    expect(rows().map((r) => r.dataset.agent)).toEqual(["Support Agent", "Sales Agent", "Chat Bot"]);
    expect(within(row("Support Agent")).getByText("pipeline")).toHaveClass("badge-arch-pipeline");
    expect(row("Support Agent")).toHaveTextContent("2 phone numbers");
    expect(row("Sales Agent")).toHaveTextContent("1 phone number");
    expect(row("Chat Bot")).toHaveTextContent("No phone numbers");
    expect(screen.getByText("3 agents")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Select an agent" })).toBeInTheDocument();
  });

  it("searches by name, architecture and language", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.type(screen.getByPlaceholderText("Search agents…"), "REALTIME");
    expect(rows().map((r) => r.dataset.agent)).toEqual(["Sales Agent"]);
    await user.clear(screen.getByPlaceholderText("Search agents…"));
    await user.type(screen.getByPlaceholderText("Search agents…"), "zzz");
    expect(screen.getByText("No agents found")).toBeInTheDocument();
  });

  it("shows the empty state with Create Agent when there are none", async () => {
    api.agents = [];
    await renderStudio(api, "owner", { path: AGENTS });
    expect(screen.getByRole("heading", { name: "No agents" })).toBeInTheDocument();
    expect(within(screen.getByTestId("no-selection")).getByRole("button", { name: "Create Agent" })).toBeInTheDocument();
  });

  it("opens the agent named in the address (?agent=), links its numbers, and the link opens the number", async () => {
    const { user } = await renderStudio(api, "owner", { path: `${AGENTS}?agent=agent_s` });
    const details = screen.getByTestId("agent-details");
    expect(within(details).getByRole("heading", { name: "Support Agent" })).toBeInTheDocument();
    expect(within(details).getByRole("region", { name: "Speech to text" })).toHaveTextContent("Deepgram");
    expect(within(details).getByRole("region", { name: "Language model" })).toHaveTextContent("Temperature0.7");
    const numbersCard = within(details).getByTestId("agent-numbers");
    expect(within(numbersCard).getByRole("link", { name: "+12025550101" })).toHaveAttribute("href", "/telephony/?number=pn_12025550101");
    expect(numbersCard).toHaveTextContent("+12025550100 · inbound");
    await user.click(within(numbersCard).getByRole("link", { name: "+12025550101" }));
    expect(await screen.findByRole("heading", { name: "+12025550101" })).toBeInTheDocument();
    expect(window.location.pathname + window.location.search).toBe("/telephony/?number=pn_12025550101");
    expect(screen.getByRole("link", { name: "Phone Numbers" })).toHaveAttribute("aria-current", "page");
  });

  it("switches between the pages from the top bar, and Back returns", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("link", { name: "Agents" }));
    expect(await screen.findByRole("heading", { name: "Agents" })).toBeInTheDocument();
    expect(window.location.pathname).toBe("/telephony/agents");
    await act(async () => {
      window.history.back();
      await new Promise((resolve) => window.addEventListener("popstate", resolve, { once: true }));
    });
    expect(await screen.findByRole("heading", { name: "Phone Numbers" })).toBeInTheDocument();
  });
});

describe("create", () => {
  it("checks the fields inline, shows the server's 422 under its field, then creates the agent", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.click(screen.getByRole("button", { name: "Create Agent" }));
    const dialog = screen.getByRole("dialog", { name: "Create Agent" });
    // The defaults numbers-api would fill in are shown.
    expect(field("Language")).toHaveValue("en-US");
    expect(field("Greeting")).toHaveValue("Hello! How can I help you today?");
    await user.clear(field("Instructions"));
    await user.clear(field("Language"));
    await user.type(field("Language"), "English");
    await user.clear(field("Temperature"));
    await user.type(field("Temperature"), "3");
    await user.click(within(dialog).getByRole("button", { name: "Create Agent" }));
    expect(field("Name")).toHaveAttribute("aria-invalid", "true");
    expect(helpOf("Name")).toHaveTextContent("Name is required");
    expect(helpOf("Instructions")).toHaveTextContent("Instructions are required");
    expect(helpOf("Language")).toHaveTextContent("Use a language tag such as en-US, es or pt-BR");
    expect(helpOf("Temperature")).toHaveTextContent("Temperature must be a number from 0 to 2");
    expect(api.requests("POST", "/agents")).toHaveLength(0);

    await user.type(field("Name"), "Front Desk");
    await user.type(field("Instructions"), "Answer for the front desk.");
    await user.clear(field("Language"));
    await user.type(field("Language"), "en-GB");
    expect(field("Language")).not.toHaveAttribute("aria-invalid");
    await user.clear(field("Temperature"));
    await user.type(field("Temperature"), "0.4");
    // The model server's address is the server's to judge.
    const llm = within(dialog).getByRole("group", { name: "Language model" });
    await user.type(within(llm).getByLabelText("Model server URL"), "http://10.0.0.5/v1");
    await user.click(within(dialog).getByRole("button", { name: "Create Agent" }));
    const urlField = within(llm).getByLabelText("Model server URL");
    await waitFor(() => expect(urlField).toHaveAttribute("aria-invalid", "true"));
    expect(document.getElementById(urlField.getAttribute("aria-describedby")!)).toHaveTextContent("10.0.0.5 is a private address");

    await user.clear(urlField);
    await user.selectOptions(within(dialog).getByLabelText("TTS provider"), "espeak");
    await user.click(within(dialog).getByRole("button", { name: "Create Agent" }));
    expect(await screen.findByText("Agent Front Desk created")).toBeInTheDocument();
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    const posts = api.requests("POST", "/agents");
    expect(posts.at(-1)!.body).toEqual({
      name: "Front Desk",
      architecture: "pipeline",
      instructions: "Answer for the front desk.",
      greeting: "Hello! How can I help you today?",
      language: "en-GB",
      stt: { provider: "deepgram" },
      llm: { provider: "openai", temperature: 0.4 },
      tts: { provider: "espeak" },
    });
    expect(within(screen.getByTestId("agent-details")).getByRole("heading", { name: "Front Desk" })).toBeInTheDocument();
    expect(window.location.search).toMatch(/^\?agent=agent_/);
  });

  it("sends only the realtime section for a realtime agent, and hides the model server for other providers", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.keyboard("n");
    const dialog = screen.getByRole("dialog", { name: "Create Agent" });
    await user.type(field("Name"), "Concierge");
    await user.selectOptions(field("Architecture"), "realtime");
    expect(within(dialog).queryByLabelText("STT provider")).not.toBeInTheDocument();
    expect(within(dialog).queryByLabelText("Model server URL")).not.toBeInTheDocument();
    await user.selectOptions(field("Realtime provider"), "google");
    await user.type(field("Realtime voice"), "Puck");
    await user.click(within(dialog).getByRole("button", { name: "Create Agent" }));
    expect(await screen.findByText("Agent Concierge created")).toBeInTheDocument();
    const body = api.requests("POST", "/agents").at(-1)!.body as Record<string, unknown>;
    expect(body.realtime).toEqual({ provider: "google", voice: "Puck" });
    expect(body).not.toHaveProperty("stt");
    expect(body).not.toHaveProperty("llm");
  });
});

describe("edit", () => {
  it("sends only what changed and shows the saved agent", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.click(screen.getByRole("button", { name: "Edit Support Agent" }));
    const dialog = screen.getByRole("dialog", { name: "Edit Agent" });
    expect(field("Name")).toHaveValue("Support Agent");
    await user.clear(field("Name"));
    await user.type(field("Name"), "Help Desk");
    await user.clear(field("Greeting"));
    await user.type(field("TTS voice"), "sonic-voice-1");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    expect(await screen.findByText("Agent Help Desk saved")).toBeInTheDocument();
    expect(api.requests("PATCH", "/agents/agent_s")[0].body).toEqual({ name: "Help Desk", greeting: "", tts: { provider: "cartesia", voice: "sonic-voice-1" } });
    expect(rows().map((r) => r.dataset.agent)).toContain("Help Desk");
  });

  it("explains the 409 when an agent on phone numbers would become text-only, under Architecture with the numbers linked", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.click(screen.getByRole("button", { name: "Edit Sales Agent" }));
    const dialog = screen.getByRole("dialog", { name: "Edit Agent" });
    await user.selectOptions(field("Architecture"), "text");
    expect(within(dialog).getByLabelText("LLM provider")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(field("Architecture")).toHaveAttribute("aria-invalid", "true"));
    expect(helpOf("Architecture")).toHaveTextContent("Agent is assigned to phone numbers +12025550100; a text-only agent cannot make voice calls");
    const notice = within(dialog).getByTestId("agent-assigned");
    expect(within(notice).getByRole("link", { name: "+12025550100" })).toHaveAttribute("href", "/telephony/?number=pn_12025550100");
    expect(notice).toHaveTextContent("outbound");
  });
});

describe("delete", () => {
  it("explains a 409 with links to the numbers that use the agent, and the link goes there", async () => {
    const { user } = await renderStudio(api, "owner", { path: AGENTS });
    await user.click(screen.getByRole("button", { name: "Delete Support Agent" }));
    const confirm = screen.getByRole("alertdialog", { name: "Delete Agent" });
    expect(confirm).toHaveTextContent("Are you sure you want to delete the agent Support Agent?");
    await user.click(within(confirm).getByRole("button", { name: "Confirm" }));
    const notice = await within(confirm).findByTestId("agent-assigned");
    expect(notice).toHaveTextContent("Support Agent is assigned to 2 phone numbers");
    expect(notice).toHaveTextContent("Unassign it from these numbers before deleting it.");
    expect(within(notice).getByRole("link", { name: "+12025550100" })).toHaveAttribute("href", "/telephony/?number=pn_12025550100");
    expect(within(notice).getByRole("link", { name: "+12025550101" })).toHaveAttribute("href", "/telephony/?number=pn_12025550101");
    expect(within(confirm).queryByRole("button", { name: "Confirm" })).not.toBeInTheDocument();
    expect(api.agents.map((a) => a.id)).toContain("agent_s");
    await user.click(within(notice).getByRole("link", { name: "+12025550100" }));
    expect(await screen.findByRole("heading", { name: "+12025550100" })).toBeInTheDocument();
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
  });

  it("deletes an unassigned agent, toasts and selects the next", async () => {
    const { user } = await renderStudio(api, "owner", { path: `${AGENTS}?agent=agent_b` });
    api.numbers[0].outbound_agent = null;
    await user.click(within(screen.getByTestId("agent-details")).getByRole("button", { name: "Delete" }));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Confirm" }));
    expect(await screen.findByText("Agent Sales Agent deleted")).toBeInTheDocument();
    expect(rows().map((r) => r.dataset.agent)).toEqual(["Support Agent", "Chat Bot"]);
    expect(within(screen.getByTestId("agent-details")).getByRole("heading", { name: "Chat Bot" })).toBeInTheDocument();
  });
});

describe("roles on the agents page", () => {
  it("gives members a read-only page", async () => {
    const { user } = await renderStudio(api, "member", { path: `${AGENTS}?agent=agent_s` });
    expect(screen.queryByRole("button", { name: "Create Agent" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^(Edit|Delete)/ })).not.toBeInTheDocument();
    expect(screen.getByText(/You can view agents/)).toBeInTheDocument();
    await user.keyboard("n");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});

describe("live updates on the agents page", () => {
  it("applies agents created, changed and deleted elsewhere, and numbers' assignments", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    await renderStudio(api, "owner", { path: AGENTS, live: true });
    const stream = FakeEventSource.instances[0];
    const send = (subject: string, id: string, data: unknown) =>
      act(() => stream.send(subject, { id: `evt_${subject}_${id}`, type: `talkifai.${subject}.v1`, subject: id, data }));

    send("telephony.agent.created", "agent_n", { ...agent("agent_n", "Night Shift"), version: 1 });
    expect(await screen.findByText("Night Shift")).toBeInTheDocument();
    send("telephony.agent.updated", "agent_n", { ...agent("agent_n", "Night Owl"), version: 2 });
    await waitFor(() => expect(rows().map((r) => r.dataset.agent)).toContain("Night Owl"));
    // An older version arriving late does not take it back.
    send("telephony.agent.updated", "agent_n", { ...agent("agent_n", "Night Shift"), version: 1 });
    expect(rows().map((r) => r.dataset.agent)).not.toContain("Night Shift");

    send("telephony.phone_number.updated", "pn_12025550101", { ...api.numbers[1], inbound_agent: { id: "agent_n", name: "Night Owl", architecture: "pipeline" }, version: 2 });
    await waitFor(() => expect(row("Night Owl")).toHaveTextContent("1 phone number"));
    expect(row("Support Agent")).toHaveTextContent("1 phone number");

    send("telephony.agent.deleted", "agent_t", chat);
    await waitFor(() => expect(rows().map((r) => r.dataset.agent)).not.toContain("Chat Bot"));
    expect(screen.getByRole("status", { name: "Live updates: connecting" })).toBeInTheDocument();
    expect(stream.url).toMatch(/^\/events\?access_token=/);
    expect(open("Night Owl")).toBeInTheDocument();
  });
});
