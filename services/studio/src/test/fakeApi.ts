/** An in-memory numbers-api and call-orchestrator behind `fetch`, for component tests. */
import { readFileText } from "../lib/campaigns";
import type { Agent, CallRecord, CallTranscript, CarrierProfile, PhoneNumber, PhoneNumberCheck, Role } from "../lib/types";

export function makeToken(orgId = "org_a", role: Role = "owner", sub = "user-1"): string {
  const enc = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub, org_id: orgId, role, exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
}

export function agent(id: string, name: string, architecture: Agent["architecture"] = "pipeline"): Agent {
  return {
    id,
    name,
    architecture,
    instructions: "",
    greeting: "",
    language: "en",
    stt: null,
    llm: null,
    tts: null,
    realtime: null,
    version: 1,
    created_at: "2025-01-01T00:00:00Z",
    updated_at: "2025-01-01T00:00:00Z",
  };
}

/** Carrier profiles as numbers-api serves them (custom last), trimmed to what the tests read. */
export const CARRIERS: CarrierProfile[] = [
  {
    id: "twilio",
    name: "Twilio Elastic SIP Trunking",
    signalling_addresses: ["54.172.60.0/23", "34.203.250.0/23", "54.244.51.0/24"],
    termination_host_suffixes: [".pstn.twilio.com"],
    number_format: { leading_plus: true, tech_prefix: "" },
    headers: {},
    transport: "tls",
    port: 5061,
    srtp: true,
    media_encryption: "require",
    inbound_auth: false,
    setup_steps: ["Console > Elastic SIP Trunking > Trunks > Create new SIP Trunk.", "Origination: add the URI of your LiveKit SIP service."],
    sources: [{ url: "https://www.twilio.com/docs/sip-trunking/ip-addresses", read_on: "2026-12-07", note: "Signalling ranges" }],
  },
  {
    id: "bandwidth",
    name: "Bandwidth",
    signalling_addresses: [],
    termination_host_suffixes: [],
    number_format: { leading_plus: true, tech_prefix: "" },
    headers: {},
    transport: "udp",
    port: 5060,
    srtp: false,
    media_encryption: "disable",
    inbound_auth: false,
    setup_steps: ["Ask Bandwidth for the addresses it calls from."],
    sources: [{ url: "https://dev.bandwidth.com/docs/voice/", read_on: "2026-12-07", note: "" }],
  },
  {
    id: "custom",
    name: "Other carrier",
    signalling_addresses: [],
    termination_host_suffixes: [],
    number_format: { leading_plus: true, tech_prefix: "" },
    headers: {},
    transport: "tls",
    port: 5061,
    srtp: true,
    media_encryption: "require",
    inbound_auth: true,
    setup_steps: ["Set the carrier's signalling addresses or inbound credentials."],
    sources: [],
  },
];

export const INBOUND_OPEN =
  "An inbound agent answers only calls from the carrier: set inbound_allowed_addresses (the carrier's signalling addresses), inbound credentials, or a carrier profile that lists its addresses; or set inbound_allow_any_source to true to accept calls from anywhere";

/** A trunk doctor report. */
export function trunkCheck(extra: Partial<PhoneNumberCheck> = {}): PhoneNumberCheck {
  return {
    verdict: "degraded",
    summary: "The carrier answers, but TLS is not verified: renew the certificate",
    round_trip_ms: 42,
    target: "sips:trunk.pstn.twilio.com:5061",
    steps: [
      { name: "dns", status: "ok", detail: "trunk.pstn.twilio.com resolves to 54.172.60.1", fix: null, duration_ms: 3 },
      { name: "connect", status: "ok", detail: "TCP connection to 54.172.60.1:5061", fix: null, duration_ms: 20 },
      { name: "tls", status: "warning", detail: "The certificate expired on 2026-01-01", fix: "Ask the carrier to renew its certificate", duration_ms: 30 },
      { name: "options", status: "ok", detail: "200 OK to OPTIONS", fix: null, duration_ms: 42 },
      { name: "auth", status: "skipped", detail: "No credentials to try", fix: null, duration_ms: 0 },
    ],
    checked_at: "2026-12-08T10:00:00Z",
    ...extra,
  };
}

/** numbers-api resets a number's sync to pending with every change (a new version for trunk-sync). */
const PENDING = { state: "pending", error: null, synced_at: null } as const;

let counter = 0;
let agentCounter = 0;
export function number(phone: string, extra: Partial<PhoneNumber> = {}): PhoneNumber {
  counter += 1;
  return {
    id: `pn_${phone.slice(1)}`,
    phone_number: phone,
    termination_uri: null,
    sip_username: null,
    has_sip_password: false,
    inbound_agent: null,
    outbound_agent: null,
    webhook_url: null,
    recording_mode: "disabled",
    sip_transport: "tls",
    media_encryption: "require",
    carrier: "twilio",
    inbound_allowed_addresses: null,
    inbound_auth_username: null,
    has_inbound_auth_password: false,
    inbound_allow_any_source: false,
    number_format: null,
    sip_headers: null,
    last_check: null,
    status: "inactive",
    sync: { state: "pending", error: null, synced_at: null },
    version: 1,
    created_at: `2025-01-01T00:00:${String(counter % 60).padStart(2, "0")}Z`,
    updated_at: "2025-01-01T00:00:00Z",
    ...extra,
  };
}

let callCounter = 0;
/** A call as call-orchestrator records it: outbound from +12025550100 with Sales Agent, answered. */
export function callRecord(extra: Partial<CallRecord> = {}): CallRecord {
  callCounter += 1;
  const id = extra.id ?? `call_${callCounter}`;
  return {
    id,
    direction: "outbound",
    status: "answered",
    phone_number_id: "pn_12025550100",
    phone_number: "+12025550100",
    from_number: "+12025550100",
    to_number: "+14155550123",
    agent: { id: "agent_b", name: "Sales Agent" },
    room_name: `outbound_agent_b_14155550123_12025550100_${id}`,
    failure_reason: null,
    failure_detail: null,
    end_reason: null,
    sip_status_code: null,
    sip_call_id: null,
    recording_egress_id: null,
    recording: null,
    started_at: `2026-12-07T10:${String(Math.floor(callCounter / 60) % 60).padStart(2, "0")}:${String(callCounter % 60).padStart(2, "0")}Z`,
    ringing_at: null,
    answered_at: null,
    ended_at: null,
    duration_s: null,
    total_duration_s: null,
    cost: null,
    ...extra,
  };
}

/** A call's recording as call-orchestrator shows it: available, 75 s, 1.2 MB, unless told. */
export function recording(extra: Partial<NonNullable<CallRecord["recording"]>> = {}): NonNullable<CallRecord["recording"]> {
  return {
    status: "available",
    duration_s: 75,
    size_bytes: 1_234_567,
    error: null,
    stored_at: "2026-12-07T09:01:30Z",
    upload_attempts: 0,
    deleted_at: null,
    ...extra,
  };
}

/** The role a fake token carries (call-orchestrator reads it from the JWT). */
function roleOf(auth: string | null): Role | null {
  const payload = auth?.replace(/^Bearer /, "").split(".")[1];
  if (!payload) return null;
  try {
    return (JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { role: Role }).role;
  } catch {
    return null;
  }
}

export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

/** A canned answer (JSON, or a `Response` as is: a CSV, say), or undefined to go on. */
type Override = (call: Call) => { status: number; body?: unknown } | Response | undefined;

/** A request body as the fake reads it: JSON parsed; a multipart form as its fields, files as text. */
async function readBody(body: RequestInit["body"]): Promise<unknown> {
  if (!body) return undefined;
  if (body instanceof FormData) {
    const fields: Record<string, string> = {};
    for (const [key, value] of body.entries()) fields[key] = typeof value === "string" ? value : await readFileText(value);
    return fields;
  }
  return JSON.parse(String(body));
}

export class FakeApi {
  agents: Agent[] = [];
  numbers: PhoneNumber[] = [];
  carriers: CarrierProfile[] = CARRIERS;
  /** What `POST /phone-numbers/{id}/check` reports. */
  checkResult: PhoneNumberCheck = trunkCheck();
  calls: Call[] = [];
  /** call-orchestrator's call history (`GET /calls`, newest first by `started_at`). */
  callRecords: CallRecord[] = [];
  /** Transcripts by call id (`GET /calls/{id}/transcript`; 404 for the others). */
  transcripts: Record<string, CallTranscript> = {};
  /** Return a response to short-circuit a request (errors, slow paths). */
  overrides: Override[] = [];
  callResponse: { status: number; body: unknown } = {
    status: 200,
    body: {
      success: true,
      message: "Call initiated successfully",
      room_name: "outbound_agent_b_12025550123_12025550100",
      agent: { id: "agent_b", name: "Sales Agent" },
      from_number: "+12025550100",
      to_number: "+12025550123",
      call_id: "call_1",
    },
  };

  fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), "http://studio.test");
    const headers = new Headers(init.headers);
    const call: Call = {
      method: (init.method ?? "GET").toUpperCase(),
      path: url.pathname + url.search,
      body: await readBody(init.body),
      auth: headers.get("Authorization"),
    };
    this.calls.push(call);
    for (const override of this.overrides) {
      const r = override(call);
      if (r instanceof Response) return r;
      if (r) return json(r.status, r.body);
    }
    return this.route(call, url);
  };

  /** numbers-api's rule: no addresses (the number's or its carrier's), no credentials, not any source. */
  private inboundOpen(n: PhoneNumber): boolean {
    const addresses = n.inbound_allowed_addresses ?? this.carriers.find((c) => c.id === n.carrier)?.signalling_addresses ?? [];
    return !n.inbound_allow_any_source && !n.has_inbound_auth_password && addresses.length === 0;
  }

  requests(method: string, prefix: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(prefix));
  }

  private ref(id: string | null) {
    const a = this.agents.find((x) => x.id === id);
    return a ? { id: a.id, name: a.name, architecture: a.architecture } : null;
  }

  /** numbers-api's agent rules, the ones the tests reach: a 422 naming the field, or null. */
  private agentProblems(b: Partial<Agent>, existing: Agent | null): Response | null {
    const errors: { field: string; message: string }[] = [];
    if (!existing && !b.name?.trim()) errors.push({ field: "name", message: "Field required" });
    if (b.language !== undefined && !/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(b.language ?? "")) {
      errors.push({ field: "language", message: "String should match pattern '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'" });
    }
    if (b.llm && (b.llm.temperature < 0 || b.llm.temperature > 2)) errors.push({ field: "llm.temperature", message: "Input should be less than or equal to 2" });
    for (const section of ["stt", "llm", "tts"] as const) {
      const url = b[section]?.base_url;
      if (url && /\/\/(10|127|192\.168)\./.test(url)) {
        errors.push({ field: `${section}.base_url`, message: "Model server URL: 10.0.0.5 is a private address; this deployment does not allow private model servers" });
      }
    }
    const architecture = b.architecture ?? existing?.architecture;
    const wanted = architecture === "pipeline" ? ["stt", "llm", "tts"] : architecture === "realtime" ? ["realtime"] : ["llm"];
    for (const section of ["stt", "llm", "tts", "realtime"] as const) {
      if (b[section] && !wanted.includes(section)) errors.push({ field: section, message: `${architecture} agents have no ${section} configuration` });
    }
    if (errors.length === 0) return null;
    return json(422, { title: "Validation failed", status: 422, detail: errors.map((e) => `${e.field}: ${e.message}`).join("; "), errors });
  }

  private resolveAgent(id: string, b: Partial<Agent>, existing: Agent | null): Agent {
    const architecture = b.architecture ?? existing?.architecture ?? "pipeline";
    const wanted = architecture === "pipeline" ? ["stt", "llm", "tts"] : architecture === "realtime" ? ["realtime"] : ["llm"];
    const defaults = { stt: { provider: "deepgram" }, llm: { provider: "openai", temperature: 0.7 }, tts: { provider: "cartesia" }, realtime: { provider: "openai" } } as const;
    const section = <K extends "stt" | "llm" | "tts" | "realtime">(key: K): Agent[K] =>
      (wanted.includes(key) ? (b[key] ?? existing?.[key] ?? defaults[key]) : null) as Agent[K];
    return {
      id,
      name: b.name?.trim() ?? existing?.name ?? "",
      architecture,
      instructions: b.instructions ?? existing?.instructions ?? "You are a friendly, concise voice assistant.",
      greeting: b.greeting ?? existing?.greeting ?? "Hello! How can I help you today?",
      language: b.language ?? existing?.language ?? "en-US",
      stt: section("stt"),
      llm: section("llm"),
      tts: section("tts"),
      realtime: section("realtime"),
      version: (existing?.version ?? 0) + 1,
      created_at: existing?.created_at ?? "2025-01-02T00:00:00Z",
      updated_at: "2025-01-02T00:00:00Z",
    };
  }

  private route(call: Call, url: URL): Response {
    const { method } = call;
    const path = url.pathname;
    if (method === "GET" && path === "/carriers") return json(200, this.carriers);
    if (method === "GET" && path === "/agents") return json(200, { items: this.agents, next_cursor: null });
    if (method === "POST" && path === "/agents") {
      const b = call.body as Partial<Agent>;
      const invalid = this.agentProblems(b, null);
      if (invalid) return invalid;
      const created = this.resolveAgent(`agent_${++agentCounter}`, b, null);
      this.agents.push(created);
      return json(201, created);
    }
    const agentMatch = path.match(/^\/agents\/([^/]+)$/);
    if (agentMatch) {
      const a = this.agents.find((x) => x.id === agentMatch[1]);
      if (!a) return json(404, { title: "Not found", status: 404, detail: `Agent ${agentMatch[1]} not found` });
      if (method === "GET") return json(200, a);
      const using = this.numbers
        .filter((n) => n.inbound_agent?.id === a.id || n.outbound_agent?.id === a.id)
        .map((n) => n.phone_number)
        .sort();
      if (method === "DELETE") {
        if (using.length) return json(409, { title: "Conflict", status: 409, detail: `Agent is assigned to phone numbers ${using.join(", ")}; unassign it before deleting it` });
        this.agents = this.agents.filter((x) => x !== a);
        return new Response(null, { status: 204 });
      }
      if (method === "PATCH") {
        const b = call.body as Partial<Agent>;
        const invalid = this.agentProblems(b, a);
        if (invalid) return invalid;
        const next = this.resolveAgent(a.id, b, a);
        if (next.architecture === "text" && using.length) {
          return json(409, { title: "Conflict", status: 409, detail: `Agent is assigned to phone numbers ${using.join(", ")}; a text-only agent cannot make voice calls` });
        }
        Object.assign(a, next);
        return json(200, a);
      }
    }
    if (method === "POST" && path === "/dev/token") {
      const b = call.body as { org_id: string; role: Role };
      return json(200, { access_token: makeToken(b.org_id, b.role), token_type: "bearer", expires_in: 43200 });
    }
    if (method === "GET" && path === "/phone-numbers") {
      const q = (url.searchParams.get("search") ?? "").toLowerCase();
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const all = this.numbers
        .filter((n) => !q || [n.phone_number, n.inbound_agent?.name ?? "", n.outbound_agent?.name ?? ""].some((s) => s.toLowerCase().includes(q)))
        .sort((a, b) => a.phone_number.localeCompare(b.phone_number));
      const items = all.slice(start, start + limit);
      return json(200, { items, next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    if (method === "POST" && path === "/phone-numbers") {
      const b = call.body as Partial<PhoneNumber> & { phone_number: string; sip_password?: string; inbound_auth_password?: string };
      if (this.numbers.some((n) => n.phone_number === b.phone_number)) {
        return json(409, { title: "Conflict", status: 409, detail: "Phone number +12025550100 is already registered" });
      }
      const host = (b.termination_uri ?? "").replace(/^sips?:/, "").replace(/:\d+$/, "");
      const carrier = b.carrier ?? this.carriers.find((c) => c.termination_host_suffixes.some((s) => host.endsWith(s)))?.id ?? "custom";
      const profile = this.carriers.find((c) => c.id === carrier);
      const created = number(b.phone_number, {
        termination_uri: b.termination_uri ?? null,
        sip_username: b.sip_username ?? null,
        has_sip_password: Boolean(b.sip_password),
        carrier,
        sip_transport: b.sip_transport ?? profile?.transport ?? "tls",
        media_encryption: b.media_encryption ?? profile?.media_encryption ?? "require",
        inbound_allowed_addresses: b.inbound_allowed_addresses ?? null,
        inbound_auth_username: b.inbound_auth_username ?? null,
        has_inbound_auth_password: Boolean(b.inbound_auth_password),
        inbound_allow_any_source: b.inbound_allow_any_source ?? false,
        number_format: b.number_format ?? null,
        sip_headers: b.sip_headers ?? null,
      });
      this.numbers.push(created);
      return json(201, created);
    }
    if (method === "PUT" && path === "/phone-numbers/agent-assignments") {
      const b = call.body as { phone_number: string; inbound_agent_id: string | null; outbound_agent_id: string | null };
      const n = this.numbers.find((x) => x.phone_number === b.phone_number);
      if (!n) return json(404, { title: "Not Found", status: 404, detail: "Phone number not found" });
      if (b.inbound_agent_id && this.inboundOpen(n)) {
        const errors = [
          { field: "inbound_allowed_addresses", message: INBOUND_OPEN },
          { field: "inbound_agent_id", message: INBOUND_OPEN },
        ];
        return json(422, { title: "Validation failed", status: 422, detail: INBOUND_OPEN, errors });
      }
      Object.assign(n, { inbound_agent: this.ref(b.inbound_agent_id), outbound_agent: this.ref(b.outbound_agent_id), version: (n.version ?? 1) + 1, sync: PENDING });
      return json(200, n);
    }
    const checkMatch = path.match(/^\/phone-numbers\/([^/]+)\/check$/);
    if (method === "POST" && checkMatch) {
      const n = this.numbers.find((x) => x.id === checkMatch[1]);
      if (!n) return json(404, { title: "Not Found", status: 404, detail: "Phone number not found" });
      n.last_check = this.checkResult;
      return json(200, this.checkResult);
    }
    const match = path.match(/^\/phone-numbers\/([^/]+)$/);
    if (match) {
      const n = this.numbers.find((x) => x.id === match[1]);
      if (!n) return json(404, { title: "Not Found", status: 404, detail: "Phone number not found" });
      if (method === "GET") return json(200, n);
      if (method === "DELETE") {
        this.numbers = this.numbers.filter((x) => x !== n);
        return new Response(null, { status: 204 });
      }
      if (method === "PATCH") {
        const b = call.body as Record<string, unknown>;
        for (const [k, v] of Object.entries(b)) {
          if (k === "sip_password") n.has_sip_password = v !== null;
          else if (k === "inbound_auth_password") n.has_inbound_auth_password = v !== null;
          else (n as unknown as Record<string, unknown>)[k] = v;
        }
        n.version = (n.version ?? 1) + 1;
        n.sync = PENDING;
        return json(200, n);
      }
    }
    if (method === "POST" && path === "/telephony/outbound-call") return json(this.callResponse.status, this.callResponse.body);
    if (method === "GET" && path === "/calls") {
      const number = url.searchParams.get("phone_number");
      const direction = url.searchParams.get("direction");
      const status = url.searchParams.get("status");
      const agent = url.searchParams.get("agent_id");
      const from = url.searchParams.get("started_from");
      const before = url.searchParams.get("started_before");
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const all = this.callRecords
        .filter((c) => !number || [c.phone_number, c.from_number, c.to_number].includes(number))
        .filter((c) => !direction || c.direction === direction)
        .filter((c) => !status || c.status === status)
        .filter((c) => !agent || c.agent?.id === agent)
        .filter((c) => !from || Date.parse(c.started_at) >= Date.parse(from))
        .filter((c) => !before || Date.parse(c.started_at) < Date.parse(before))
        .sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : b.id.localeCompare(a.id)));
      const items = all.slice(start, start + limit);
      return json(200, { items, next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    const callMatch = path.match(/^\/calls\/([^/]+)(\/transcript|\/hangup|\/recording)?$/);
    if (callMatch) {
      const c = this.callRecords.find((x) => x.id === callMatch[1]);
      if (!c) return json(404, { title: "Not Found", status: 404, detail: `Call ${callMatch[1]} not found` });
      if (method === "GET" && !callMatch[2]) return json(200, c);
      if (method === "GET" && callMatch[2] === "/transcript") {
        const t = this.transcripts[c.id];
        return t ? json(200, t) : json(404, { title: "Not Found", status: 404, detail: `Call ${c.id} has no transcript yet` });
      }
      if (method === "DELETE" && callMatch[2] === "/recording") {
        const role = roleOf(call.auth);
        if (role !== "owner" && role !== "admin") return json(403, { title: "Forbidden", status: 403, detail: "Only owners and admins may do this" });
        const r = c.recording;
        if (!r || r.status === "deleted") return json(404, { title: "Not Found", status: 404, detail: `Call ${c.id} has no recording` });
        if (r.status === "pending" || r.status === "failed") {
          return json(409, { title: "Conflict", status: 409, detail: `The recording of call ${c.id} is ${r.status}; only an available recording can be deleted` });
        }
        c.recording = { ...r, status: "deleted", deleted_at: "2026-12-07T12:00:00Z" };
        return json(200, c);
      }
      if (method === "POST" && callMatch[2] === "/hangup") {
        const role = roleOf(call.auth);
        if (role !== "owner" && role !== "admin") return json(403, { title: "Forbidden", status: 403, detail: "Only owners and admins may do this" });
        if (c.status === "completed" || c.status === "failed") {
          return json(409, { title: "Conflict", status: 409, detail: `Call ${c.id} has already ended (${c.status}); there is nothing to hang up` });
        }
        const now = "2026-12-07T11:00:00Z";
        if (c.status === "answered") Object.assign(c, { status: "completed", end_reason: "hung_up_by_user", ended_at: now, duration_s: 42, total_duration_s: 50 });
        else Object.assign(c, { status: "failed", failure_reason: "hung_up_by_user", ended_at: now, total_duration_s: 5 });
        return json(200, c);
      }
    }
    return json(404, { title: "Not Found", status: 404, detail: `No route ${method} ${path}` });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}
