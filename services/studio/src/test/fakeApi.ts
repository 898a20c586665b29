/** An in-memory numbers-api and call-orchestrator behind `fetch`, for component tests. */
import type { Agent, PhoneNumber, Role } from "../lib/types";

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

/** numbers-api resets a number's sync to pending with every change (a new version for trunk-sync). */
const PENDING = { state: "pending", error: null, synced_at: null } as const;

let counter = 0;
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
    status: "inactive",
    sync: { state: "pending", error: null, synced_at: null },
    version: 1,
    created_at: `2025-01-01T00:00:${String(counter % 60).padStart(2, "0")}Z`,
    updated_at: "2025-01-01T00:00:00Z",
    ...extra,
  };
}

export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

type Override = (call: Call) => { status: number; body?: unknown } | undefined;

export class FakeApi {
  agents: Agent[] = [];
  numbers: PhoneNumber[] = [];
  calls: Call[] = [];
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
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      auth: headers.get("Authorization"),
    };
    this.calls.push(call);
    for (const override of this.overrides) {
      const r = override(call);
      if (r) return json(r.status, r.body);
    }
    return this.route(call, url);
  };

  requests(method: string, prefix: string): Call[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(prefix));
  }

  private ref(id: string | null) {
    const a = this.agents.find((x) => x.id === id);
    return a ? { id: a.id, name: a.name, architecture: a.architecture } : null;
  }

  private route(call: Call, url: URL): Response {
    const { method } = call;
    const path = url.pathname;
    if (method === "GET" && path === "/agents") return json(200, { items: this.agents, next_cursor: null });
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
      const b = call.body as Record<string, string>;
      if (this.numbers.some((n) => n.phone_number === b.phone_number)) {
        return json(409, { title: "Conflict", status: 409, detail: "Phone number +12025550100 is already registered" });
      }
      const created = number(b.phone_number, {
        termination_uri: b.termination_uri ?? null,
        sip_username: b.sip_username ?? null,
        has_sip_password: Boolean(b.sip_password),
      });
      this.numbers.push(created);
      return json(201, created);
    }
    if (method === "PUT" && path === "/phone-numbers/agent-assignments") {
      const b = call.body as { phone_number: string; inbound_agent_id: string | null; outbound_agent_id: string | null };
      const n = this.numbers.find((x) => x.phone_number === b.phone_number);
      if (!n) return json(404, { title: "Not Found", status: 404, detail: "Phone number not found" });
      Object.assign(n, { inbound_agent: this.ref(b.inbound_agent_id), outbound_agent: this.ref(b.outbound_agent_id), version: (n.version ?? 1) + 1, sync: PENDING });
      return json(200, n);
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
          else (n as unknown as Record<string, unknown>)[k] = v;
        }
        n.version = (n.version ?? 1) + 1;
        n.sync = PENDING;
        return json(200, n);
      }
    }
    if (method === "POST" && path === "/telephony/outbound-call") return json(this.callResponse.status, this.callResponse.body);
    return json(404, { title: "Not Found", status: 404, detail: `No route ${method} ${path}` });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" },
  });
}
