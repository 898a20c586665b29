/** call-orchestrator's campaign and do-not-call routes (issue 22's contract) in memory, as an
 * override of `FakeApi`: `api.overrides.push(campaigns.route)`. */
import type { Campaign, CampaignRow, DoNotCallEntry, PreviewRow, RejectedRow, RowStatus } from "../lib/types";
import { parseCsv } from "../lib/campaigns";
import type { Call } from "./fakeApi";

const NOW = "2026-12-08T10:00:00Z";
const E164 = /^\+[1-9]\d{9,14}$/;

export function campaign(id: string, name: string, extra: Partial<Campaign> = {}): Campaign {
  return {
    id,
    name,
    status: "draft",
    agent: { id: "agent_b", name: "Sales Agent" },
    from_numbers: ["+12025550100"],
    windows: { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "20:00", blackout_dates: [] },
    pacing: { calls_per_second: 1, max_concurrent: 2 },
    retry: { max_attempts: 3, delay_s: 3600, on: { busy: true, no_answer: true, failed: ["500-599"], agent_failed: true } },
    start_at: null,
    ringing_timeout_s: null,
    counts: { total: 10, pending: 10, in_progress: 0, waiting_retry: 0, completed: 0, failed: 0, do_not_call: 0, cancelled: 0 },
    calls_in_progress: 0,
    eta_at: null,
    created_at: NOW,
    started_at: null,
    completed_at: null,
    updated_at: NOW,
    created_by: "user-1",
    ...extra,
  };
}

export function campaignRow(id: string, line: number, status: RowStatus = "pending", extra: Partial<CampaignRow> = {}): CampaignRow {
  return { id, line, to_number: `+1202555${String(1000 + line).slice(-4)}`, time_zone: null, metadata: {}, status, attempts: [], next_attempt_at: null, ...extra };
}

const TRANSITIONS: Record<string, [Campaign["status"][], Campaign["status"]]> = {
  start: [["draft"], "running"],
  pause: [["running"], "paused"],
  resume: [["paused"], "running"],
  cancel: [["draft", "running", "paused"], "cancelled"],
};

function json(status: number, body: unknown) {
  return { status, body };
}

export class FakeCampaigns {
  campaigns: Campaign[] = [];
  rows: Record<string, CampaignRow[]> = {};
  dnc: DoNotCallEntry[] = [];
  pageSize = 25;
  /** The next create's problem answer (then cleared). */
  createProblem: { status: number; body: unknown } | null = null;

  route = (call: Call): ReturnType<typeof json> | Response | undefined => {
    const url = new URL(call.path, "http://studio.test");
    const path = url.pathname;
    const q = url.searchParams;
    if (path === "/campaigns" && call.method === "GET") {
      const all = this.campaigns.filter((c) => !q.get("status") || c.status === q.get("status"));
      const start = Number(q.get("cursor") ?? 0);
      const limit = Math.min(Number(q.get("limit") ?? this.pageSize), this.pageSize);
      return json(200, { campaigns: all.slice(start, start + limit), next_cursor: start + limit < all.length ? String(start + limit) : null });
    }
    if (path === "/campaigns" && call.method === "POST") return this.create(call, q.get("dry_run") === "true");
    const m = path.match(/^\/campaigns\/([^/]+)(?:\/(rows|results\.csv|start|pause|resume|cancel))?$/);
    if (m) {
      const c = this.campaigns.find((x) => x.id === m[1]);
      if (!c) return json(404, { title: "Not Found", status: 404, detail: `No campaign ${m[1]}` });
      if (!m[2] && call.method === "GET") return json(200, c);
      if (m[2] === "rows") {
        const rows = (this.rows[c.id] ?? []).filter((r) => !q.get("status") || r.status === q.get("status"));
        return json(200, { rows, next_cursor: null });
      }
      if (m[2] === "results.csv") {
        return new Response("line,to_number,status\n2,+12025551002,completed\n", {
          status: 200,
          headers: { "Content-Type": "text/csv", "Content-Disposition": 'attachment; filename="december-results.csv"' },
        });
      }
      const [from, to] = TRANSITIONS[m[2] ?? ""] ?? [[], c.status];
      if (!from.includes(c.status)) return json(409, { title: "Conflict", status: 409, detail: `Cannot ${m[2]} a campaign that is ${c.status}` });
      Object.assign(c, { status: to });
      return json(200, c);
    }
    if (path === "/do-not-call" && call.method === "GET") return json(200, { numbers: this.dnc, next_cursor: null });
    if (path === "/do-not-call" && call.method === "POST") {
      const { numbers, reason } = call.body as { numbers: string[]; reason?: string };
      const fresh = numbers.filter((n) => !this.dnc.some((d) => d.number === n));
      this.dnc.push(...fresh.map((number) => ({ number, reason: reason ?? null, added_at: NOW, added_by: "user-1" })));
      return json(200, { added: fresh.length });
    }
    const d = path.match(/^\/do-not-call\/(.+)$/);
    if (d && call.method === "DELETE") {
      const number = decodeURIComponent(d[1]);
      if (!this.dnc.some((x) => x.number === number)) return json(404, { title: "Not Found", status: 404, detail: "Not on the list" });
      this.dnc = this.dnc.filter((x) => x.number !== number);
      return json(204, undefined);
    }
    return undefined;
  };

  private create(call: Call, dryRun: boolean) {
    const form = call.body as { file: string; campaign: string };
    const settings = JSON.parse(form.campaign) as { name: string };
    const [header, ...records] = parseCsv(form.file).records;
    const col = header.indexOf("to_number");
    const accepted: PreviewRow[] = [];
    const rejected: RejectedRow[] = [];
    records.forEach((record, i) => {
      const n = record[col] ?? "";
      if (!E164.test(n)) rejected.push({ line: i + 2, to_number: n, reason: "Invalid number" });
      else accepted.push({ line: i + 2, to_number: n, time_zone: null, metadata: {} });
    });
    if (dryRun) return json(200, { accepted: accepted.length, rejected_rows: rejected, rejected_count: rejected.length, preview: accepted.slice(0, 20) });
    if (this.createProblem) {
      const problem = this.createProblem;
      this.createProblem = null;
      return problem;
    }
    const created = campaign(`cmp_${this.campaigns.length + 1}`, settings.name, {
      counts: { total: accepted.length, pending: accepted.length, in_progress: 0, waiting_retry: 0, completed: 0, failed: 0, do_not_call: 0, cancelled: 0 },
    });
    this.campaigns.unshift(created);
    return json(201, { ...created, rejected_rows: rejected, rejected_count: rejected.length });
  }
}
