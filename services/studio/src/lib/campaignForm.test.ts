import { describe, expect, it } from "vitest";
import { campaignSettings, DEFAULT_FORM, errorsByField, formFieldOf, parseSipRanges, validateCampaign, type CampaignForm } from "./campaignForm";

const filled: CampaignForm = { ...DEFAULT_FORM, name: "December renewals", agentId: "agent_b", fromNumbers: ["+12025550100"] };

describe("the new-campaign form", () => {
  it("asks for a name, an agent and a number, and accepts the defaults for the rest", () => {
    expect(validateCampaign(DEFAULT_FORM)).toEqual({
      name: "Give the campaign a name.",
      agent_id: "Pick the voice agent that talks to the people called.",
      from_numbers: "Pick at least one of your numbers to call from.",
    });
    expect(validateCampaign(filled)).toEqual({});
  });

  it("checks the window, pacing, retries and start, each under the API's name for the field", () => {
    const errors = validateCampaign({
      ...filled,
      days: [],
      start: "18:00",
      end: "09:00",
      blackoutDates: ["2026-02-30"],
      callsPerSecond: "0",
      maxConcurrent: "1.5",
      maxAttempts: "0",
      delayMinutes: "soon",
      retryFailed: "500-599, 7xx",
      ringingTimeout: "-3",
    });
    expect(Object.keys(errors).sort()).toEqual(
      [
        "pacing.calls_per_second",
        "pacing.max_concurrent",
        "retry.delay_s",
        "retry.max_attempts",
        "retry.on",
        "ringing_timeout_s",
        "windows.blackout_dates",
        "windows.days",
        "windows.end",
      ].sort(),
    );
    expect(errors["windows.end"]).toBe("The window must end after it starts.");
    expect(errors["windows.blackout_dates"]).toBe("2026-02-30 is not a date.");
  });

  it("reads SIP codes and ranges", () => {
    expect(parseSipRanges("500-599, 408 ,480")).toEqual(["500-599", "408", "480"]);
    expect(parseSipRanges("500 - 599")).toEqual(["500-599"]);
    expect(parseSipRanges("")).toEqual([]);
    expect(parseSipRanges("599-500")).toBeNull();
    expect(parseSipRanges("99")).toBeNull();
    expect(parseSipRanges("700")).toBeNull();
  });

  it("builds the campaign part of the upload: days in week order, minutes as seconds, the start as an instant", () => {
    const settings = campaignSettings({
      ...filled,
      name: "  December renewals ",
      days: ["fri", "mon"],
      blackoutDates: ["2026-12-31", "2026-12-25"],
      callsPerSecond: "0.5",
      delayMinutes: "90",
      retryNoAnswer: false,
      retryFailed: "503",
      startAt: "2026-12-08T09:00",
      ringingTimeout: "25",
    });
    expect(settings).toEqual({
      name: "December renewals",
      agent_id: "agent_b",
      from_numbers: ["+12025550100"],
      windows: { days: ["mon", "fri"], start: "09:00", end: "20:00", blackout_dates: ["2026-12-25", "2026-12-31"] },
      pacing: { calls_per_second: 0.5, max_concurrent: 2 },
      retry: { max_attempts: 3, delay_s: 5400, on: { busy: true, no_answer: false, failed: ["503"], agent_failed: true } },
      start_at: new Date("2026-12-08T09:00").toISOString(),
      ringing_timeout_s: 25,
    });
    expect(campaignSettings(filled).start_at).toBeNull();
    expect("ringing_timeout_s" in campaignSettings(filled)).toBe(false);
  });

  it("sends no window for calls at any time, and 24:00 for a window until midnight", () => {
    const anyTime = { ...filled, anyTime: true, days: [], start: "", end: "" };
    expect(validateCampaign(anyTime)).toEqual({});
    expect(campaignSettings(anyTime).windows).toBeNull();
    const toMidnight = { ...filled, start: "18:00", end: "", untilMidnight: true };
    expect(validateCampaign(toMidnight)).toEqual({});
    expect(campaignSettings(toMidnight).windows).toMatchObject({ start: "18:00", end: "24:00" });
  });
});

describe("server errors beside their fields", () => {
  it("maps the field names problem+json gives to the form's fields", () => {
    expect(formFieldOf("from_numbers[1]")).toBe("from_numbers");
    expect(formFieldOf("from_numbers.0")).toBe("from_numbers");
    expect(formFieldOf("pacing.max_concurrent")).toBe("pacing.max_concurrent");
    expect(formFieldOf("body.pacing.max_concurrent")).toBe("pacing.max_concurrent");
    expect(formFieldOf("campaign.windows.blackout_dates[0]")).toBe("windows.blackout_dates");
    expect(formFieldOf("retry.on.failed[1]")).toBe("retry.on");
    expect(formFieldOf("rows")).toBe("file");
    expect(formFieldOf("rows[3].to_number")).toBe("file");
    expect(formFieldOf("file")).toBe("file");
    expect(formFieldOf("windows")).toBe("form");
    expect(formFieldOf("something_new")).toBe("form");
  });

  it("joins several errors on one field and names an unknown field in the form-wide message", () => {
    expect(
      errorsByField([
        { field: "from_numbers[0]", message: "+12025550100 is not active." },
        { field: "from_numbers[1]", message: "+12025550101 belongs to no outbound trunk." },
        { field: "something_new", message: "Not allowed" },
      ]),
    ).toEqual({
      from_numbers: "+12025550100 is not active. +12025550101 belongs to no outbound trunk.",
      form: "something_new: Not allowed",
    });
  });
});
