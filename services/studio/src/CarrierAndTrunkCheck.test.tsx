import { act, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { agent, FakeApi, number, trunkCheck } from "./test/fakeApi";
import { FakeEventSource } from "./test/fakeEventSource";
import { renderStudio } from "./test/render";

let api: FakeApi;
const support = agent("agent_s", "Support Agent", "pipeline");

beforeEach(() => {
  api = new FakeApi();
  api.agents = [support];
  api.numbers = [
    number("+12025550100", { termination_uri: "trunk.pstn.twilio.com" }),
    number("+12025550101", { carrier: "custom", termination_uri: "sip.example.net" }),
    number("+12025550102", { carrier: "custom", inbound_allow_any_source: true }),
  ];
});

afterEach(() => {
  vi.unstubAllGlobals();
  FakeEventSource.instances = [];
});

const row = (phone: string) => screen.getAllByTestId("phone-number-row").find((r) => r.dataset.number === phone)!;
const openNumber = async (user: Awaited<ReturnType<typeof renderStudio>>["user"], phone: string) => {
  await user.click(row(phone).querySelector<HTMLButtonElement>(".row-main")!);
  return screen.getByTestId("details");
};

describe("add and edit: carrier, inbound security, advanced SIP", () => {
  it("recognises the carrier from the termination URI, and a picked carrier shows its steps and fills the defaults", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog", { name: "Add Phone Number" });
    await user.type(within(dialog).getByLabelText(/^Phone Number/), "+13125550199");
    await user.type(within(dialog).getByLabelText("Termination URI"), "acme.pstn.twilio.com");
    expect(within(dialog).getByText("Recognised from the termination URI: Twilio Elastic SIP Trunking")).toBeInTheDocument();
    // Empty addresses mean the carrier's: its ranges are the placeholder.
    expect(within(dialog).getByLabelText("Allowed addresses")).toHaveAttribute("placeholder", expect.stringContaining("54.172.60.0/23"));
    expect(within(dialog).getByText(/Empty: the carrier's 3 ranges/)).toBeInTheDocument();

    await user.selectOptions(within(dialog).getByLabelText("Carrier"), "bandwidth");
    const help = within(dialog).getByTestId("carrier-setup");
    expect(within(help).getByText("How to set up Bandwidth")).toBeInTheDocument();
    expect(within(help).getByText("Ask Bandwidth for the addresses it calls from.")).toBeInTheDocument();
    expect(within(help).getByRole("link", { name: /dev\.bandwidth\.com\/docs\/voice/ })).toHaveAttribute("href", "https://dev.bandwidth.com/docs/voice/");
    expect(within(dialog).getByLabelText("Transport")).toHaveValue("udp");
    expect(within(dialog).getByLabelText("Media encryption")).toHaveValue("disable");
    expect(within(dialog).getByText(/This carrier publishes no ranges/)).toBeInTheDocument();

    await user.type(within(dialog).getByLabelText("Allowed addresses"), "203.0.113.10{Enter}198.51.100.0/24");
    await user.click(within(dialog).getByText("Advanced SIP"));
    await user.type(within(dialog).getByLabelText("Tech prefix"), "1234#");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    // The carrier's transport and media encryption are left to the server; only what differs is sent.
    expect(api.requests("POST", "/phone-numbers")[0].body).toEqual({
      phone_number: "+13125550199",
      termination_uri: "acme.pstn.twilio.com",
      carrier: "bandwidth",
      inbound_allowed_addresses: ["203.0.113.10", "198.51.100.0/24"],
      number_format: { leading_plus: true, tech_prefix: "1234#" },
    });
    expect(within(screen.getByTestId("carrier-card")).getByTestId("carrier-name")).toHaveTextContent("Bandwidth");
    expect(within(screen.getByTestId("carrier-card")).getByTestId("inbound-summary")).toHaveTextContent("Only calls from 2 ranges set on this number");
  });

  it("shows the server's field errors under the new fields, opening Advanced SIP", async () => {
    api.overrides.push((c) =>
      c.method === "POST" && c.path === "/phone-numbers"
        ? {
            status: 422,
            body: {
              title: "Validation failed",
              status: 422,
              detail: "x",
              errors: [
                { field: "inbound_allowed_addresses", message: "'10.0.0.0/8' is a private or reserved range; carriers signal from public addresses" },
                { field: "sip_headers", message: "header 'Via' is written by the SIP stack and cannot be set" },
              ],
            },
          }
        : undefined,
    );
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Phone Number/), "+13125550199");
    await user.type(within(dialog).getByLabelText("Allowed addresses"), "10.0.0.0/8");
    await user.click(within(dialog).getByText("Advanced SIP"));
    await user.click(within(dialog).getByRole("button", { name: "Add header" }));
    await user.type(within(dialog).getByLabelText("Header 1 name"), "Via");
    await user.type(within(dialog).getByLabelText("Header 1 value"), "x");
    await user.click(within(dialog).getByText("Advanced SIP")); // closed again: the error opens it
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    expect(await within(dialog).findByText(/is a private or reserved range/)).toHaveClass("field-error");
    expect(within(dialog).getByLabelText("Allowed addresses")).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).getByText(/header 'Via' is written by the SIP stack/)).toHaveClass("field-error");
    expect(within(dialog).getByTestId("advanced-sip")).toHaveAttribute("open");
    expect(api.requests("POST", "/phone-numbers")[0].body).toMatchObject({ sip_headers: { Via: "x" }, inbound_allowed_addresses: ["10.0.0.0/8"] });
  });

  it("checks the cheap rules before sending: header names, one address per line, a username for a password", async () => {
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Add Phone Number" }));
    const dialog = screen.getByRole("dialog");
    await user.type(within(dialog).getByLabelText(/^Phone Number/), "+13125550199");
    await user.type(within(dialog).getByLabelText("Allowed addresses"), "203.0.113.10 198.51.100.7");
    await user.type(within(dialog).getByLabelText("Inbound password"), "s3cret");
    await user.click(within(dialog).getByText("Advanced SIP"));
    await user.click(within(dialog).getByRole("button", { name: "Add header" }));
    await user.type(within(dialog).getByLabelText("Header 1 name"), "X Bad");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    expect(within(dialog).getByText('One address per line: "203.0.113.10 198.51.100.7"')).toHaveClass("field-error");
    expect(within(dialog).getByText("Inbound credentials need a username as well as a password")).toHaveClass("field-error");
    expect(within(dialog).getByText(/Header name "X Bad" must be a SIP token/)).toHaveClass("field-error");
    expect(api.requests("POST", "/phone-numbers")).toHaveLength(0);
  });

  it("edits the inbound side: the password stays write-only and any source shows its warning", async () => {
    Object.assign(api.numbers[1], { inbound_auth_username: "carrier-in", has_inbound_auth_password: true });
    const { user } = await renderStudio(api);
    await user.click(screen.getByRole("button", { name: "Edit +12025550101" }));
    const dialog = screen.getByRole("dialog", { name: "Edit Phone Number" });
    expect(within(dialog).getByLabelText("Carrier")).toHaveValue("custom");
    expect(within(dialog).getByLabelText("Inbound username")).toHaveValue("carrier-in");
    expect(within(dialog).getByLabelText("Inbound password")).toHaveValue("");
    expect(within(dialog).getByText(/A password is set. Leave blank to keep it/)).toBeInTheDocument();
    await user.click(within(dialog).getByLabelText("Accept calls from any address"));
    expect(within(dialog).getByText(/Not advised: anyone who finds your SIP address/)).toHaveClass("field-warning-on");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.requests("PATCH", "/phone-numbers/")).toHaveLength(1));
    expect(api.requests("PATCH", "/phone-numbers/")[0].body).toEqual({ inbound_allow_any_source: true });
    await waitFor(() => expect(within(row("+12025550101")).getByTestId("any-source-marker")).toBeInTheDocument());
  });
});

describe("an inbound agent on an open number", () => {
  it("explains the refusal under the agent and opens the number's inbound security settings", async () => {
    const { user } = await renderStudio(api);
    const details = await openNumber(user, "+12025550101");
    expect(within(screen.getByTestId("carrier-card")).getByText(/an inbound agent cannot be assigned/)).toBeInTheDocument();
    await user.selectOptions(within(details).getByLabelText("Inbound Call Agent"), "agent_s");
    await user.click(within(details).getByRole("button", { name: "Save Agent Assignments" }));
    const refusal = await within(details).findByTestId("inbound-refusal");
    expect(within(details).getByLabelText("Inbound Call Agent")).toHaveAttribute("aria-invalid", "true");
    expect(within(details).getByText(/An inbound agent answers only calls from the carrier/)).toHaveClass("field-error");
    expect(refusal).toHaveTextContent("Allow only your carrier's addresses or set inbound credentials first");

    await user.click(within(refusal).getByRole("button", { name: "Open inbound security settings" }));
    const dialog = screen.getByRole("dialog", { name: "Edit Phone Number" });
    const allowed = within(dialog).getByLabelText("Allowed addresses");
    expect(allowed).toHaveFocus();
    await user.type(allowed, "203.0.113.10");
    await user.click(within(dialog).getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.requests("PATCH", "/phone-numbers/")).toHaveLength(1));
    expect(api.requests("PATCH", "/phone-numbers/")[0].body).toEqual({ inbound_allowed_addresses: ["203.0.113.10"] });

    await user.click(within(screen.getByTestId("details")).getByRole("button", { name: "Save Agent Assignments" }));
    expect(await screen.findByText("Agent assignments saved successfully")).toBeInTheDocument();
  });
});

describe("trunk check", () => {
  it("posts the check, shows the spinner while it runs, then the verdict, steps and fixes", async () => {
    let release: () => void = () => undefined;
    const inner = api.fetch;
    api.fetch = async (input, init) => {
      const response = await inner(input, init);
      if (String(input).endsWith("/check")) await new Promise<void>((r) => (release = r));
      return response;
    };
    const { user } = await renderStudio(api);
    await openNumber(user, "+12025550100");
    const panel = screen.getByTestId("trunk-check");
    expect(panel).toHaveTextContent("Not checked yet");
    await user.click(within(panel).getByRole("button", { name: "Check now" }));
    const running = within(panel).getByRole("button", { name: "Checking…" });
    expect(running).toBeDisabled();
    expect(api.requests("POST", "/phone-numbers/pn_12025550100/check")).toHaveLength(1);
    await act(async () => release());

    const report = await within(panel).findByTestId("check-report");
    expect(within(panel).getByRole("button", { name: "Check now" })).toBeEnabled();
    expect(within(report).getByText("Degraded")).toHaveClass("badge-degraded");
    expect(report).toHaveTextContent("The carrier answers, but TLS is not verified");
    expect(report).toHaveTextContent("42 ms");
    expect(report).toHaveTextContent("sips:trunk.pstn.twilio.com:5061");
    expect(within(report).getByRole("img", { name: "Warning" })).toBeInTheDocument();
    expect(within(report).getByText("Fix: Ask the carrier to renew its certificate")).toBeInTheDocument();
    expect(within(report).getByRole("img", { name: "Skipped" })).toBeInTheDocument();
    expect(within(row("+12025550100")).getByTestId("verdict-dot")).toHaveAttribute("title", expect.stringContaining("TLS is not verified"));
  });

  it("takes the live checked event from the stream", async () => {
    vi.stubGlobal("EventSource", FakeEventSource);
    const { user } = await renderStudio(api, "owner", { live: true });
    await openNumber(user, "+12025550100");
    const target = api.numbers[0];
    const check = trunkCheck({ verdict: "failing", summary: "The carrier does not answer OPTIONS", round_trip_ms: null, checked_at: "2026-12-08T11:00:00Z" });
    act(() =>
      FakeEventSource.instances[0].send("telephony.phone_number.checked", {
        id: "evt_c",
        type: "talkifai.telephony.phone_number.checked.v1",
        subject: target.id,
        data: { phone_number_id: target.id, phone_number: target.phone_number, check },
      }),
    );
    const panel = screen.getByTestId("trunk-check");
    expect(await within(panel).findByText("Failing")).toHaveClass("badge-failing");
    expect(panel).toHaveTextContent("The carrier does not answer OPTIONS");
    expect(within(row("+12025550100")).getByRole("img", { name: /Trunk check: Failing/ })).toBeInTheDocument();
  });

  it("is read-only for members", async () => {
    api.numbers[0].last_check = trunkCheck();
    const { user } = await renderStudio(api, "member");
    await openNumber(user, "+12025550100");
    const panel = screen.getByTestId("trunk-check");
    expect(within(panel).queryByRole("button")).not.toBeInTheDocument();
    expect(within(panel).getByText("Degraded")).toBeInTheDocument();
    expect(within(row("+12025550102")).getByTestId("any-source-marker")).toBeInTheDocument();
  });
});
