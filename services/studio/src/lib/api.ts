/** A small typed client for numbers-api and call-orchestrator on the same origin. */
import type {
  Agent,
  AgentAssignment,
  AgentCreate,
  AgentUpdate,
  CallFilters,
  CallPage,
  CallRecord,
  CallTranscript,
  CarrierProfile,
  DevTokenRequest,
  FieldProblem,
  OutboundCallFailure,
  OutboundCallRequest,
  OutboundCallSuccess,
  Page,
  PhoneNumber,
  PhoneNumberCheck,
  PhoneNumberWrite,
  Problem,
  Role,
  TokenResponse,
} from "./types";
import { dayStart } from "./calls";

/** An HTTP failure with the server's problem details (or a network failure, status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly fieldErrors: FieldProblem[];

  constructor(status: number, problem: Problem, fallback: string) {
    super(problem.detail || problem.title || fallback);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
  }

  /** Whether trying again may help (network, timeouts, throttling, server side). */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export type Fetch = typeof fetch;

/** The result of `POST /telephony/outbound-call`: the body and the HTTP status, whatever it was. */
export interface OutboundCallResult {
  status: number;
  body: OutboundCallSuccess | OutboundCallFailure | null;
}

const PAGE_LIMIT = 200;

export class Api {
  constructor(
    private readonly token: string | null,
    private readonly fetchImpl: Fetch = (...args) => fetch(...args),
    private readonly baseUrl = "",
  ) {}

  /** One request: JSON in (or a multipart `FormData`, whose boundary the browser writes), JSON
   * out; a failure is an `ApiError` with the server's problem details. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body, "application/json");
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const problem = (data && typeof data === "object" ? data : {}) as Problem;
      throw new ApiError(response.status, problem, `${response.status} ${response.statusText || "Request failed"}`.trim());
    }
    return data as T;
  }

  private async send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const multipart = typeof FormData !== "undefined" && body instanceof FormData;
    if (body !== undefined && !multipart) headers["Content-Type"] = "application/json";
    try {
      return await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : multipart ? body : JSON.stringify(body),
      });
    } catch (error) {
      throw new ApiError(0, {}, `Network error: ${(error as Error).message || "the server cannot be reached"}`);
    }
  }

  /** A file the API serves behind the bearer token (a link cannot send `Authorization`): its
   * bytes and the name the server gives it (`Content-Disposition`), else `fallbackName`. */
  async download(path: string, fallbackName: string, accept = "*/*"): Promise<{ blob: Blob; filename: string }> {
    const response = await this.send("GET", path, undefined, accept);
    if (!response.ok) {
      let problem: Problem = {};
      try {
        const data: unknown = JSON.parse(await response.text());
        if (data && typeof data === "object") problem = data as Problem;
      } catch {
        /* not a problem body */
      }
      throw new ApiError(response.status, problem, `${response.status} ${response.statusText || "Request failed"}`.trim());
    }
    const disposition = response.headers.get("Content-Disposition") ?? "";
    const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    return { blob: await response.blob(), filename: named ? decodeURIComponent(named[1]) : fallbackName };
  }

  /** Follow `next_cursor` until the end (or `max` items). */
  private async all<T>(path: string, params: Record<string, string> = {}, max = 10_000): Promise<{ items: T[]; complete: boolean }> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ ...params, limit: String(PAGE_LIMIT) });
      if (cursor) query.set("cursor", cursor);
      const page: Page<T> = await this.request<Page<T>>("GET", `${path}?${query}`);
      items.push(...page.items);
      cursor = page.next_cursor ?? null;
    } while (cursor && items.length < max);
    return { items, complete: !cursor };
  }

  listAgents(): Promise<Agent[]> {
    return this.all<Agent>("/agents").then((r) => r.items);
  }

  getAgent(id: string): Promise<Agent> {
    return this.request("GET", `/agents/${encodeURIComponent(id)}`);
  }

  createAgent(body: AgentCreate): Promise<Agent> {
    return this.request("POST", "/agents", body);
  }

  updateAgent(id: string, body: AgentUpdate): Promise<Agent> {
    return this.request("PATCH", `/agents/${encodeURIComponent(id)}`, body);
  }

  /** 409 while phone numbers use the agent (the detail names them: `agentAssignment` reads it). */
  deleteAgent(id: string): Promise<void> {
    return this.request("DELETE", `/agents/${encodeURIComponent(id)}`);
  }

  listPhoneNumbers(search?: string, max?: number): Promise<{ items: PhoneNumber[]; complete: boolean }> {
    return this.all<PhoneNumber>("/phone-numbers", search ? { search } : {}, max);
  }

  getPhoneNumber(id: string): Promise<PhoneNumber> {
    return this.request("GET", `/phone-numbers/${encodeURIComponent(id)}`);
  }

  createPhoneNumber(body: PhoneNumberWrite): Promise<PhoneNumber> {
    return this.request("POST", "/phone-numbers", body);
  }

  updatePhoneNumber(id: string, body: PhoneNumberWrite): Promise<PhoneNumber> {
    return this.request("PATCH", `/phone-numbers/${encodeURIComponent(id)}`, body);
  }

  deletePhoneNumber(id: string): Promise<void> {
    return this.request("DELETE", `/phone-numbers/${encodeURIComponent(id)}`);
  }

  listCarriers(): Promise<CarrierProfile[]> {
    return this.request("GET", "/carriers");
  }

  /** The trunk doctor: probe the number's carrier (DNS, connect, TLS, OPTIONS, auth); up to ~10 s. */
  checkPhoneNumber(id: string): Promise<PhoneNumberCheck> {
    return this.request("POST", `/phone-numbers/${encodeURIComponent(id)}/check`);
  }

  assignAgents(body: AgentAssignment): Promise<PhoneNumber> {
    return this.request("PUT", "/phone-numbers/agent-assignments", body);
  }

  /** One page of the organization's calls, newest first (`GET /calls`: number, direction, status). */
  listCalls(filters: CallFilters, cursor?: string | null, limit = 50): Promise<CallPage> {
    const query = new URLSearchParams();
    for (const key of ["phone_number", "direction", "status", "agent_id"] as const) {
      const value = filters[key];
      if (value) query.set(key, value);
    }
    if (filters.from) query.set("started_from", dayStart(filters.from));
    if (filters.to) query.set("started_before", dayStart(filters.to, 1));
    query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    return this.request("GET", `/calls?${query}`);
  }

  getCall(id: string): Promise<CallRecord> {
    return this.request("GET", `/calls/${encodeURIComponent(id)}`);
  }

  /** 404 until the transcript is in (shortly after the call ends; never for a call no agent took). */
  getTranscript(id: string): Promise<CallTranscript> {
    return this.request("GET", `/calls/${encodeURIComponent(id)}/transcript`);
  }

  /** Owners and admins (403 for members); 409 when the call has already ended. */
  hangUpCall(id: string): Promise<CallRecord> {
    return this.request("POST", `/calls/${encodeURIComponent(id)}/hangup`);
  }

  /** Where an `<audio>` element plays the call's recording: `GET /calls/{id}/recording` with the
   * token in `?access_token=`, since a media element cannot send `Authorization` (a 307 to a
   * short-lived storage URL, or the file itself). */
  recordingUrl(id: string): string {
    const path = `${this.baseUrl}/calls/${encodeURIComponent(id)}/recording`;
    return this.token ? `${path}?access_token=${encodeURIComponent(this.token)}` : path;
  }

  /** Delete the call's recording (owners and admins); the call as it now is. 409 while it is
   * pending or when it failed. */
  deleteRecording(id: string): Promise<CallRecord> {
    return this.request("DELETE", `/calls/${encodeURIComponent(id)}/recording`);
  }

  devToken(orgId: string, role: Role, sub = "dev-user"): Promise<TokenResponse> {
    return this.request("POST", "/dev/token", { org_id: orgId, role, sub } satisfies DevTokenRequest);
  }

  /** Place a call; never throws for an HTTP status, since every status has its explanation. */
  async outboundCall(body: OutboundCallRequest): Promise<OutboundCallResult> {
    const headers: Record<string, string> = { Accept: "application/json", "Content-Type": "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + "/telephony/outbound-call", {
        method: "POST",
        headers,
        body: JSON.stringify(body),
      });
    } catch {
      return { status: 0, body: null };
    }
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(await response.text());
    } catch {
      parsed = null;
    }
    const ok = parsed && typeof parsed === "object" && "success" in parsed;
    return { status: response.status, body: ok ? (parsed as OutboundCallSuccess | OutboundCallFailure) : null };
  }
}
