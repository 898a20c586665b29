import { describe, expect, it } from "vitest";
import { describeCallResult } from "./callOutcomes";

const fail = (error: string, message: string, sip_status_code?: number) => ({ success: false as const, error, message, sip_status_code });

describe("outbound call outcomes (the seed's error table)", () => {
  it.each([
    [400, "Invalid number", "Phone number format is invalid"],
    [402, "Insufficient balance", "Carrier account has insufficient funds"],
    [404, "Phone number not found", "not registered in TalkifAI"],
    [408, "Timeout / No answer", "Call was not answered"],
    [409, "Call conflict", "current state"],
    [429, "Too many calls", "Wait a moment"],
    [500, "Server error", "Internal error initiating the call"],
    [502, "Call service unavailable", "could not be reached"],
    [503, "Call service unavailable", "temporarily unavailable"],
  ])("%i is explained as %s", (status, title, explanation) => {
    const outcome = describeCallResult({ status, body: fail("x", "server says so", 486) });
    expect(outcome.title).toBe(title);
    expect(outcome.explanation).toContain(explanation);
    expect(outcome.message).toBe("server says so");
    expect(outcome.sipStatus).toBe(486);
  });
  it("explains success with the server's message", () => {
    const outcome = describeCallResult({
      status: 200,
      body: { success: true, message: "Call initiated successfully", room_name: "r", agent: { id: "a", name: "Sales" }, from_number: "+1", to_number: "+2" },
    });
    expect(outcome.tone).toBe("success");
    expect(outcome.title).toBe("Call initiated successfully");
  });
  it("shows no SIP status when the server reports none (null)", () => {
    const outcome = describeCallResult({ status: 404, body: { success: false, error: "phone_number_not_found", message: "not found", sip_status_code: null } });
    expect(outcome.sipStatus).toBeUndefined();
  });
  it("explains a network failure as retryable", () => {
    expect(describeCallResult({ status: 0, body: null })).toMatchObject({ title: "Network error", retryable: true });
  });
});
