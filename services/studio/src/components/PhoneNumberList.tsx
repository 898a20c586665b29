import { Pencil, Phone, PhoneIncoming, PhoneOutgoing, Plus, Search, Trash2 } from "lucide-react";
import { memo, type Ref } from "react";
import { agentLabel, type PhoneNumber } from "../lib/types";
import { StatusBadge } from "./StatusBadge";

interface RowProps {
  number: PhoneNumber;
  selected: boolean;
  canManage: boolean;
  onSelect: (id: string) => void;
  onEdit: (number: PhoneNumber) => void;
  onDelete: (number: PhoneNumber) => void;
}

/** One number in the list; memoized so a search keystroke re-renders only what changed. */
export const PhoneNumberRow = memo(function PhoneNumberRow({ number, selected, canManage, onSelect, onEdit, onDelete }: RowProps) {
  return (
    <li className={`row${selected ? " row-selected" : ""}`} data-testid="phone-number-row" data-number={number.phone_number}>
      <button type="button" className="row-main" aria-current={selected ? "true" : undefined} onClick={() => onSelect(number.id)}>
        <span className="row-top">
          <span className="row-number" title={number.phone_number}>
            {number.phone_number}
          </span>
          <StatusBadge status={number.status} />
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
      <div className="list-scroll">
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
          <ul className="list" aria-label="Phone numbers">
            {numbers.map((n) => (
              <PhoneNumberRow key={n.id} number={n} selected={n.id === selectedId} canManage={canManage} onSelect={onSelect} onEdit={onEdit} onDelete={onDelete} />
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
