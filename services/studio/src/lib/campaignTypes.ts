/**
 * Campaigns and the do-not-call list as call-orchestrator serves them (issue 22's HTTP contract).
 *
 * Written by hand from the contract: call-orchestrator's OpenAPI document does not describe these
 * routes yet. When the backend lands, these move to the generated types (`scripts/api-types.sh`,
 * then aliases in `types.ts` as for calls) and this module goes away.
 */

export type CampaignStatus = "draft" | "running" | "paused" | "completed" | "cancelled";
export type RowStatus = "pending" | "in_progress" | "waiting_retry" | "completed" | "failed" | "do_not_call" | "cancelled";
export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";
export type AttemptOutcome = "answered" | "busy" | "no_answer" | "failed" | "agent_failed" | "not_placed";

/** Calling windows, in the callee's local time. */
export interface CampaignWindows {
  days: Weekday[];
  /** "HH:MM" */
  start: string;
  end: string;
  /** YYYY-MM-DD */
  blackout_dates: string[];
}

export interface CampaignPacing {
  calls_per_second: number;
  max_concurrent: number;
}

export interface CampaignRetry {
  max_attempts: number;
  delay_s: number;
  on: {
    busy: boolean;
    no_answer: boolean;
    /** SIP codes and ranges ("500-599", "408"). */
    failed: string[];
    agent_failed: boolean;
  };
}

export type CampaignCounts = Record<RowStatus, number> & { total: number };

export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  agent: { id: string; name: string };
  from_numbers: string[];
  /** null: any time (the server's default when none was given). */
  windows: CampaignWindows | null;
  pacing: CampaignPacing;
  retry: CampaignRetry;
  start_at: string | null;
  ringing_timeout_s: number | null;
  counts: CampaignCounts;
  calls_in_progress: number;
  /** The server's estimate while running, else null. */
  eta_at: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
  created_by: string;
}

/** A row the server refused: its CSV line (header = line 1) or 1-based index in `rows`. */
export interface RejectedRow {
  line: number;
  to_number: string;
  reason: string;
}

/** `POST /campaigns` (201). */
export interface CampaignCreated extends Campaign {
  rejected_rows: RejectedRow[];
  rejected_count: number;
}

export interface PreviewRow {
  line: number;
  to_number: string;
  time_zone: string | null;
  metadata: Record<string, unknown> | null;
}

/** `POST /campaigns?dry_run=true` (200): nothing stored. */
export interface CampaignDryRun {
  accepted: number;
  rejected_rows: RejectedRow[];
  rejected_count: number;
  /** The first 20 accepted rows. */
  preview: PreviewRow[];
}

/** The `campaign` part of the multipart body (the JSON body without `rows`). */
export interface CampaignSettings {
  name: string;
  agent_id: string;
  from_numbers: string[];
  windows?: CampaignWindows;
  pacing?: CampaignPacing;
  retry?: CampaignRetry;
  start_at?: string | null;
  ringing_timeout_s?: number | null;
}

export interface CampaignPage {
  campaigns: Campaign[];
  next_cursor: string | null;
}

export interface Attempt {
  number: number;
  call_id: string | null;
  from_number: string | null;
  started_at: string | null;
  ended_at: string | null;
  outcome: AttemptOutcome | null;
  sip_status_code: number | null;
  detail: string | null;
}

export interface CampaignRow {
  id: string;
  line: number;
  to_number: string;
  time_zone: string | null;
  metadata: Record<string, unknown> | null;
  status: RowStatus;
  attempts: Attempt[];
  next_attempt_at: string | null;
}

export interface CampaignRowPage {
  rows: CampaignRow[];
  next_cursor: string | null;
}

export type CampaignAction = "start" | "pause" | "resume" | "cancel";

export interface DoNotCallEntry {
  number: string;
  reason: string | null;
  added_at: string;
  added_by: string | null;
}

export interface DoNotCallPage {
  numbers: DoNotCallEntry[];
  next_cursor: string | null;
}

/** `campaign` on a `telephony.call.*` event's data (null for calls of no campaign). */
export interface CallCampaignRef {
  id: string;
  row_id: string;
  attempt: number;
}
