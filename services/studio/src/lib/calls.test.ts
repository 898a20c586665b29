import { describe, expect, it } from "vitest";
import { callRecord, recording } from "../test/fakeApi";
import { durationInWords, filtersFromSearch, formatBytes, formatDuration, formatMoney, matchesFilters, mergeCall, mergeRecording } from "./calls";

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

describe("a call's recording, merged and in words", () => {
  const pending = recording({ status: "pending", duration_s: null, size_bytes: null, stored_at: null });
  const available = recording();
  const deleted = recording({ status: "deleted", deleted_at: "2026-12-07T12:00:00Z" });

  it("moves forward and never back, and is never taken away", () => {
    expect(mergeRecording(pending, available)).toBe(available);
    expect(mergeRecording(available, pending)).toBe(available);
    expect(mergeRecording(available, deleted)).toBe(deleted);
    expect(mergeRecording(deleted, available)).toBe(deleted);
    expect(mergeRecording(available, null)).toBe(available);
    expect(mergeRecording(null, pending)).toBe(pending);
    expect(mergeRecording(undefined, undefined)).toBeNull();
  });

  it("is merged with the call at the same state", () => {
    const done = callRecord({ id: "call_r", status: "completed", recording: available });
    expect(mergeCall(done, { ...done, recording: pending }).recording).toBe(available);
    expect(mergeCall(done, { ...done, recording: deleted }).recording).toBe(deleted);
  });

  it("says sizes and lengths in words", () => {
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(2_000)).toBe("2 KB");
    expect(formatBytes(1_234_567)).toBe("1.2 MB");
    expect(formatBytes(250_000_000)).toBe("250 MB");
    expect(formatBytes(null)).toBe("—");
    expect(durationInWords(42)).toBe("42 s");
    expect(durationInWords(75)).toBe("1 min 15 s");
    expect(durationInWords(120)).toBe("2 min");
    expect(durationInWords(3720)).toBe("1 h 2 min");
    expect(durationInWords(null)).toBe("—");
  });
});
