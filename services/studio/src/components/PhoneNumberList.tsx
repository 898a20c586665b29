import { AlertTriangle, Pencil, Phone, PhoneIncoming, PhoneOutgoing, Plus, Search, Trash2 } from "lucide-react";
import { memo, useEffect, useLayoutEffect, useRef, useState, type Ref } from "react";
import { agentLabel, type PhoneNumber } from "../lib/types";
import { StatusBadge, VerdictDot } from "./StatusBadge";

/** Rows have one fixed height (CSS `.row`), plus the 4 px gap: long lists render only what is in view. */
export const ROW_HEIGHT = 80;
const WINDOW_FROM = 100;
const OVERSCAN = 8;

interface RowProps {
  number: PhoneNumber;
  /** Windowed lists: the row's offset, its position and the list's size. */
  top?: number;
  position?: number;
  size?: number;
  selected: boolean;
  canManage: boolean;
  onSelect: (id: string) => void;
  onEdit: (number: PhoneNumber) => void;
  onDelete: (number: PhoneNumber) => void;
}

/** One number in the list; memoized so a search keystroke re-renders only what changed. */
export const PhoneNumberRow = memo(function PhoneNumberRow({ number, selected, canManage, onSelect, onEdit, onDelete, top, position, size }: RowProps) {
  return (
    <li
      className={`row${selected ? " row-selected" : ""}${top === undefined ? "" : " row-windowed"}`}
      style={top === undefined ? undefined : { top }}
      aria-posinset={position}
      aria-setsize={size}
      data-testid="phone-number-row"
      data-number={number.phone_number}
    >
      <button type="button" className="row-main" aria-current={selected ? "true" : undefined} onClick={() => onSelect(number.id)}>
        <span className="row-top">
          <span className="row-number" title={number.phone_number}>
            {number.phone_number}
          </span>
          <StatusBadge status={number.status} />
          {number.last_check && <VerdictDot check={number.last_check} />}
          {number.inbound_allow_any_source && (
            <AlertTriangle
              size={14}
              className="any-source-marker"
              role="img"
              aria-label="Accepts calls from any address"
              data-testid="any-source-marker"
            >
              <title>Accepts calls from any address</title>
            </AlertTriangle>
          )}
        </span>
        <span className="row-agent">
          <PhoneIncoming size={12} aria-hidden /> Inbound: {agentLabel(number.inbound_agent)}
        </span>
        <span className="row-agent">
          <PhoneOutgoing size={12} aria-hidden /> Outbound: {agentLabel(number.outbound_agent)}
        </span>
      </button>
      {canManage && (
        <span className="row-actions">
          <button type="button" className="icon-button" aria-label={`Edit ${number.phone_number}`} title="Edit" onClick={() => onEdit(number)}>
            <Pencil size={15} aria-hidden />
          </button>
          <button type="button" className="icon-button danger" aria-label={`Delete ${number.phone_number}`} title="Delete" onClick={() => onDelete(number)}>
            <Trash2 size={15} aria-hidden />
          </button>
        </span>
      )}
    </li>
  );
});

interface ListProps {
  numbers: PhoneNumber[];
  total: number;
  loading: boolean;
  selectedId: string | null;
  canManage: boolean;
  search: string;
  searchRef: Ref<HTMLInputElement>;
  onSearch: (value: string) => void;
  onAdd: () => void;
  onSelect: (id: string) => void;
  onEdit: (number: PhoneNumber) => void;
  onDelete: (number: PhoneNumber) => void;
}

/** The seed's left column: header with the + button, search, and the scrollable list. */
export function PhoneNumberList(props: ListProps) {
  const { numbers, total, loading, selectedId, canManage, search, searchRef, onSearch, onAdd, onSelect, onEdit, onDelete } = props;
  const scrollRef = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 0 });
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    el.addEventListener("scroll", measure, { passive: true });
    const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(measure);
    observer?.observe(el);
    return () => {
      el.removeEventListener("scroll", measure);
      observer?.disconnect();
    };
  }, []);
  // Windowing needs a laid-out scroll box (a browser); without one (jsdom) every row renders.
  const windowed = numbers.length > WINDOW_FROM && view.height > 0;
  const start = windowed ? Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN) : 0;
  const end = windowed ? Math.min(numbers.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN) : numbers.length;
  const shown = windowed ? numbers.slice(start, end) : numbers;
  // A number selected from elsewhere (URL, keyboard, a new number) is scrolled into view.
  useEffect(() => {
    const el = scrollRef.current;
    const index = numbers.findIndex((n) => n.id === selectedId);
    if (!el || index < 0 || el.clientHeight === 0) return;
    const rowTop = index * ROW_HEIGHT;
    if (rowTop < el.scrollTop || rowTop + ROW_HEIGHT > el.scrollTop + el.clientHeight) {
      el.scrollTop = Math.max(0, rowTop - el.clientHeight / 2);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId]);
  return (
    <div className="sidebar-inner">
      <div className="sidebar-header">
        <span className="header-icon" aria-hidden>
          <Phone size={18} />
        </span>
        <h1>Phone Numbers</h1>
        {canManage && (
          <button type="button" className="add-button" aria-label="Add Phone Number" title="Add Phone Number (N)" onClick={onAdd}>
            <Plus size={18} aria-hidden />
          </button>
        )}
      </div>
      <div className="search">
        <Search size={16} className="search-icon" aria-hidden />
        <input
          ref={searchRef}
          type="search"
          placeholder="Search phone numbers…"
          aria-label="Search phone numbers"
          value={search}
          onChange={(e) => onSearch(e.target.value)}
        />
      </div>
      <div className="list-scroll" ref={scrollRef}>
        {loading && total === 0 ? (
          <p className="list-loading" role="status">
            Loading phone numbers…
          </p>
        ) : numbers.length === 0 ? (
          <div className="list-empty" data-testid="list-empty">
            <Phone size={40} aria-hidden />
            <p>No phone numbers found</p>
            {canManage && total === 0 && <p className="muted">Click “Add Phone Number” to add one.</p>}
          </div>
        ) : (
          <ul className={`list${windowed ? " list-windowed" : ""}`} aria-label="Phone numbers" style={windowed ? { height: numbers.length * ROW_HEIGHT } : undefined}>
            {shown.map((n, i) => (
              <PhoneNumberRow
                key={n.id}
                number={n}
                selected={n.id === selectedId}
                canManage={canManage}
                onSelect={onSelect}
                onEdit={onEdit}
                onDelete={onDelete}
                top={windowed ? (start + i) * ROW_HEIGHT : undefined}
                position={windowed ? start + i + 1 : undefined}
                size={windowed ? numbers.length : undefined}
              />
            ))}
          </ul>
        )}
      </div>
      <p className="list-count" aria-live="polite">
        {search.trim() ? `${numbers.length} of ${total} numbers` : `${total} ${total === 1 ? "number" : "numbers"}`}
      </p>
    </div>
  );
}

interface RailProps {
  numbers: PhoneNumber[];
  selectedId: string | null;
  canManage: boolean;
  onAdd: () => void;
  onSelect: (id: string) => void;
  onExpand: () => void;
}

/** Tablet: the sidebar collapsed to icons. */
export function PhoneNumberRail({ numbers, selectedId, canManage, onAdd, onSelect, onExpand }: RailProps) {
  return (
    <div className="rail-inner">
      <span className="header-icon" aria-hidden>
        <Phone size={18} />
      </span>
      {canManage && (
        <button type="button" className="add-button" aria-label="Add Phone Number" title="Add Phone Number (N)" onClick={onAdd}>
          <Plus size={18} aria-hidden />
        </button>
      )}
      <button type="button" className="icon-button rail-search" aria-label="Search phone numbers" title="Search phone numbers" onClick={onExpand}>
        <Search size={18} aria-hidden />
      </button>
      <ul className="rail-list" aria-label="Phone numbers">
        {numbers.map((n) => (
          <li key={n.id}>
            <button
              type="button"
              className={`rail-item${n.id === selectedId ? " rail-item-selected" : ""}`}
              aria-label={`${n.phone_number}, ${n.status}`}
              aria-current={n.id === selectedId ? "true" : undefined}
              title={n.phone_number}
              onClick={() => onSelect(n.id)}
            >
              <Phone size={16} aria-hidden />
              <span className={`rail-dot rail-dot-${n.status}`} aria-hidden />
              <span className="rail-digits" aria-hidden>
                {n.phone_number.slice(-4)}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
