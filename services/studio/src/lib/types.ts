/** The numbers-api and call-orchestrator contract under the names the Studio uses, aliased from the
 * types generated from their OpenAPI documents (`scripts/api-types.sh`; never edit `generated/`). */

import type {
  components as CallOrchestrator,
  operations as CallOrchestratorOperations,
  paths as CallOrchestratorPaths,
} from "./generated/call-orchestrator";
import type { components as NumbersApi } from "./generated/numbers-api";

type NumbersApiSchema = NumbersApi["schemas"];
type CallOrchestratorSchema = CallOrchestrator["schemas"];

export type Architecture = NumbersApiSchema["Architecture"];
export type Role = NumbersApiSchema["Role"];
export type RecordingMode = NumbersApiSchema["RecordingMode"];

export type Agent = NumbersApiSchema["AgentData"];
export type AgentRef = NumbersApiSchema["AgentRef"];
export type AgentCreate = NumbersApiSchema["AgentCreate"];
export type AgentUpdate = NumbersApiSchema["AgentUpdate"];
export type STTConfig = NumbersApiSchema["STTConfig"];
export type LLMConfig = NumbersApiSchema["LLMConfig"];
export type TTSConfig = NumbersApiSchema["TTSConfig"];
export type RealtimeConfig = NumbersApiSchema["RealtimeConfig"];
export type STTProvider = NumbersApiSchema["STTProvider"];
export type LLMProvider = NumbersApiSchema["LLMProvider"];
export type TTSProvider = NumbersApiSchema["TTSProvider"];
export type RealtimeProvider = NumbersApiSchema["RealtimeProvider"];
export type SyncStatus = NumbersApiSchema["SyncStatus"];
export type PhoneNumber = NumbersApiSchema["PhoneNumberData"];
export type SipTransport = NumbersApiSchema["SipTransport"];
export type MediaEncryption = NumbersApiSchema["MediaEncryption"];
export type NumberFormat = NumbersApiSchema["NumberFormat"];
export type CarrierProfile = NumbersApiSchema["CarrierProfile"];
/** The trunk doctor's report (`POST /phone-numbers/{id}/check`, a number's `last_check`). */
export type PhoneNumberCheck = NumbersApiSchema["PhoneNumberCheck"];
export type CheckStep = NumbersApiSchema["CheckStep"];
export type CheckVerdict = NumbersApiSchema["CheckVerdict"];

/** A page of `GET /agents` or `GET /phone-numbers` (both lists page the same way). */
export type Page<T> = Omit<NumbersApiSchema["Page_PhoneNumberData_"], "items"> & { items: T[] };

/** A body both POST /phone-numbers and PATCH accept: every field optional, null clears. */
export type PhoneNumberWrite = Partial<NumbersApiSchema["PhoneNumberCreate"]> & NumbersApiSchema["PhoneNumberUpdate"];

export type AgentAssignment = NumbersApiSchema["AgentAssignment"];
export type FieldProblem = NumbersApiSchema["FieldProblem"];
/** Partial: an error body may come from the proxy or not parse at all. */
export type Problem = Partial<NumbersApiSchema["Problem"]>;
export type DevTokenRequest = NumbersApiSchema["DevTokenRequest"];
export type TokenResponse = NumbersApiSchema["TokenResponse"];

/** The fields of POST /telephony/outbound-call the Studio sends; the rest keep their defaults.
 * `wait_until_answered: false`: 202 with the call id at once, so the call's page can follow it. */
export type OutboundCallRequest = Pick<CallOrchestratorSchema["OutboundCallRequest"], "to_number" | "from_number"> &
  Partial<Pick<CallOrchestratorSchema["OutboundCallRequest"], "wait_until_answered">>;
type OutboundCallResponse = CallOrchestratorSchema["OutboundCallResponse"];
/** The seed's success body; `call_id` and `status` are this service's additions, read when present. */
export type OutboundCallSuccess = Omit<OutboundCallResponse, "call_id" | "status"> &
  Partial<Pick<OutboundCallResponse, "call_id" | "status">>;
export type OutboundCallFailure = CallOrchestratorSchema["OutboundCallErrorBody"];

/** A call as call-orchestrator records it (`GET /calls`, `GET /calls/{id}`, `telephony.call.*` events). */
export type CallRecord = CallOrchestratorSchema["CallData"];
export type CallStatus = CallOrchestratorSchema["CallStatus"];
export type CallDirection = CallOrchestratorSchema["CallDirection"];
export type CallPage = CallOrchestratorSchema["CallPage"];
export type CallCost = CallOrchestratorSchema["CallCost"];
/** A call's recording as history shows it: `status` pending, available, failed or deleted. */
export type CallRecording = CallOrchestratorSchema["CallRecording"];
export type CostLine = CallOrchestratorSchema["CostLine"];
export type CostComponent = CallOrchestratorSchema["CostComponent"];
export type CallTranscript = CallOrchestratorSchema["CallTranscript"];
export type TranscriptItem = CallOrchestratorSchema["TranscriptItem"];
/** The filters `GET /calls` takes, without paging; the date range is kept as days (`from`, `to`,
 * both inclusive, YYYY-MM-DD in the browser's time zone) and sent as `started_from`/`started_before`. */
type ListCallsQuery = NonNullable<CallOrchestratorOperations["list_calls_calls_get"]["parameters"]["query"]>;
export type CallFilters = { [K in "phone_number" | "direction" | "status" | "agent_id"]?: NonNullable<ListCallsQuery[K]> } & {
  from?: string;
  to?: string;
};
/** The keys of `CallFilters`, in the order the address writes them. */
export const CALL_FILTER_KEYS = ["phone_number", "direction", "status", "agent_id", "from", "to"] as const;

/** A campaign as call-orchestrator serves it (`GET /campaigns/{id}`, `telephony.campaign.*` events). */
export type Campaign = CallOrchestratorSchema["CampaignData"];
export type CampaignStatus = CallOrchestratorSchema["CampaignStatus"];
/** Rows by status, and `total`. */
export type CampaignCounts = CallOrchestratorSchema["RowCounts"];
export type Weekday = CallOrchestratorSchema["CallingWindows"]["days"][number];
export type CampaignPage = CallOrchestratorSchema["CampaignPage"];
/** `POST /campaigns` (201): the draft, and the rows left out. */
export type CampaignCreated = CallOrchestratorSchema["CampaignCreated"];
/** `POST /campaigns?dry_run=true` (200): nothing stored. */
export type CampaignDryRun = CallOrchestratorSchema["CampaignDryRun"];
/** A row the server refused: its CSV line (header = line 1) and why. */
export type RejectedRow = CallOrchestratorSchema["RejectedRowOut"];
export type PreviewRow = CallOrchestratorSchema["PreviewRow"];
/** The fields of `CampaignSettings` the server defaults when they are left out. */
type CampaignDefaulted = "windows" | "pacing" | "retry" | "start_at" | "ringing_timeout_s";
/** The `campaign` part of the multipart `POST /campaigns` (the JSON body without `rows`); what is
 * left out takes the server's default (`windows`: any time). */
export type CampaignSettings = Omit<CallOrchestratorSchema["CampaignSettings"], CampaignDefaulted> &
  Partial<Pick<CallOrchestratorSchema["CampaignSettings"], CampaignDefaulted>>;
/** The `POST /campaigns/{id}/<action>` routes: start, pause, resume, cancel. */
export type CampaignAction = {
  [P in keyof CallOrchestratorPaths]: P extends `/campaigns/{campaign_id}/${infer A}`
    ? CallOrchestratorPaths[P]["post"] extends undefined
      ? never
      : A
    : never;
}[keyof CallOrchestratorPaths];
export type RowStatus = CallOrchestratorSchema["RowStatus"];
export type CampaignRow = CallOrchestratorSchema["RowOut"];
export type CampaignRowPage = CallOrchestratorSchema["RowPage"];
export type Attempt = CallOrchestratorSchema["AttemptOut"];
export type AttemptOutcome = CallOrchestratorSchema["AttemptOutcome"];
/** `campaign` on a `telephony.call.*` event's data (null for calls of no campaign). */
export type CallCampaignRef = CallOrchestratorSchema["CallCampaignRef"];
export type DoNotCallEntry = CallOrchestratorSchema["DoNotCallEntry"];
export type DoNotCallPage = CallOrchestratorSchema["DoNotCallPage"];
export type DoNotCallAdd = CallOrchestratorSchema["DoNotCallAdd"];
export type DoNotCallAdded = CallOrchestratorSchema["DoNotCallAdded"];

export const RECORDING_LABELS: Record<RecordingMode, string> = {
  disabled: "Disabled",
  all: "Record all calls",
  consent: "Record with consent",
};

export const TRANSPORT_LABELS: Record<SipTransport, string> = { tls: "TLS", tcp: "TCP", udp: "UDP", auto: "Auto" };

export const MEDIA_ENCRYPTION_LABELS: Record<MediaEncryption, string> = {
  require: "Require SRTP",
  allow: "Allow SRTP",
  disable: "Disabled",
};

/** The seed's list and dropdown format: "Agent Name (mode)". */
export function agentLabel(agent: AgentRef | Agent | null | undefined): string {
  return agent ? `${agent.name} (${agent.architecture})` : "Not assigned";
}
