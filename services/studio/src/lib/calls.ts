/** Calls: their order of states, which of two reads is newer, the filters in the address, and
 * how durations, times and money read. */
import type { CallDirection, CallFilters, CallRecord, CallRecording, CallStatus, CostComponent } from "./types";

export const CALL_STATUSES: CallStatus[] = ["initiated", "ringing", "answered", "completed", "failed"];
export const CALL_DIRECTIONS: CallDirection[] = ["inbound", "outbound"];

export const STATUS_LABELS: Record<CallStatus, string> = {
  initiated: "Initiated",
  ringing: "Ringing",
  answered: "Answered",
  completed: "Completed",
  failed: "Failed",
};

export const DIRECTION_LABELS: Record<CallDirection, string> = { inbound: "Inbound", outbound: "Outbound" };

/** call-orchestrator moves a call only forward: initiated < ringing < answered < completed | failed. */
const RANK: Record<CallStatus, number> = { initiated: 0, ringing: 1, answered: 2, completed: 3, failed: 3 };

export function isLive(call: Pick<CallRecord, "status">): boolean {
  return RANK[call.status] < 3;
}

/**
 * What to show when a read or an event brings `incoming` while `current` is shown. CallData has no
 * version (`rev` stays inside call-orchestrator), but a call's status only moves forward, so a
 * later state wins and an earlier one (a late event, a read that crossed a newer event) is
 * ignored. At the same state the incoming copy is taken, keeping what is written once and never
 * removed (the cost, the recording, the end and answer times) when it lacks them.
 */
export function mergeCall(current: CallRecord | undefined, incoming: CallRecord): CallRecord {
  if (!current) return incoming;
  const was = RANK[current.status];
  const now = RANK[incoming.status];
  if (now < was) return current;
  if (now > was) return incoming;
  return {
    ...incoming,
    cost: incoming.cost ?? current.cost ?? null,
    recording_egress_id: incoming.recording_egress_id ?? current.recording_egress_id ?? null,
    recording: mergeRecording(current.recording, incoming.recording),
    ringing_at: incoming.ringing_at ?? current.ringing_at ?? null,
    answered_at: incoming.answered_at ?? current.answered_at ?? null,
    ended_at: incoming.ended_at ?? current.ended_at ?? null,
  };
}

/** A recording's state only moves forward (pending, then available or failed, then deleted) and is
 * never taken away: a copy behind the one shown (a late event, a read that crossed a deletion) is
 * ignored. */
const RECORDING_RANK: Record<CallRecording["status"], number> = { pending: 0, available: 1, failed: 1, deleted: 2 };

export function mergeRecording(current: CallRecording | null | undefined, incoming: CallRecording | null | undefined): CallRecording | null {
  if (!incoming) return current ?? null;
  if (!current) return incoming;
  return RECORDING_RANK[incoming.status] < RECORDING_RANK[current.status] ? current : incoming;
}

/** A size in words: "1.2 MB", "640 KB", "512 bytes" (decimal units, as players and browsers show). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1000) return `${Math.round(bytes)} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : Number(value.toFixed(1))} ${units[unit]}`;
}

/** A length in words: "1 min 15 s", "42 s", "1 h 2 min". */
export function durationInWords(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}


const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Local midnight of a YYYY-MM-DD day, `days` later, as an ISO instant. */
export function dayStart(day: string, days = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString();
}

/** The filters the Calls page's address carries (`?phone_number=&direction=&status=&agent_id=&from=&to=`). */
export function filtersFromSearch(search: string): CallFilters {
  const params = new URLSearchParams(search);
  const filters: CallFilters = {};
  const number = params.get("phone_number")?.trim();
  if (number) filters.phone_number = number;
  const direction = params.get("direction");
  if (direction && (CALL_DIRECTIONS as string[]).includes(direction)) filters.direction = direction as CallDirection;
  const status = params.get("status");
  if (status && (CALL_STATUSES as string[]).includes(status)) filters.status = status as CallStatus;
  const agent = params.get("agent_id")?.trim();
  if (agent) filters.agent_id = agent;
  for (const key of ["from", "to"] as const) {
    const day = params.get(key);
    if (day && DAY.test(day)) filters[key] = day;
  }
  return filters;
}

/** Whether a call belongs in a list with these filters (a call heard about live, say). */
export function matchesFilters(call: CallRecord, filters: CallFilters): boolean {
  if (filters.direction && call.direction !== filters.direction) return false;
  if (filters.status && call.status !== filters.status) return false;
  if (filters.phone_number && ![call.phone_number, call.from_number, call.to_number].includes(filters.phone_number)) return false;
  if (filters.agent_id && call.agent?.id !== filters.agent_id) return false;
  const started = Date.parse(call.started_at);
  if (filters.from && started < Date.parse(dayStart(filters.from))) return false;
  if (filters.to && started >= Date.parse(dayStart(filters.to, 1))) return false;
  return true;
}

/** The other party: who was called (outbound) or who called (inbound). */
export function counterpart(call: CallRecord): string {
  return call.direction === "outbound" ? call.to_number : call.from_number;
}

/** 75 -> "1:15", 3725 -> "1:02:05"; null -> "—". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/** A decimal string in a currency, as the API gives it ("0.031250" USD -> "USD 0.031250"), trailing
 * zeros past the cents dropped ("USD 0.03125"); never through a float. */
export function formatMoney(amount: string, currency: string): string {
  const match = /^(\d+)(?:\.(\d*))?$/.exec(amount);
  if (!match) return `${currency} ${amount}`;
  const decimals = (match[2] ?? "").replace(/0+$/, "").padEnd(2, "0");
  return `${currency} ${match[1]}.${decimals}`;
}

export const COMPONENT_LABELS: Record<CostComponent, string> = {
  carrier: "Carrier minutes",
  llm_input: "Language model input",
  llm_output: "Language model output",
  stt: "Speech to text",
  tts: "Text to speech",
};

export const UNIT_LABELS: Record<string, string> = {
  minute: "min",
  million_tokens: "M tokens",
  million_characters: "M characters",
};
