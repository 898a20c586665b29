import { describe, expect, it } from "vitest";
import { describeCall, describeCallResult, sipMeaning } from "./callOutcomes";

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

describe("a recorded call's outcome (GET /calls/{id})", () => {
  const base = { failure_reason: null, failure_detail: null, end_reason: null, sip_status_code: null };
  it.each([
    ["no_answer", "Timeout / No answer"],
    ["insufficient_balance", "Insufficient balance"],
    ["invalid_number", "Invalid number"],
    ["busy", "Busy"],
    ["declined", "Declined"],
    ["carrier_error", "Carrier refused the call"],
    ["agent_failed", "The agent failed"],
    ["hung_up_by_user", "Hung up from the Studio"],
    ["something_new", "Failed"],
  ])("a failed call with %s reads %s", (reason, title) => {
    expect(describeCall({ ...base, status: "failed", failure_reason: reason }).title).toBe(title);
  });

  it("says a completed call was hung up from the Studio, and keeps the SIP code and detail", () => {
    expect(describeCall({ ...base, status: "completed", end_reason: "hung_up_by_user" }).title).toBe("Completed: hung up from the Studio");
    expect(describeCall({ ...base, status: "completed" }).title).toBe("Completed");
    const failed = describeCall({ ...base, status: "failed", failure_reason: "carrier_error", sip_status_code: 403, failure_detail: "Forbidden" });
    expect(failed.sipStatus).toBe(403);
    expect(failed.message).toBe("Forbidden");
  });

  it("puts SIP codes in words", () => {
    expect(sipMeaning(486)).toMatch(/busy/);
    expect(sipMeaning(603)).toMatch(/Declined/);
    expect(sipMeaning(499)).toBe("Refused by the carrier");
  });
});
