import { ArrowLeft, Ban, Download, Loader2, Pause, Play, Settings2, Users } from "lucide-react";
import { useId, useRef, useState } from "react";
import { durationInWords, formatTime } from "../lib/calls";
import { ACTION_LABELS, allowedActions, etaText, OUTCOME_LABELS, ROW_STATUS_HELP, ROW_STATUS_LABELS, ROW_STATUSES } from "../lib/campaigns";
import { WEEKDAY_LABELS } from "../lib/campaignForm";
import type { Attempt, Campaign, CampaignAction, CampaignRow, RowStatus } from "../lib/campaignTypes";
import { callPath, followLink, ROUTE_PATHS } from "../lib/route";
import { CampaignStatusBadge, ProgressBar } from "./CampaignList";
import { Dialog } from "./Dialog";

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

function AttemptLine({ attempt }: { attempt: Attempt }) {
  const outcome = attempt.outcome ? OUTCOME_LABELS[attempt.outcome] : "Dialing";
  return (
    <li className="attempt" data-testid="attempt">
      <span className="attempt-number">#{attempt.number}</span> {outcome}
      {attempt.sip_status_code ? ` (SIP ${attempt.sip_status_code})` : ""}
      {attempt.call_id && (
        <>
          {" · "}
          <a href={callPath(attempt.call_id)} onClick={followLink} aria-label={`Call of attempt ${attempt.number}`}>
            call
          </a>
        </>
      )}
      {attempt.started_at && <span className="muted"> · {formatTime(attempt.started_at)}</span>}
      {attempt.detail && <span className="muted attempt-detail"> · {attempt.detail}</span>}
    </li>
  );
}

function RowItem({ row }: { row: CampaignRow }) {
  return (
    <tr data-testid="campaign-row-item" data-line={row.line}>
      <td className="num">{row.line}</td>
      <td className="mono">{row.to_number}</td>
      <td>
        <span className={`badge row-status row-status-${row.status}`} title={ROW_STATUS_HELP[row.status]}>
          {ROW_STATUS_LABELS[row.status]}
        </span>
        {row.next_attempt_at && row.status === "waiting_retry" && <span className="muted row-next"> next {formatTime(row.next_attempt_at)}</span>}
      </td>
      <td>
        {row.attempts.length === 0 ? (
          <span className="muted">None yet</span>
        ) : (
          <ol className="attempts">
            {row.attempts.map((a) => (
              <AttemptLine key={a.number} attempt={a} />
            ))}
          </ol>
        )}
      </td>
    </tr>
  );
}

/** The rows, filtered by status, with their attempts (each call links to its page). */
export function CampaignRows({ rows, loading, loadingMore, hasMore, filter, onFilter, onLoadMore }: {
  rows: CampaignRow[];
  loading: boolean;
  loadingMore: boolean;
  hasMore: boolean;
  filter: RowStatus | null;
  onFilter: (status: RowStatus | null) => void;
  onLoadMore: () => void;
}) {
  const id = useId();
  return (
    <section className="card card-wide" aria-label="Rows">
      <div className="card-header">
        <h3>
          <Users size={16} aria-hidden /> Rows
        </h3>
        <div className="field row-filter">
          <label htmlFor={id}>Status</label>
          <select id={id} value={filter ?? ""} onChange={(e) => onFilter((e.target.value || null) as RowStatus | null)}>
            <option value="">Any status</option>
            {ROW_STATUSES.map((s) => (
              <option key={s} value={s}>
                {ROW_STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {loading ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : rows.length === 0 ? (
        <p className="muted">{filter ? `No rows are ${ROW_STATUS_LABELS[filter].toLowerCase()}.` : "No rows."}</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table rows-table">
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Number</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <RowItem key={row.id} row={row} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {hasMore && !loading && (
        <button type="button" className="button secondary small" onClick={onLoadMore} disabled={loadingMore} aria-busy={loadingMore || undefined}>
          {loadingMore && <Loader2 size={16} className="spin" aria-hidden />}
          {loadingMore ? "Loading…" : "Load more rows"}
        </button>
      )}
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
  const [busy, setBusy] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  const left = campaign.counts.pending + campaign.counts.waiting_retry;
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title="Cancel this campaign?"
      size="sm"
      role="alertdialog"
      onClose={() => !busy && onClose()}
      initialFocus={keep}
      description={
        <>
          <p>
            {campaign.name} places no new calls{left > 0 ? `: ${left} ${left === 1 ? "number" : "numbers"} not called yet will not be` : ""}. Calls going on now are left to finish.
          </p>
          <p className="muted">A cancelled campaign cannot be started again.</p>
        </>
      }
    >
      <div className="dialog-actions">
        <button ref={keep} type="button" className="button secondary" onClick={onClose} disabled={busy}>
          Keep campaign
        </button>
        <button type="button" className="button danger" onClick={() => void confirm()} disabled={busy} aria-busy={busy || undefined}>
          {busy ? <Loader2 size={16} className="spin" aria-hidden /> : <Ban size={16} aria-hidden />}
          {busy ? "Cancelling…" : "Cancel campaign"}
        </button>
      </div>
    </Dialog>
  );
}
