import { Megaphone, Plus } from "lucide-react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AppBar } from "./components/AppBar";
import { CampaignActions, CampaignHeader, CampaignProgress, CampaignSettingsCard, CancelCampaignDialog } from "./components/CampaignDetails";
import { CampaignRows } from "./components/CampaignRows";
import { CampaignList, CampaignStatusFilter } from "./components/CampaignList";
import { DoNotCallCard } from "./components/DoNotCallCard";
import { NewCampaign } from "./components/NewCampaign";
import { useToasts } from "./components/Toasts";
import { useApiErrors } from "./hooks/useApiErrors";
import { CAMPAIGN_POLL_MS, useCampaign, useCampaignList, useCampaignRows } from "./hooks/useCampaigns";
import { usePolling } from "./hooks/useCalls";
import { ApiError, type Api } from "./lib/api";
import { CampaignsApi, saveFile } from "./lib/campaignApi";
import { ACTION_LABELS, CAMPAIGN_STATUSES, isActive, rowStatusFromSearch } from "./lib/campaigns";
import type { CallCampaignRef, CampaignAction, CampaignStatus, RowStatus } from "./lib/campaignTypes";
import { isTyping, useLayout } from "./lib/hooks";
import { connectLiveEvents, type CloudEvent, type LiveState, type LiveSubject } from "./lib/realtime";
import { campaignIdOf, campaignPath, followLink, navigate, NEW_CAMPAIGN_PATH, ROUTE_PATHS, routeOf, useLocation } from "./lib/route";
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

/** Hears each event of the page's one live stream. */
type LiveListener = (subject: LiveSubject, event: CloudEvent) => void;

/** Without a running campaign on the list, how often it looks for changes. */
const IDLE_POLL_MS = 15_000;

/** The campaign a call event belongs to (`data.campaign`, null for other calls). */
function campaignOfEvent(data: unknown): CallCampaignRef | null {
  const ref = (data as { campaign?: CallCampaignRef | null } | null)?.campaign;
  return ref && typeof ref.id === "string" ? ref : null;
}

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

const CONFLICT_HINT: Record<CampaignAction, string> = {
  start: "only a draft can be started",
  pause: "only a running campaign can be paused",
  resume: "only a paused campaign can be resumed",
  cancel: "a completed or cancelled campaign cannot be cancelled",
};

function CampaignView({ id, campaigns, onEvent, live, canManage, search }: {
  id: string;
  campaigns: CampaignsApi;
  onEvent: (listener: LiveListener) => () => void;
  live: boolean;
  canManage: boolean;
  search: string;
}) {
  const errors = useApiErrors();
  const toasts = useToasts();
  const filter = rowStatusFromSearch(search);
  const { campaign, notFound, read, apply } = useCampaign(campaigns, id, errors.apiError);
  const rows = useCampaignRows(campaigns, id, filter, errors.apiError);
  const { refresh: refreshRows } = rows;
  const [busy, setBusy] = useState<CampaignAction | null>(null);
  const [confirmingCancel, setConfirmingCancel] = useState(false);
  const [downloading, setDownloading] = useState(false);

  const active = campaign ? isActive(campaign) : false;
  usePolling(live && active, CAMPAIGN_POLL_MS, () => {
    void read(true);
    void refreshRows();
  });
  // A call of this campaign changed (`data.campaign` on its event), or the campaign itself (its
  // `telephony.campaign.*` event, subject its id): read the campaign and its rows at once, once per
  // burst of events (a read, not the event's copy, so an event that arrives late never wins).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onEvent((subject, event) => {
      const ours = subject.startsWith("telephony.campaign.") ? event.subject === id : subject.startsWith("telephony.call.") && campaignOfEvent(event.data)?.id === id;
      if (!ours || timer) return;
      timer = setTimeout(() => {
        timer = null;
        void read(true);
        void refreshRows();
      }, 250);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [id, onEvent, read, refreshRows]);

  const setFilter = (status: RowStatus | null) => navigate(campaignPath(id, status));

  const act = async (action: CampaignAction) => {
    setBusy(action);
    try {
      const next = await campaigns.act(id, action);
      apply(next);
      void refreshRows();
      toasts.show({ tone: "success", message: `Campaign ${next.name}: ${action === "cancel" ? "cancelled" : action === "start" ? "started" : action === "pause" ? "paused" : "resumed"}` });
      setConfirmingCancel(false);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 0;
      if (status === 409) {
        toasts.show({ tone: "info", message: `${ACTION_LABELS[action]}: not possible now (${CONFLICT_HINT[action]}). ${error instanceof Error ? error.message : ""}`.trim() });
        setConfirmingCancel(false);
        void read(true);
      } else if (status === 403) {
        toasts.show({ tone: "error", message: "Only owners and admins can start, pause, resume or cancel campaigns." });
        setConfirmingCancel(false);
      } else {
        errors.apiError(error, `Could not ${ACTION_LABELS[action].toLowerCase()}`, () => void act(action));
      }
    } finally {
      setBusy(null);
    }
  };

  const download = async () => {
    setDownloading(true);
    try {
      const { blob, filename } = await campaigns.results(id);
      saveFile(blob, filename);
    } catch (error) {
      errors.apiError(error, "Could not download the results", () => void download());
    } finally {
      setDownloading(false);
    }
  };

  if (!campaign) {
    return notFound ? (
      <div className="no-selection">
        <Megaphone className="no-selection-icon" aria-hidden />
        <h2>Campaign not found</h2>
        <p className="muted">There is no campaign {id} in this organization.</p>
        <a className="button secondary" href={ROUTE_PATHS.campaigns} onClick={followLink}>
          All campaigns
        </a>
      </div>
    ) : (
      <p className="list-loading" role="status">
        Loading…
      </p>
    );
  }
  return (
    <div className="details campaign-details">
      <CampaignHeader campaign={campaign}>
        <CampaignActions
          campaign={campaign}
          canManage={canManage}
          busy={busy}
          downloading={downloading}
          onAction={(action) => (action === "cancel" ? setConfirmingCancel(true) : void act(action))}
          onDownload={() => void download()}
        />
      </CampaignHeader>
      {!canManage && campaign.status !== "completed" && campaign.status !== "cancelled" && (
        <p className="readonly-note" role="note">
          Only owners and admins can start, pause, resume or cancel campaigns.
        </p>
      )}
      <div className="cards campaign-cards">
        <CampaignProgress campaign={campaign} filter={filter} onFilter={setFilter} />
        <CampaignRows
          rows={rows.rows}
          loading={rows.loading}
          loadingMore={rows.loadingMore}
          hasMore={rows.nextCursor !== null}
          filter={filter}
          onFilter={setFilter}
          onLoadMore={() => void rows.loadMore()}
        />
        <CampaignSettingsCard campaign={campaign} />
      </div>
      {confirmingCancel && <CancelCampaignDialog campaign={campaign} onClose={() => setConfirmingCancel(false)} onConfirm={() => act("cancel")} />}
    </div>
  );
}
