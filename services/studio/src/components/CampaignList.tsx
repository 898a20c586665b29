import { Loader2, Megaphone } from "lucide-react";
import { memo, useId } from "react";
import { formatTime } from "../lib/calls";
import { CAMPAIGN_STATUS_LABELS, CAMPAIGN_STATUSES, finishedRows, progressPercent } from "../lib/campaigns";
import type { Campaign, CampaignStatus } from "../lib/types";
import { campaignPath, followLink } from "../lib/route";

export function CampaignStatusBadge({ status }: { status: CampaignStatus }) {
  return (
    <span className={`badge campaign-status campaign-status-${status}`} data-testid="campaign-status">
      {CAMPAIGN_STATUS_LABELS[status]}
    </span>
  );
}

/** Finished rows of all, as a bar with its numbers (the bar itself is a `progressbar`). */
export function ProgressBar({ campaign, label }: { campaign: Campaign; label: string }) {
  const percent = progressPercent(campaign.counts);
  return (
    <div className="progress">
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent}%`}>
        <div className="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <span className="progress-text">
        {finishedRows(campaign.counts)} of {campaign.counts.total} done · {percent}%
      </span>
    </div>
  );
}

const CampaignItem = memo(function CampaignItem({ campaign }: { campaign: Campaign }) {
  return (
    <li>
      <a className="campaign-row" href={campaignPath(campaign.id)} onClick={followLink} data-testid="campaign-row" data-campaign={campaign.id}>
        <span className="campaign-row-name">
          <span className="campaign-name">{campaign.name}</span>
          <span className="muted campaign-row-agent">{campaign.agent.name}</span>
        </span>
        <span className="campaign-row-status">
          <CampaignStatusBadge status={campaign.status} />
        </span>
        <span className="campaign-row-progress">
          <ProgressBar campaign={campaign} label={`${campaign.name} progress`} />
        </span>
        <span className="campaign-row-created" title="Created">
          {formatTime(campaign.created_at)}
        </span>
      </a>
    </li>
  );
});

/** The status filter of the list (`GET /campaigns?status=`). */
export function CampaignStatusFilter({ status, onChange }: { status: CampaignStatus | null; onChange: (status: CampaignStatus | null) => void }) {
  const id = useId();
  return (
    <div className="field campaign-filter">
      <label htmlFor={id}>Status</label>
      <select id={id} value={status ?? ""} onChange={(e) => onChange((e.target.value || null) as CampaignStatus | null)}>
        <option value="">Any status</option>
        {CAMPAIGN_STATUSES.map((s) => (
          <option key={s} value={s}>
            {CAMPAIGN_STATUS_LABELS[s]}
          </option>
        ))}
      </select>
    </div>
  );
}

interface Props {
  campaigns: Campaign[];
  loading: boolean;
  loadingMore: boolean;
  hasMore: boolean;
  filtered: boolean;
  onLoadMore: () => void;
}

/** The campaigns, newest first: name and agent, status, progress, created; "Load more" by cursor. */
export function CampaignList({ campaigns, loading, loadingMore, hasMore, filtered, onLoadMore }: Props) {
  if (loading) {
    return (
      <p className="list-loading" role="status">
        Loading…
      </p>
    );
  }
  if (campaigns.length === 0) {
    return (
      <div className="list-empty">
        <Megaphone size={40} aria-hidden />
        <p>{filtered ? "No campaigns with this status" : "No campaigns yet"}</p>
        <p className="helper">A campaign calls every number of a CSV file with one of your agents, within the hours you set.</p>
      </div>
    );
  }
  return (
    <>
      <div className="campaign-head" aria-hidden>
        <span>Campaign</span>
        <span>Status</span>
        <span>Progress</span>
        <span>Created</span>
      </div>
      <ul className="campaign-list" aria-label="Campaigns">
        {campaigns.map((c) => (
          <CampaignItem key={c.id} campaign={c} />
        ))}
      </ul>
      <div className="call-more">
        <span className="muted" role="status">
          {campaigns.length} {campaigns.length === 1 ? "campaign" : "campaigns"}
          {hasMore ? " shown" : ""}
        </span>
        {hasMore && (
          <button type="button" className="button secondary" onClick={onLoadMore} disabled={loadingMore} aria-busy={loadingMore || undefined}>
            {loadingMore && <Loader2 size={16} className="spin" aria-hidden />}
            {loadingMore ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
    </>
  );
}
