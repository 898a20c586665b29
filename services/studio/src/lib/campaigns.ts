/** Campaigns in words: statuses, which actions a status allows, progress and ETA, the CSV file as
 * the browser reads it before the server's verdict, and the row filter in the address. */
import { durationInWords } from "./calls";
import { normalizePhone, validatePhoneNumber } from "./validation";
import type { AttemptOutcome, Campaign, CampaignAction, CampaignCounts, CampaignStatus, RowStatus } from "./types";

export const CAMPAIGN_STATUSES: CampaignStatus[] = ["draft", "running", "paused", "completed", "cancelled"];
export const ROW_STATUSES: RowStatus[] = ["pending", "in_progress", "waiting_retry", "completed", "failed", "do_not_call", "cancelled"];

export const CAMPAIGN_STATUS_LABELS: Record<CampaignStatus, string> = {
  draft: "Draft",
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  cancelled: "Cancelled",
};

export const ROW_STATUS_LABELS: Record<RowStatus, string> = {
  pending: "Pending",
  in_progress: "In progress",
  waiting_retry: "Waiting to retry",
  completed: "Completed",
  failed: "Failed",
  do_not_call: "Do not call",
  cancelled: "Cancelled",
};

/** What each row status means, for the legend and tooltips. */
export const ROW_STATUS_HELP: Record<RowStatus, string> = {
  pending: "Not dialed yet",
  in_progress: "Being dialed, or the call is going on",
  waiting_retry: "A retry is due later",
  completed: "Answered",
  failed: "Attempts used up, or an outcome that is not retried",
  do_not_call: "Skipped: the number is on the do-not-call list",
  cancelled: "The campaign was cancelled before the row finished",
};

export const OUTCOME_LABELS: Record<AttemptOutcome, string> = {
  answered: "Answered",
  busy: "Busy",
  no_answer: "No answer",
  failed: "Failed",
  agent_failed: "Agent failed",
  not_placed: "Not placed",
};

/** The transitions the API allows from each status (`POST /campaigns/{id}/<action>`). */
const ACTIONS: Record<CampaignStatus, CampaignAction[]> = {
  draft: ["start", "cancel"],
  running: ["pause", "cancel"],
  paused: ["resume", "cancel"],
  completed: [],
  cancelled: [],
};

export function allowedActions(status: CampaignStatus): CampaignAction[] {
  return ACTIONS[status];
}

export const ACTION_LABELS: Record<CampaignAction, string> = { start: "Start", pause: "Pause", resume: "Resume", cancel: "Cancel campaign" };

/** Whether the campaign may still change on its own (dialing, or calls finishing). */
export function isActive(campaign: Pick<Campaign, "status" | "calls_in_progress">): boolean {
  return campaign.status === "running" || campaign.calls_in_progress > 0;
}

/** Rows that will not be dialed again. */
export function finishedRows(counts: CampaignCounts): number {
  return counts.completed + counts.failed + counts.do_not_call + counts.cancelled;
}

/** Finished rows as a whole percentage of all rows (0 for an empty campaign; 100 only when all are). */
export function progressPercent(counts: CampaignCounts): number {
  if (counts.total <= 0) return 0;
  const done = finishedRows(counts);
  const percent = Math.floor((done / counts.total) * 100);
  return done < counts.total ? Math.min(percent, 99) : 100;
}

/** "Done", "About 2 h 30 min left", or why there is no estimate. */
export function etaText(campaign: Pick<Campaign, "status" | "eta_at" | "counts">, now = Date.now()): string {
  switch (campaign.status) {
    case "completed":
      return "Finished";
    case "cancelled":
      return "Cancelled: no more calls";
    case "draft":
      return "Not started";
    case "paused":
      return "Paused: no estimate while paused";
  }
  if (!campaign.eta_at) return finishedRows(campaign.counts) >= campaign.counts.total ? "Finishing the last calls" : "Estimating…";
  const ms = Date.parse(campaign.eta_at) - now;
  if (!Number.isFinite(ms)) return "Estimating…";
  if (ms <= 60_000) return "Less than a minute left";
  if (ms >= 48 * 3_600_000) return `About ${Math.round(ms / 86_400_000)} days left`;
  return `About ${durationInWords(ms >= 3_600_000 ? Math.round(ms / 60_000) * 60 : Math.round(ms / 1000))} left`;
}

/** The row filter the campaign page's address carries (`?status=`). */
export function rowStatusFromSearch(search: string): RowStatus | null {
  const status = new URLSearchParams(search).get("status");
  return status && (ROW_STATUSES as string[]).includes(status) ? (status as RowStatus) : null;
}

/** What the browser can tell about a CSV file before sending it: its columns and how many data
 * lines it has, or why it cannot be a campaign's file. The server's dry run gives the verdict
 * per row. */
export interface CsvSummary {
  columns: string[];
  rows: number;
  problem: string | null;
}

/** Split CSV text into records (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
export function parseCsv(text: string, maxRecords = Number.POSITIVE_INFINITY): { records: string[][]; total: number } {
  const records: string[][] = [];
  let total = 0;
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(field);
    field = "";
    if (!(record.length === 1 && record[0] === "")) {
      total += 1;
      if (records.length < maxRecords) records.push(record);
    }
    record = [];
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
    } else field += c;
  }
  if (field !== "" || record.length > 0) endRecord();
  return { records, total };
}

export function summarizeCsv(text: string): CsvSummary {
  const { records, total } = parseCsv(text, 1);
  if (total === 0) return { columns: [], rows: 0, problem: "The file is empty: it needs a header row with a to_number column, then one row per number." };
  const columns = records[0].map((c) => c.trim());
  const rows = total - 1;
  if (!columns.includes("to_number")) {
    return { columns, rows, problem: `The header row has no to_number column (it has: ${columns.filter(Boolean).join(", ") || "nothing"}).` };
  }
  if (rows === 0) return { columns, rows, problem: "The file has a header row but no numbers under it." };
  return { columns, rows, problem: null };
}

/** Numbers typed or pasted one per line (or separated by commas): each checked as E.164. */
export function parseNumberList(text: string): { numbers: string[]; invalid: string[] } {
  const numbers: string[] = [];
  const invalid: string[] = [];
  for (const part of text.split(/[\n,;]+/).map((p) => p.trim()).filter(Boolean)) {
    if (validatePhoneNumber(part)) invalid.push(part);
    else {
      const n = normalizePhone(part);
      if (!numbers.includes(n)) numbers.push(n);
    }
  }
  return { numbers, invalid };
}

/** A file's text as UTF-8 (FileReader: every browser, and jsdom, which has no `Blob.text`). */
export function readFileText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result ?? ""));
    reader.onerror = () => reject(reader.error ?? new Error("The file could not be read"));
    reader.readAsText(file, "utf-8");
  });
}
