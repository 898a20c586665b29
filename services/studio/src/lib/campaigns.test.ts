import { describe, expect, it } from "vitest";
import { allowedActions, etaText, parseCsv, parseNumberList, progressPercent, rowStatusFromSearch, summarizeCsv } from "./campaigns";
import type { CampaignCounts } from "./types";

function counts(extra: Partial<CampaignCounts>): CampaignCounts {
  return { total: 0, pending: 0, in_progress: 0, waiting_retry: 0, completed: 0, failed: 0, do_not_call: 0, cancelled: 0, ...extra };
}

describe("a campaign's status and the buttons it allows", () => {
  it("offers only the transitions the API accepts from each status", () => {
    expect(allowedActions("draft")).toEqual(["start", "cancel"]);
    expect(allowedActions("running")).toEqual(["pause", "cancel"]);
    expect(allowedActions("paused")).toEqual(["resume", "cancel"]);
    expect(allowedActions("completed")).toEqual([]);
    expect(allowedActions("cancelled")).toEqual([]);
  });
});

describe("progress and ETA", () => {
  it("counts completed, failed, do-not-call and cancelled rows as done, never 100% before all are", () => {
    expect(progressPercent(counts({ total: 0 }))).toBe(0);
    expect(progressPercent(counts({ total: 4, completed: 1, failed: 1, pending: 2 }))).toBe(50);
    expect(progressPercent(counts({ total: 1000, completed: 999, in_progress: 1 }))).toBe(99);
    expect(progressPercent(counts({ total: 3, completed: 1, do_not_call: 1, cancelled: 1 }))).toBe(100);
    // Rows waiting to retry or in progress are not done.
    expect(progressPercent(counts({ total: 2, waiting_retry: 1, in_progress: 1 }))).toBe(0);
  });

  it("tells the time left from the server's estimate while running, and why there is none otherwise", () => {
    const now = Date.parse("2026-12-08T09:00:00Z");
    const running = { status: "running" as const, counts: counts({ total: 10, pending: 5, completed: 5 }) };
    expect(etaText({ ...running, eta_at: "2026-12-08T11:30:00Z" }, now)).toBe("About 2 h 30 min left");
    expect(etaText({ ...running, eta_at: "2026-12-08T09:12:30Z" }, now)).toBe("About 12 min 30 s left");
    expect(etaText({ ...running, eta_at: "2026-12-08T09:00:30Z" }, now)).toBe("Less than a minute left");
    expect(etaText({ ...running, eta_at: "2026-12-11T09:00:00Z" }, now)).toBe("About 3 days left");
    expect(etaText({ ...running, eta_at: null }, now)).toBe("Estimating…");
    expect(etaText({ ...running, counts: counts({ total: 2, completed: 2 }), eta_at: null }, now)).toBe("Finishing the last calls");
    expect(etaText({ ...running, status: "paused", eta_at: null }, now)).toBe("Paused: no estimate while paused");
    expect(etaText({ ...running, status: "draft", eta_at: null }, now)).toBe("Not started");
    expect(etaText({ ...running, status: "completed", eta_at: null }, now)).toBe("Finished");
    expect(etaText({ ...running, status: "cancelled", eta_at: null }, now)).toBe("Cancelled: no more calls");
  });
});

describe("the CSV as the browser reads it", () => {
  it("splits quoted fields with commas, quotes and line breaks, a BOM and CRLF lines", () => {
    const text = '\ufeffto_number,note\r\n+12025550111,"Hello, ""friend""\nsecond line"\r\n\r\n+12025550112,plain\r\n';
    const { records, total } = parseCsv(text);
    expect(total).toBe(3);
    expect(records[0]).toEqual(["to_number", "note"]);
    expect(records[1]).toEqual(["+12025550111", 'Hello, "friend"\nsecond line']);
    expect(records[2]).toEqual(["+12025550112", "plain"]);
  });

  it("counts rows and finds what makes a file unusable before the server sees it", () => {
    expect(summarizeCsv("to_number,name\n+12025550111,Ada\n+12025550112,Bob")).toEqual({ columns: ["to_number", "name"], rows: 2, problem: null });
    expect(summarizeCsv("").problem).toMatch(/The file is empty/);
    expect(summarizeCsv("phone,name\n+12025550111,Ada\n").problem).toBe("The header row has no to_number column (it has: phone, name).");
    expect(summarizeCsv("to_number\n").problem).toBe("The file has a header row but no numbers under it.");
  });
});

describe("numbers typed for the do-not-call list", () => {
  it("normalizes E.164 numbers, drops repeats and reports the others", () => {
    expect(parseNumberList("+1 (202) 555-0199\n+12025550199, 12345;+442071838750\n\n")).toEqual({
      numbers: ["+12025550199", "+442071838750"],
      invalid: ["12345"],
    });
  });
});

describe("the row filter in the address", () => {
  it("takes a known row status and ignores anything else", () => {
    expect(rowStatusFromSearch("?status=waiting_retry")).toBe("waiting_retry");
    expect(rowStatusFromSearch("?status=answered")).toBeNull();
    expect(rowStatusFromSearch("")).toBeNull();
  });
});
