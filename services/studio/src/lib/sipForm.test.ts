import { describe, expect, it } from "vitest";
import { CARRIERS, number, trunkCheck } from "../test/fakeApi";
import { newerSnapshot } from "./freshness";
import { initialSipForm, problemField, SIP_FIELDS, sipFormBody } from "./sipForm";

const [twilio, bandwidth] = CARRIERS;

describe("the carrier and inbound fields' body", () => {
  it("sends nothing for a new number that keeps the carrier's defaults", () => {
    expect(sipFormBody(initialSipForm(), null, twilio)).toEqual({});
    expect(sipFormBody({ ...initialSipForm(), carrier: "bandwidth" }, null, bandwidth)).toEqual({ carrier: "bandwidth" });
  });

  it("sends a transport that differs from the picked carrier's, even when it is the number's old one", () => {
    const current = number("+12025550100", { carrier: "twilio", sip_transport: "tls" });
    const state = { ...initialSipForm(current), carrier: "bandwidth", transport: "tls" as const, mediaEncryption: null };
    expect(sipFormBody(state, current, bandwidth)).toEqual({ carrier: "bandwidth", sip_transport: "tls" });
  });

  it("clears the number's own addresses and headers back to the carrier's with null", () => {
    const current = number("+12025550100", { inbound_allowed_addresses: ["203.0.113.10"], sip_headers: { "X-A": "1" } });
    const state = { ...initialSipForm(current), allowed: "  \n", headers: [] };
    expect(sipFormBody(state, current, twilio)).toEqual({ inbound_allowed_addresses: null, sip_headers: null });
  });

  it("names the field a nested problem belongs to", () => {
    expect(problemField("number_format.tech_prefix", SIP_FIELDS)).toBe("number_format");
    expect(problemField("inbound_allowed_addresses.3", SIP_FIELDS)).toBe("inbound_allowed_addresses");
    expect(problemField("body", SIP_FIELDS)).toBeNull();
  });
});

describe("the trunk check across reads", () => {
  it("keeps the later check when an older read of the number arrives", () => {
    const checked = number("+12025550100", { last_check: trunkCheck({ checked_at: "2026-12-08T11:00:00Z" }) });
    const readBefore = number("+12025550100", { last_check: null, webhook_url: "https://example.com/hooks" });
    const merged = newerSnapshot(checked, readBefore);
    expect(merged.last_check?.checked_at).toBe("2026-12-08T11:00:00Z");
    expect(merged.webhook_url).toBe("https://example.com/hooks");
  });
});
