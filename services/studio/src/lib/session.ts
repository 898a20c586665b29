/** Who is signed in, for which organization; organizations are remembered in localStorage. */
import type { Role } from "./types";

export interface Session {
  token: string;
  orgId: string;
  role: Role;
  sub: string;
  /** Seconds since the epoch, from the token's `exp`. */
  exp: number | null;
}

const SESSION_KEY = "talkifai.studio.session";
const ORGS_KEY = "talkifai.studio.orgs";

/** The claims of a JWT, read without verifying (the server verifies). */
export function decodeToken(token: string): Session | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const role = claims.role;
    if (typeof claims.org_id !== "string" || !claims.org_id) return null;
    if (role !== "owner" && role !== "admin" && role !== "member") return null;
    return {
      token,
      orgId: claims.org_id,
      role,
      sub: typeof claims.sub === "string" ? claims.sub : "",
      exp: typeof claims.exp === "number" ? claims.exp : null,
    };
  } catch {
    return null;
  }
}

export function isExpired(session: Session, now = Date.now()): boolean {
  return session.exp !== null && session.exp * 1000 <= now + 5_000;
}

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    /* storage full or disabled: the session lives in memory only */
  }
}

export function loadSession(): Session | null {
  const stored = read<{ token?: string } | null>(SESSION_KEY, null);
  const session = stored?.token ? decodeToken(stored.token) : null;
  return session && !isExpired(session) ? session : null;
}

export function saveSession(session: Session | null): void {
  write(SESSION_KEY, session ? { token: session.token } : null);
  if (session) rememberOrg(session);
}

/** Remembered organizations, newest first, each with its last token (used while it is valid). */
export function rememberedOrgs(): Session[] {
  return read<{ token: string }[]>(ORGS_KEY, [])
    .map((o) => decodeToken(o.token))
    .filter((s): s is Session => s !== null);
}

export function rememberOrg(session: Session): void {
  const others = rememberedOrgs().filter((s) => s.orgId !== session.orgId);
  write(ORGS_KEY, [session, ...others].slice(0, 20).map((s) => ({ token: s.token })));
}

export function forgetOrg(orgId: string): void {
  write(ORGS_KEY, rememberedOrgs().filter((s) => s.orgId !== orgId).map((s) => ({ token: s.token })));
}

/** A token handed in as `#token=<jwt>` (automation, gateway hand-off); removed from the URL. */
export function takeTokenFromUrl(win: Window = window): Session | null {
  const hash = win.location.hash.replace(/^#/, "");
  if (!hash) return null;
  const params = new URLSearchParams(hash);
  const token = params.get("token");
  if (!token) return null;
  params.delete("token");
  const rest = params.toString();
  const url = win.location.pathname + win.location.search + (rest ? `#${rest}` : "");
  win.history.replaceState(win.history.state, "", url);
  return decodeToken(token);
}
