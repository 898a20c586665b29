import { ArrowLeft, Ban, Download, Loader2, Pause, Play, Settings2 } from "lucide-react";
import { durationInWords, formatTime } from "../lib/calls";
import { ACTION_LABELS, allowedActions, etaText, ROW_STATUS_HELP, ROW_STATUS_LABELS, ROW_STATUSES } from "../lib/campaigns";
import { WEEKDAY_LABELS } from "../lib/campaignForm";
import type { Campaign, CampaignAction, RowStatus } from "../lib/types";
import { followLink, ROUTE_PATHS } from "../lib/route";
import { CampaignStatusBadge, ProgressBar } from "./CampaignList";
import { ConfirmDialog } from "./ConfirmDialog";

const ACTION_ICONS = { start: Play, pause: Pause, resume: Play, cancel: Ban } as const;

/** The buttons a campaign's status allows (owners and admins), and the results download. */
export function CampaignActions({ campaign, canManage, busy, downloading, onAction, onDownload }: {
  campaign: Campaign;
  canManage: boolean;
  busy: CampaignAction | null;
  downloading: boolean;
  onAction: (action: CampaignAction) => void;
  onDownload: () => void;
}) {
  const actions = canManage ? allowedActions(campaign.status) : [];
  return (
    <div className="topbar-actions">
      {actions.map((action) => {
        const Icon = ACTION_ICONS[action];
        return (
          <button
            key={action}
            type="button"
            className={`button ${action === "cancel" ? "danger" : action === "pause" ? "secondary" : "green"}`}
            disabled={busy !== null}
            aria-busy={busy === action || undefined}
            onClick={() => onAction(action)}
          >
            {busy === action ? <Loader2 size={16} className="spin" aria-hidden /> : <Icon size={16} aria-hidden />}
            {ACTION_LABELS[action]}
          </button>
        );
      })}
      <button type="button" className="button secondary" onClick={onDownload} disabled={downloading} aria-busy={downloading || undefined}>
        {downloading ? <Loader2 size={16} className="spin" aria-hidden /> : <Download size={16} aria-hidden />}
        {downloading ? "Preparing…" : "Download results"}
      </button>
    </div>
  );
}

/** Counts by row status (each a link to the rows with that status), calls in progress and the ETA. */
export function CampaignProgress({ campaign, filter, onFilter }: { campaign: Campaign; filter: RowStatus | null; onFilter: (status: RowStatus | null) => void }) {
  return (
    <section className="card card-wide" aria-label="Progress">
      <h3>Progress</h3>
      <ProgressBar campaign={campaign} label="Campaign progress" />
      <dl className="stats" data-testid="campaign-counts">
        <div className="stat">
          <dt>Calls in progress</dt>
          <dd data-testid="calls-in-progress">{campaign.calls_in_progress}</dd>
        </div>
        <div className="stat">
          <dt>Time left</dt>
          <dd data-testid="campaign-eta">
            {etaText(campaign)}
            {campaign.status === "running" && campaign.eta_at && <span className="muted stat-note"> (done around {formatTime(campaign.eta_at)})</span>}
          </dd>
        </div>
      </dl>
      <ul className="count-list" aria-label="Rows by status">
        {ROW_STATUSES.map((status) => (
          <li key={status}>
            <button
              type="button"
              className={`count count-${status}`}
              aria-pressed={filter === status}
              title={ROW_STATUS_HELP[status]}
              onClick={() => onFilter(filter === status ? null : status)}
              data-testid={`count-${status}`}
            >
              <span className="count-value">{campaign.counts[status]}</span>
              <span className="count-label">{ROW_STATUS_LABELS[status]}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The campaign's settings as it runs them. */
export function CampaignSettingsCard({ campaign }: { campaign: Campaign }) {
  const { windows, pacing, retry } = campaign;
  const retried = [retry.on.busy && "busy", retry.on.no_answer && "no answer", retry.on.agent_failed && "agent failure", retry.on.failed.length > 0 && `SIP ${retry.on.failed.join(", ")}`].filter(Boolean);
  return (
    <section className="card card-wide" aria-label="Settings">
      <h3>
        <Settings2 size={16} aria-hidden /> Settings
      </h3>
      <dl className="facts">
        <dt>Agent</dt>
        <dd>
          <a href={`${ROUTE_PATHS.agents}?agent=${encodeURIComponent(campaign.agent.id)}`} onClick={followLink}>
            {campaign.agent.name}
          </a>
        </dd>
        <dt>Call from</dt>
        <dd>{campaign.from_numbers.join(", ")}</dd>
        <dt>Window</dt>
        <dd>
          {windows ? (
            <>
              {windows.days.map((d) => WEEKDAY_LABELS[d]).join(", ")}, {windows.start}–{windows.end} callee's time
              {windows.blackout_dates.length > 0 && `; not on ${windows.blackout_dates.join(", ")}`}
            </>
          ) : (
            "Any day, any time"
          )}
        </dd>
        <dt>Pacing</dt>
        <dd>
          {pacing.calls_per_second} {pacing.calls_per_second === 1 ? "call" : "calls"} per second, at most {pacing.max_concurrent} at once
        </dd>
        <dt>Retries</dt>
        <dd>
          {retry.max_attempts <= 1
            ? "None: one attempt per number"
            : `Up to ${retry.max_attempts} attempts, ${durationInWords(retry.delay_s)} apart, on ${retried.length ? retried.join(", ") : "no outcome"}`}
        </dd>
        <dt>Not before</dt>
        <dd>{campaign.start_at ? formatTime(campaign.start_at) : "As soon as started"}</dd>
        <dt>Created</dt>
        <dd>{formatTime(campaign.created_at)}</dd>
        {campaign.started_at && (
          <>
            <dt>Started</dt>
            <dd>{formatTime(campaign.started_at)}</dd>
          </>
        )}
        {campaign.completed_at && (
          <>
            <dt>{campaign.status === "cancelled" ? "Cancelled" : "Completed"}</dt>
            <dd>{formatTime(campaign.completed_at)}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

/** A campaign's page header: back link, name, status, id. */
export function CampaignHeader({ campaign, children }: { campaign: Campaign; children: React.ReactNode }) {
  return (
    <>
      <a className="back-link" href={ROUTE_PATHS.campaigns} onClick={followLink}>
        <ArrowLeft size={16} aria-hidden /> All campaigns
      </a>
      <div className="topbar">
        <div>
          <div className="topbar-line">
            <h1 className="details-number campaign-title">{campaign.name}</h1>
            <CampaignStatusBadge status={campaign.status} />
          </div>
          <p className="details-id muted">ID: {campaign.id}</p>
        </div>
        {children}
      </div>
    </>
  );
}

/** "Cancel campaign": confirm, then `POST /campaigns/{id}/cancel`. */
export function CancelCampaignDialog({ campaign, onClose, onConfirm }: { campaign: Campaign; onClose: () => void; onConfirm: () => Promise<void> }) {
  const left = campaign.counts.pending + campaign.counts.waiting_retry;
  return (
    <ConfirmDialog
      title="Cancel this campaign?"
      description={
        <>
          <p>
            {campaign.name} places no new calls{left > 0 ? `: ${left} ${left === 1 ? "number" : "numbers"} not called yet will not be` : ""}. Calls going on now are left to finish.
          </p>
          <p className="muted">A cancelled campaign cannot be started again.</p>
        </>
      }
      confirmLabel="Cancel campaign"
      busyLabel="Cancelling…"
      icon={<Ban size={16} aria-hidden />}
      cancelLabel="Keep campaign"
      onClose={onClose}
      onConfirm={onConfirm}
    />
  );
}
