/** The new-campaign form: its fields, their checks before anything is sent, the `campaign` part
 * of `POST /campaigns` built from them, and the server's field names mapped back onto them. */
import type { CampaignSettings, FieldProblem, Weekday } from "./types";

export const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const WEEKDAY_LABELS: Record<Weekday, string> = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };

export interface CampaignForm {
  name: string;
  agentId: string;
  fromNumbers: string[];
  /** No calling window: calls at any hour of any day (`windows: null`). */
  anyTime: boolean;
  days: Weekday[];
  start: string;
  end: string;
  /** The window runs to the end of the day ("24:00", which a time input cannot hold). */
  untilMidnight: boolean;
  blackoutDates: string[];
  callsPerSecond: string;
  maxConcurrent: string;
  maxAttempts: string;
  delayMinutes: string;
  retryBusy: boolean;
  retryNoAnswer: boolean;
  /** SIP codes and ranges, comma separated ("500-599, 408"); empty: failed calls are not retried. */
  retryFailed: string;
  retryAgentFailed: boolean;
  /** `datetime-local` in the browser's time zone; empty: as soon as it is started. */
  startAt: string;
  ringingTimeout: string;
}

export const DEFAULT_FORM: CampaignForm = {
  name: "",
  agentId: "",
  fromNumbers: [],
  anyTime: false,
  days: ["mon", "tue", "wed", "thu", "fri"],
  start: "09:00",
  end: "20:00",
  untilMidnight: false,
  blackoutDates: [],
  callsPerSecond: "1",
  maxConcurrent: "2",
  maxAttempts: "3",
  delayMinutes: "60",
  retryBusy: true,
  retryNoAnswer: true,
  retryFailed: "500-599, 408",
  retryAgentFailed: true,
  startAt: "",
  ringingTimeout: "",
};

/** The fields errors are shown beside, by the API's names for them (`file` is the CSV). */
export const FORM_FIELDS = [
  "file",
  "name",
  "agent_id",
  "from_numbers",
  "windows.days",
  "windows.start",
  "windows.end",
  "windows.blackout_dates",
  "pacing.calls_per_second",
  "pacing.max_concurrent",
  "retry.max_attempts",
  "retry.delay_s",
  "retry.on",
  "start_at",
  "ringing_timeout_s",
] as const;
export type FormField = (typeof FORM_FIELDS)[number] | "form";
export type FormErrors = Partial<Record<FormField, string>>;

/** The error field each form value's change clears. */
export const FIELD_OF: Record<keyof CampaignForm, FormField> = {
  name: "name",
  agentId: "agent_id",
  fromNumbers: "from_numbers",
  anyTime: "windows.days",
  days: "windows.days",
  start: "windows.start",
  end: "windows.end",
  untilMidnight: "windows.end",
  blackoutDates: "windows.blackout_dates",
  callsPerSecond: "pacing.calls_per_second",
  maxConcurrent: "pacing.max_concurrent",
  maxAttempts: "retry.max_attempts",
  delayMinutes: "retry.delay_s",
  retryBusy: "retry.on",
  retryNoAnswer: "retry.on",
  retryFailed: "retry.on",
  retryAgentFailed: "retry.on",
  startAt: "start_at",
  ringingTimeout: "ringing_timeout_s",
};

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SIP_RANGE = /^(\d{3})(?:\s*-\s*(\d{3}))?$/;

function integer(text: string): number | null {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : null;
}

function decimal(text: string): number | null {
  return /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : null;
}

/** "500-599, 408" -> ["500-599", "408"]; null when a part is not a SIP code (100-699) or range. */
export function parseSipRanges(text: string): string[] | null {
  const parts = text
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const out: string[] = [];
  for (const part of parts) {
    const match = SIP_RANGE.exec(part);
    if (!match) return null;
    const low = Number(match[1]);
    const high = match[2] ? Number(match[2]) : low;
    if (low < 100 || high > 699 || low > high) return null;
    out.push(match[2] ? `${low}-${high}` : String(low));
  }
  return out;
}

function validDay(day: string): boolean {
  if (!DAY.test(day)) return false;
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function windowErrors(form: CampaignForm): FormErrors {
  const errors: FormErrors = {};
  if (form.days.length === 0) errors["windows.days"] = "Pick at least one day to call on.";
  if (!TIME.test(form.start)) errors["windows.start"] = "Enter a time as HH:MM.";
  if (form.untilMidnight) return withBlackoutErrors(form, errors);
  if (!TIME.test(form.end)) errors["windows.end"] = "Enter a time as HH:MM.";
  else if (TIME.test(form.start) && form.end <= form.start) errors["windows.end"] = "The window must end after it starts.";
  return withBlackoutErrors(form, errors);
}

function withBlackoutErrors(form: CampaignForm, errors: FormErrors): FormErrors {
  const badDay = form.blackoutDates.find((d) => !validDay(d));
  if (badDay) errors["windows.blackout_dates"] = `${badDay} is not a date.`;
  return errors;
}

/** What is wrong with the form, field by field (empty when it can be sent). */
export function validateCampaign(form: CampaignForm): FormErrors {
  const errors: FormErrors = {};
  if (!form.name.trim()) errors.name = "Give the campaign a name.";
  else if (form.name.trim().length > 200) errors.name = "Keep the name under 200 characters.";
  if (!form.agentId) errors.agent_id = "Pick the voice agent that talks to the people called.";
  if (form.fromNumbers.length === 0) errors.from_numbers = "Pick at least one of your numbers to call from.";
  if (!form.anyTime) Object.assign(errors, windowErrors(form));
  const cps = decimal(form.callsPerSecond);
  if (cps === null || cps <= 0) errors["pacing.calls_per_second"] = "Enter a number of calls per second above 0 (0.5 is one call every 2 seconds).";
  const concurrent = integer(form.maxConcurrent);
  if (concurrent === null || concurrent < 1) errors["pacing.max_concurrent"] = "Enter a whole number of calls, 1 or more.";
  const attempts = integer(form.maxAttempts);
  if (attempts === null || attempts < 1) errors["retry.max_attempts"] = "Enter a whole number, 1 or more (1: never retry).";
  const delay = decimal(form.delayMinutes);
  if (delay === null) errors["retry.delay_s"] = "Enter the minutes to wait before a retry.";
  if (parseSipRanges(form.retryFailed) === null) {
    errors["retry.on"] = "List SIP codes (100-699) or ranges, separated by commas: 500-599, 408.";
  }
  if (form.startAt && Number.isNaN(new Date(form.startAt).getTime())) errors.start_at = "Enter a date and time, or leave it empty.";
  if (form.ringingTimeout.trim()) {
    const ringing = integer(form.ringingTimeout);
    if (ringing === null || ringing < 1) errors.ringing_timeout_s = "Enter whole seconds, or leave it empty for the default.";
  }
  return errors;
}

/** The `campaign` part of the multipart body (call after `validateCampaign` found nothing). */
export function campaignSettings(form: CampaignForm): CampaignSettings {
  const settings: CampaignSettings = {
    name: form.name.trim(),
    agent_id: form.agentId,
    from_numbers: form.fromNumbers,
    windows: form.anyTime
      ? null
      : { days: WEEKDAYS.filter((d) => form.days.includes(d)), start: form.start, end: form.untilMidnight ? "24:00" : form.end, blackout_dates: [...form.blackoutDates].sort() },
    pacing: { calls_per_second: Number(form.callsPerSecond), max_concurrent: Number(form.maxConcurrent) },
    retry: {
      max_attempts: Number(form.maxAttempts),
      delay_s: Math.round(Number(form.delayMinutes) * 60),
      on: { busy: form.retryBusy, no_answer: form.retryNoAnswer, failed: parseSipRanges(form.retryFailed) ?? [], agent_failed: form.retryAgentFailed },
    },
    start_at: form.startAt ? new Date(form.startAt).toISOString() : null,
  };
  if (form.ringingTimeout.trim()) settings.ringing_timeout_s = Number(form.ringingTimeout);
  return settings;
}

/**
 * The form field a server error names: `from_numbers[1]` and `from_numbers.1` are the numbers,
 * `rows` (or `rows[3].to_number`) is the file, `retry.on.failed[0]` the retry outcomes; a name
 * the form has no field for goes to the form as a whole.
 */
export function formFieldOf(serverField: string): FormField {
  let name = serverField
    .replace(/^(body|campaign)\./, "")
    .replace(/\[\d+\]/g, "")
    .replace(/\.\d+(?=\.|$)/g, "");
  if (name === "rows" || name.startsWith("rows.") || name === "file") return "file";
  while (name) {
    if ((FORM_FIELDS as readonly string[]).includes(name)) return name as FormField;
    if (name === "windows" || name === "pacing" || name === "retry") break;
    name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
  }
  return "form";
}

/** The server's field errors by form field; several on one field are joined. */
export function errorsByField(problems: FieldProblem[]): FormErrors {
  const errors: FormErrors = {};
  for (const problem of problems) {
    const field = formFieldOf(problem.field);
    const text = field === "form" && problem.field ? `${problem.field}: ${problem.message}` : problem.message;
    errors[field] = errors[field] ? `${errors[field]} ${text}` : text;
  }
  return errors;
}
