import { AlertTriangle, Building2, Loader2, LogIn } from "lucide-react";
import { useId, useState, type FormEvent } from "react";
import { Api, ApiError } from "../lib/api";
import { decodeToken, isExpired, rememberedOrgs, type Session } from "../lib/session";
import type { Role } from "../lib/types";

interface Props {
  onSignedIn: (session: Session) => void;
  initialOrgId?: string;
  initialRole?: Role;
  api?: Api;
}

/** No organization yet: the seed's yellow box, then a dev sign-in (organization and role) or a token. */
export function SignIn({ onSignedIn, initialOrgId = "", initialRole = "owner", api = new Api(null) }: Props) {
  const [orgId, setOrgId] = useState(initialOrgId);
  const [role, setRole] = useState<Role>(initialRole);
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const orgField = useId();
  const roleField = useId();
  const tokenField = useId();
  const remembered = rememberedOrgs();

  const signIn = async (event: FormEvent) => {
    event.preventDefault();
    if (!orgId.trim()) {
      setError("Enter an organization ID");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const response = await api.devToken(orgId.trim(), role);
      const session = decodeToken(response.access_token);
      if (!session) throw new ApiError(500, {}, "The server returned an unreadable token");
      onSignedIn(session);
    } catch (e) {
      const err = e as ApiError;
      setError(
        err.status === 404
          ? "Dev sign-in is not available on this server (dev mode is off). Sign in through your gateway, or paste an access token below."
          : err.message,
      );
    } finally {
      setBusy(false);
    }
  };

  const useToken = (event: FormEvent) => {
    event.preventDefault();
    const session = decodeToken(token.trim());
    if (!session) setError("That is not a token with an organization and a role");
    else if (isExpired(session)) setError("That token has expired");
    else onSignedIn(session);
  };

  return (
    <main className="signin" id="main">
      <div className="warning-box" role="alert">
        <AlertTriangle size={18} aria-hidden /> Please select an organization first
      </div>
      {remembered.length > 0 && (
        <section className="card" aria-labelledby="remembered-title">
          <h2 id="remembered-title">Your organizations</h2>
          <ul className="org-list">
            {remembered.map((s) => (
              <li key={s.orgId}>
                <button
                  type="button"
                  className="button secondary"
                  onClick={() => {
                    setOrgId(s.orgId);
                    setRole(s.role);
                    if (!isExpired(s)) onSignedIn(s);
                  }}
                >
                  <Building2 size={16} aria-hidden /> {s.orgId} <span className="muted">({s.role})</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <form className="card" onSubmit={signIn} aria-labelledby="signin-title">
        <h2 id="signin-title">Sign in (development)</h2>
        <p className="muted">Choose an organization and a role; the local numbers-api signs a token for them.</p>
        <div className="field">
          <label htmlFor={orgField}>Organization ID</label>
          <input id={orgField} value={orgId} onChange={(e) => setOrgId(e.target.value)} placeholder="org_demo" autoComplete="organization" />
        </div>
        <div className="field">
          <label htmlFor={roleField}>Role</label>
          <select id={roleField} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="owner">Owner</option>
            <option value="admin">Admin</option>
            <option value="member">Member</option>
          </select>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? <Loader2 size={16} className="spin" aria-hidden /> : <LogIn size={16} aria-hidden />} Sign in
        </button>
      </form>
      <form className="card" onSubmit={useToken} aria-labelledby="token-title">
        <h2 id="token-title">Or use an access token</h2>
        <div className="field">
          <label htmlFor={tokenField}>Access token (JWT)</label>
          <input id={tokenField} value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" spellCheck={false} />
        </div>
        <button type="submit" className="button secondary" disabled={!token.trim()}>
          Use token
        </button>
      </form>
    </main>
  );
}
