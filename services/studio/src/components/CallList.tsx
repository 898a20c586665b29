import { History, Loader2, PhoneIncoming, PhoneOutgoing } from "lucide-react";
import { memo, useId } from "react";
import { CALL_DIRECTIONS, CALL_STATUSES, counterpart, DIRECTION_LABELS, formatDuration, formatMoney, formatTime, isLive, STATUS_LABELS } from "../lib/calls";
import { callPath, followLink } from "../lib/route";
import type { CallFilters, CallRecord, CallStatus } from "../lib/types";

export function CallStatusBadge({ status }: { status: CallStatus }) {
  return (
    <span className={`badge call-status call-status-${status}${isLive({ status }) ? " call-status-live" : ""}`} data-testid="call-status">
      {STATUS_LABELS[status]}
    </span>
  );
}

export function DirectionIcon({ direction, size = 16 }: { direction: CallRecord["direction"]; size?: number }) {
  const Icon = direction === "inbound" ? PhoneIncoming : PhoneOutgoing;
  return <Icon size={size} aria-label={DIRECTION_LABELS[direction]} className={`direction direction-${direction}`} />;
}

const CallRow = memo(function CallRow({ call }: { call: CallRecord }) {
  return (
    <li>
      <a className="call-row" href={callPath(call.id)} onClick={followLink} data-testid="call-row" data-call={call.id}>
        <span className="call-row-who">
          <DirectionIcon direction={call.direction} />
          <span className="call-row-number">{counterpart(call)}</span>
        </span>
        <span className="call-row-status">
          <CallStatusBadge status={call.status} />
        </span>
        <span className="call-row-meta">
          <span title="Our number">via {call.phone_number}</span>
          <span>{call.agent ? call.agent.name : "No agent"}</span>
        </span>
        <span className="call-row-time">{formatTime(call.started_at)}</span>
        <span className="call-row-duration" title="Talk time">
          {formatDuration(call.duration_s)}
        </span>
        <span className="call-row-cost">{call.cost ? formatMoney(call.cost.total, call.cost.currency) : "—"}</span>
      </a>
    </li>
  );
});

interface FilterProps {
  filters: CallFilters;
  numbers: string[];
  agents: { id: string; name: string }[];
  onChange: (filters: CallFilters) => void;
}

/** The filters `GET /calls` takes: our number (or the other party's), direction, status, agent
 * and the days the calls started (from and to, inclusive). */
export function CallFiltersBar({ filters, numbers, agents, onChange }: FilterProps) {
  const id = useId();
  const options = filters.phone_number && !numbers.includes(filters.phone_number) ? [filters.phone_number, ...numbers] : numbers;
  const set = (key: keyof CallFilters, value: string) => {
    const next: Record<string, string> = { ...filters };
    if (value) next[key] = value;
    else delete next[key];
    onChange(next as CallFilters);
  };
  return (
    <form className="call-filters" aria-label="Filter calls" onSubmit={(e) => e.preventDefault()}>
      <div className="field">
        <label htmlFor={`${id}-number`}>Number</label>
        <select id={`${id}-number`} value={filters.phone_number ?? ""} onChange={(e) => set("phone_number", e.target.value)}>
          <option value="">All numbers</option>
          {options.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-direction`}>Direction</label>
        <select id={`${id}-direction`} value={filters.direction ?? ""} onChange={(e) => set("direction", e.target.value)}>
          <option value="">Both directions</option>
          {CALL_DIRECTIONS.map((d) => (
            <option key={d} value={d}>
              {DIRECTION_LABELS[d]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-status`}>Status</label>
        <select id={`${id}-status`} value={filters.status ?? ""} onChange={(e) => set("status", e.target.value)}>
          <option value="">Any status</option>
          {CALL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-agent`}>Agent</label>
        <select id={`${id}-agent`} value={filters.agent_id ?? ""} onChange={(e) => set("agent_id", e.target.value)}>
          <option value="">All agents</option>
          {filters.agent_id && !agents.some((a) => a.id === filters.agent_id) && <option value={filters.agent_id}>{filters.agent_id}</option>}
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field field-date">
        <label htmlFor={`${id}-from`}>From</label>
        <input id={`${id}-from`} type="date" value={filters.from ?? ""} max={filters.to} onChange={(e) => set("from", e.target.value)} />
      </div>
      <div className="field field-date">
        <label htmlFor={`${id}-to`}>To</label>
        <input id={`${id}-to`} type="date" value={filters.to ?? ""} min={filters.from} onChange={(e) => set("to", e.target.value)} />
      </div>
      {hasFilters(filters) && (
        <button type="button" className="button secondary small call-filters-clear" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}

/** Whether any filter is set. */
export function hasFilters(filters: CallFilters): boolean {
  return Object.values(filters).some(Boolean);
}

interface ListProps {
  calls: CallRecord[];
  loading: boolean;
  loadingMore: boolean;
  hasMore: boolean;
  filtered: boolean;
  onLoadMore: () => void;
}

/** The calls, newest first, and "Load more" while the cursor says there are more. */
export function CallList({ calls, loading, loadingMore, hasMore, filtered, onLoadMore }: ListProps) {
  if (loading) {
    return (
      <p className="list-loading" role="status">
        Loading…
      </p>
    );
  }
  if (calls.length === 0) {
    return (
      <div className="list-empty call-empty">
        <History size={40} aria-hidden />
        <p>{filtered ? "No calls match these filters" : "No calls yet"}</p>
        <p className="helper">Calls placed with “Make Test Call” or by the API, and calls to your numbers, appear here.</p>
      </div>
    );
  }
  return (
    <>
      <div className="call-head" aria-hidden>
        <span>Call</span>
        <span>Status</span>
        <span>Number · agent</span>
        <span>Started</span>
        <span>Talk time</span>
        <span>Cost</span>
      </div>
      <ul className="call-list" aria-label="Calls">
        {calls.map((call) => (
          <CallRow key={call.id} call={call} />
        ))}
      </ul>
      <div className="call-more">
        <span className="muted" role="status">
          {calls.length} {calls.length === 1 ? "call" : "calls"}
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
