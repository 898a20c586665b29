import { describe, expect, it } from "vitest";
import { callRecord } from "../test/fakeApi";
import { filtersFromSearch, formatDuration, formatMoney, matchesFilters, mergeCall } from "./calls";

describe("which read of a call is newer", () => {
  const ringing = callRecord({ id: "call_m", status: "ringing", ringing_at: "2026-12-07T10:00:01Z" });
  const answered = { ...ringing, status: "answered" as const, answered_at: "2026-12-07T10:00:03Z" };
  const completed = { ...answered, status: "completed" as const, ended_at: "2026-12-07T10:01:00Z", duration_s: 57 };

  it("takes a later state and ignores an earlier one", () => {
    expect(mergeCall(ringing, answered)).toBe(answered);
    expect(mergeCall(answered, ringing)).toBe(answered);
    expect(mergeCall(completed, answered)).toBe(completed);
    expect(mergeCall(undefined, ringing)).toBe(ringing);
  });

  it("at the same state keeps what is written once (the cost) when the newer copy lacks it", () => {
    const cost = { currency: "USD", total: "0.01", total_micros: 10000, billed_s: 60, destination_prefix: "+1", breakdown: [], rate_deck_version: 0, computed_at: "2026-12-07T10:02:00Z" };
    const priced = { ...completed, cost };
    expect(mergeCall(priced, completed).cost).toEqual(cost);
    expect(mergeCall(completed, priced).cost).toEqual(cost);
  });
});

describe("filters and formats", () => {
  it("reads only the filters GET /calls takes, and only valid values", () => {
    expect(filtersFromSearch("?phone_number=%2B12025550100&direction=inbound&status=ringing&agent=x")).toEqual({ phone_number: "+12025550100", direction: "inbound", status: "ringing" });
    expect(filtersFromSearch("?direction=sideways&status=")).toEqual({});
  });

  it("matches a call against the filters (our number or either party)", () => {
    const call = callRecord({ direction: "outbound", status: "answered" });
    expect(matchesFilters(call, { phone_number: "+14155550123" })).toBe(true);
    expect(matchesFilters(call, { phone_number: "+12025550100", direction: "outbound" })).toBe(true);
    expect(matchesFilters(call, { status: "completed" })).toBe(false);
  });

  it("formats durations and money without floats", () => {
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("—");
    expect(formatMoney("0.031250", "USD")).toBe("USD 0.03125");
    expect(formatMoney("2.000000", "EUR")).toBe("EUR 2.00");
    expect(formatMoney("0", "USD")).toBe("USD 0.00");
  });
});
