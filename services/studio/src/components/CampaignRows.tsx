import { Loader2, Users } from "lucide-react";
import { useId } from "react";
import { formatTime } from "../lib/calls";
import { OUTCOME_LABELS, ROW_STATUS_HELP, ROW_STATUS_LABELS, ROW_STATUSES } from "../lib/campaigns";
import type { Attempt, CampaignRow, RowStatus } from "../lib/types";
import { callPath, followLink } from "../lib/route";

function AttemptLine({ attempt }: { attempt: Attempt }) {
  const outcome = attempt.outcome ? OUTCOME_LABELS[attempt.outcome] : "In progress";
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
