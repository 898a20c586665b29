import { Megaphone, Plus } from "lucide-react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AppBar } from "./components/AppBar";
import { CampaignList, CampaignStatusFilter } from "./components/CampaignList";
import { CampaignView } from "./components/CampaignView";
import { DoNotCallCard } from "./components/DoNotCallCard";
import { NewCampaign } from "./components/NewCampaign";
import { useApiErrors } from "./hooks/useApiErrors";
import { CAMPAIGN_POLL_MS, useCampaignList } from "./hooks/useCampaigns";
import { usePolling } from "./hooks/useCalls";
import type { Api } from "./lib/api";
import { CampaignsApi } from "./lib/campaignApi";
import { CAMPAIGN_STATUSES } from "./lib/campaigns";
import type { CampaignStatus } from "./lib/types";
import { isTyping, useLayout } from "./lib/hooks";
import { connectLiveEvents, type LiveListener, type LiveState } from "./lib/realtime";
import { campaignIdOf, followLink, navigate, NEW_CAMPAIGN_PATH, ROUTE_PATHS, routeOf, useLocation } from "./lib/route";
import type { Session } from "./lib/session";

interface Props {
  session: Session;
  api: Api;
  /** Rendered in the top bar (organization switcher, sign out). */
  accountControls: React.ReactNode;
  /** Connect to the live event stream and read running campaigns again (off in component tests). */
  live?: boolean;
  /** At most this many phone numbers are offered as caller IDs. */
  maxLoaded?: number;
}

/** Without a running campaign on the list, how often it looks for changes. */
const IDLE_POLL_MS = 15_000;

/** The Campaigns page: the list and the do-not-call list at `/telephony/campaigns`, a new campaign at
 * `/telephony/campaigns/new`, one campaign at `/telephony/campaigns/<id>`. */
export function CampaignsPage({ session, api, accountControls, live = true, maxLoaded = 5_000 }: Props) {
  const layout = useLayout();
  const location = useLocation();
  const [pathname, search = ""] = location.split("?");
  const route = routeOf(pathname);
  const id = campaignIdOf(pathname);
  const campaigns = useMemo(() => new CampaignsApi(api), [api]);
  const canManage = session.role === "owner" || session.role === "admin";
  // One connection to the live stream for the page; the list and a campaign's view listen on it.
  const listeners = useRef(new Set<LiveListener>());
  const [liveState, setLiveState] = useState<LiveState>("offline");
  useEffect(() => {
    if (!live) return;
    return connectLiveEvents(session.token, (subject, event) => listeners.current.forEach((listener) => listener(subject, event)), setLiveState);
  }, [live, session.token]);
  const onEvent = useCallback((listener: LiveListener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);
  return (
    <div className={`app layout-${layout} page-campaigns`}>
      <AppBar page="campaigns" layout={layout} drawerOpen={false} liveState={liveState} accountControls={accountControls} />
      <main className="main" id="main" tabIndex={-1}>
        {route === "campaign-new" ? (
          canManage ? (
            <NewCampaign api={api} campaigns={campaigns} maxLoaded={maxLoaded} />
          ) : (
            <ReadOnly />
          )
        ) : id ? (
          <CampaignView key={id} id={id} campaigns={campaigns} onEvent={onEvent} live={live} canManage={canManage} search={search} />
        ) : (
          <Campaigns campaigns={campaigns} onEvent={onEvent} live={live} canManage={canManage} search={search} />
        )}
      </main>
    </div>
  );
}

function ReadOnly() {
  return (
    <div className="no-selection">
      <Megaphone className="no-selection-icon" aria-hidden />
      <h2>Only owners and admins can create campaigns</h2>
      <a className="button secondary" href={ROUTE_PATHS.campaigns} onClick={followLink}>
        All campaigns
      </a>
    </div>
  );
}

function listStatus(search: string): CampaignStatus | null {
  const status = new URLSearchParams(search).get("status");
  return status && (CAMPAIGN_STATUSES as string[]).includes(status) ? (status as CampaignStatus) : null;
}

function Campaigns({ campaigns, onEvent, live, canManage, search }: {
  campaigns: CampaignsApi;
  onEvent: (listener: LiveListener) => () => void;
  live: boolean;
  canManage: boolean;
  search: string;
}) {
  const errors = useApiErrors();
  const status = listStatus(search);
  const list = useCampaignList(campaigns, status, errors.apiError);
  const { refresh } = list;
  usePolling(live, list.hasActive ? CAMPAIGN_POLL_MS : IDLE_POLL_MS, () => void refresh());
  // N: a new campaign (owners and admins), as N adds a number or an agent on their pages.
  useEffect(() => {
    if (!canManage) return;
    const onKeyDown = (event: KeyboardEvent) => {
      if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey || document.querySelector("[aria-modal='true']")) return;
      if (event.key.toLowerCase() === "n") {
        event.preventDefault();
        navigate(NEW_CAMPAIGN_PATH);
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [canManage]);
  // A campaign created, started, paused, resumed, cancelled or completed: read the first page again.
  useEffect(
    () =>
      onEvent((subject) => {
        if (subject.startsWith("telephony.campaign.")) void refresh();
      }),
    [onEvent, refresh],
  );
  return (
    <div className="calls campaigns">
      <div className="calls-header">
        <span className="header-icon" aria-hidden>
          <Megaphone size={18} />
        </span>
        <h1>Campaigns</h1>
        {canManage && (
          <a className="button primary campaigns-new" href={NEW_CAMPAIGN_PATH} onClick={followLink}>
            <Plus size={16} aria-hidden /> New campaign
          </a>
        )}
      </div>
      {!canManage && (
        <p className="readonly-note" role="note">
          Only owners and admins can create, start, pause and cancel campaigns.
        </p>
      )}
      <div className="call-filters campaign-filters">
        <CampaignStatusFilter status={status} onChange={(s) => navigate(s ? `${ROUTE_PATHS.campaigns}?status=${s}` : ROUTE_PATHS.campaigns)} />
      </div>
      <CampaignList
        campaigns={list.items}
        loading={list.loading}
        loadingMore={list.loadingMore}
        hasMore={list.nextCursor !== null}
        filtered={status !== null}
        onLoadMore={() => void list.loadMore()}
      />
      <DoNotCallCard campaigns={campaigns} canManage={canManage} />
    </div>
  );
}
