/** The numbers-api and call-orchestrator contract (ARCHITECTURE.md), as the Studio reads it. */

export type Architecture = "pipeline" | "realtime" | "text";
export type Role = "owner" | "admin" | "member";
export type RecordingMode = "disabled" | "all" | "consent";

export interface Agent {
  id: string;
  name: string;
  architecture: Architecture;
  created_at?: string;
  updated_at?: string;
}

export interface AgentRef {
  id: string;
  name: string;
  architecture: Architecture;
}

export interface SyncStatus {
  state: "pending" | "synced" | "failed";
  error: string | null;
  synced_at: string | null;
}

export interface PhoneNumber {
  id: string;
  phone_number: string;
  termination_uri: string | null;
  sip_username: string | null;
  has_sip_password: boolean;
  inbound_agent: AgentRef | null;
  outbound_agent: AgentRef | null;
  webhook_url: string | null;
  recording_mode: RecordingMode;
  status: "active" | "inactive";
  sync: SyncStatus;
  version?: number;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** POST /phone-numbers; PATCH takes the same fields, all optional, null clears. */
export interface PhoneNumberWrite {
  phone_number?: string;
  termination_uri?: string | null;
  sip_username?: string | null;
  sip_password?: string | null;
  webhook_url?: string | null;
  recording_mode?: RecordingMode;
}

export interface AgentAssignment {
  phone_number: string;
  inbound_agent_id: string | null;
  outbound_agent_id: string | null;
}

export interface FieldProblem {
  field: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldProblem[];
}

export interface OutboundCallRequest {
  to_number: string;
  from_number: string;
}

export interface OutboundCallSuccess {
  success: true;
  message: string;
  room_name: string;
  agent: { id: string; name: string };
  from_number: string;
  to_number: string;
  call_id?: string;
}

export interface OutboundCallFailure {
  success: false;
  error: string;
  message: string;
  sip_status_code?: number;
}

export const RECORDING_LABELS: Record<RecordingMode, string> = {
  disabled: "Disabled",
  all: "Record all calls",
  consent: "Record with consent",
};

/** The seed's list and dropdown format: "Agent Name (mode)". */
export function agentLabel(agent: AgentRef | Agent | null | undefined): string {
  return agent ? `${agent.name} (${agent.architecture})` : "Not assigned";
}
