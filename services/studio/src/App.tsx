import { LogOut } from "lucide-react";
import { useCallback, useEffect, useId, useMemo, useState } from "react";
import { SignIn } from "./components/SignIn";
import { useToasts } from "./components/Toasts";
import { Api, type Fetch } from "./lib/api";
import { decodeToken, forgetOrg, isExpired, loadSession, rememberedOrgs, saveSession, takeTokenFromUrl, type Session } from "./lib/session";
import { AgentsPage } from "./AgentsPage";
import { CallsPage } from "./CallsPage";
import { CampaignsPage } from "./CampaignsPage";
import { useRoute } from "./lib/route";
import { PhoneNumbersPage } from "./PhoneNumbersPage";

const OTHER = "__other__";

function initialSession(): Session | null {
  const handedIn = takeTokenFromUrl();
  if (handedIn && !isExpired(handedIn)) {
    saveSession(handedIn);
    return handedIn;
  }
  return loadSession();
}

/** The organization switcher: remembered organizations, each with its last token (or a fresh dev token). */
function OrgSwitcher({ session, onSwitch, onOther, onSignOut }: { session: Session; onSwitch: (orgId: string) => void; onOther: () => void; onSignOut: () => void }) {
  const id = useId();
  const orgs = rememberedOrgs();
  return (
    <>
      <label htmlFor={id} className="sr-only">
        Organization
      </label>
      <select
        id={id}
        className="org-select"
        value={session.orgId}
        onChange={(e) => (e.target.value === OTHER ? onOther() : onSwitch(e.target.value))}
      >
        {orgs.map((o) => (
          <option key={o.orgId} value={o.orgId}>
            {o.orgId}
          </option>
        ))}
        {!orgs.some((o) => o.orgId === session.orgId) && <option value={session.orgId}>{session.orgId}</option>}
        <option value={OTHER}>Another organization…</option>
      </select>
      <span className={`role role-${session.role}`} title="Your role in this organization">
        {session.role}
      </span>
      <button type="button" className="icon-button" aria-label="Sign out" title="Sign out" onClick={onSignOut}>
        <LogOut size={18} aria-hidden />
      </button>
    </>
  );
}

export function App({ fetchImpl, live = true, maxLoaded }: { fetchImpl?: Fetch; live?: boolean; maxLoaded?: number }) {
  const toasts = useToasts();
  const [session, setSession] = useState<Session | null>(initialSession);
  const [signInDefaults, setSignInDefaults] = useState<{ orgId?: string; role?: Session["role"] }>({});
  const api = useMemo(() => new Api(session?.token ?? null, fetchImpl), [fetchImpl, session?.token]);
  const route = useRoute();

  const signIn = useCallback((next: Session | null) => {
    saveSession(next);
    setSession(next);
  }, []);

  // A token expires: back to the organization choice.
  useEffect(() => {
    if (!session?.exp) return;
    const ms = session.exp * 1000 - Date.now();
    const timer = setTimeout(() => signIn(null), Math.max(0, Math.min(ms, 2_147_000_000)));
    return () => clearTimeout(timer);
  }, [session, signIn]);

  const switchOrg = useCallback(
    async (orgId: string) => {
      const known = rememberedOrgs().find((o) => o.orgId === orgId);
      if (known && !isExpired(known)) {
        signIn(known);
        return;
      }
      try {
        const fresh = decodeToken((await new Api(null, fetchImpl).devToken(orgId, known?.role ?? "owner")).access_token);
        if (fresh) {
          signIn(fresh);
          return;
        }
      } catch {
        /* no dev sign-in here: ask */
      }
      forgetOrg(orgId);
      toasts.show({ tone: "info", message: `Your session for ${orgId} has expired; sign in again.` });
      setSignInDefaults({ orgId, role: known?.role });
      signIn(null);
    },
    [fetchImpl, signIn, toasts],
  );

  if (!session) {
    return (
      <div className="app">
        <header className="appbar">
          <span className="brand">
            TalkifAI <span className="muted">Studio · Telephony</span>
          </span>
        </header>
        <SignIn api={new Api(null, fetchImpl)} onSignedIn={signIn} initialOrgId={signInDefaults.orgId} initialRole={signInDefaults.role} />
      </div>
    );
  }
  const Page =
    route === "agents"
      ? AgentsPage
      : route === "calls" || route === "call"
        ? CallsPage
        : route === "campaigns" || route === "campaign" || route === "campaign-new"
          ? CampaignsPage
          : PhoneNumbersPage;
  return (
    <Page
      // A new organization (or token, or page) is a new page: state, streams and subscriptions start over.
      key={`${route}:${session.orgId}:${session.token}`}
      session={session}
      api={api}
      live={live}
      maxLoaded={maxLoaded}
      accountControls={
        <OrgSwitcher
          session={session}
          onSwitch={(orgId) => void switchOrg(orgId)}
          onOther={() => {
            setSignInDefaults({});
            saveSession(null);
            setSession(null);
          }}
          onSignOut={() => {
            setSignInDefaults({ orgId: session.orgId, role: session.role });
            signIn(null);
          }}
        />
      }
    />
  );
}
