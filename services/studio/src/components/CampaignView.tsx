import { Megaphone } from "lucide-react";
import { useEffect, useState } from "react";
import { useApiErrors } from "../hooks/useApiErrors";
import { usePolling } from "../hooks/useCalls";
import { CAMPAIGN_POLL_MS, useCampaign, useCampaignRows } from "../hooks/useCampaigns";
import { ApiError } from "../lib/api";
import { saveFile, type CampaignsApi } from "../lib/campaignApi";
import { ACTION_LABELS, isActive, rowStatusFromSearch } from "../lib/campaigns";
import type { CallCampaignRef, CampaignAction, RowStatus } from "../lib/types";
import type { LiveListener } from "../lib/realtime";
import { campaignPath, followLink, navigate, ROUTE_PATHS } from "../lib/route";
import { CampaignActions, CampaignHeader, CampaignProgress, CampaignSettingsCard, CancelCampaignDialog } from "./CampaignDetails";
import { CampaignRows } from "./CampaignRows";
import { useToasts } from "./Toasts";

/** The campaign a call event belongs to (`data.campaign`, null for other calls). */
function campaignOfEvent(data: unknown): CallCampaignRef | null {
  const ref = (data as { campaign?: CallCampaignRef | null } | null)?.campaign;
  return ref && typeof ref.id === "string" ? ref : null;
}

const CONFLICT_HINT: Record<CampaignAction, string> = {
  start: "only a draft can be started",
  pause: "only a running campaign can be paused",
  resume: "only a paused campaign can be resumed",
  cancel: "a completed or cancelled campaign cannot be cancelled",
};

/** `/telephony/campaigns/<id>`: progress, rows, settings, the actions its status allows, results. */
export function CampaignView({ id, campaigns, onEvent, live, canManage, search }: {
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
