import { Bot, Pencil, Plus, Search, Trash2 } from "lucide-react";
import { memo, type Ref } from "react";
import type { NumberUse } from "../lib/agentUsage";
import type { Agent } from "../lib/types";
import { ArchitectureBadge } from "./StatusBadge";

interface RowProps {
  agent: Agent;
  uses: number;
  selected: boolean;
  canManage: boolean;
  onSelect: (id: string) => void;
  onEdit: (agent: Agent) => void;
  onDelete: (agent: Agent) => void;
}

const AgentRow = memo(function AgentRow({ agent, uses, selected, canManage, onSelect, onEdit, onDelete }: RowProps) {
  return (
    <li className={`row agent-row${selected ? " row-selected" : ""}`} data-testid="agent-row" data-agent={agent.name}>
      <button type="button" className="row-main" aria-current={selected ? "true" : undefined} onClick={() => onSelect(agent.id)}>
        <span className="row-top">
          <span className="row-number" title={agent.name}>
            {agent.name}
          </span>
          <ArchitectureBadge architecture={agent.architecture} />
        </span>
        <span className="row-agent">
          {agent.language} · {uses === 0 ? "No phone numbers" : uses === 1 ? "1 phone number" : `${uses} phone numbers`}
        </span>
      </button>
      {canManage && (
        <span className="row-actions">
          <button type="button" className="icon-button" aria-label={`Edit ${agent.name}`} title="Edit" onClick={() => onEdit(agent)}>
            <Pencil size={15} aria-hidden />
          </button>
          <button type="button" className="icon-button danger" aria-label={`Delete ${agent.name}`} title="Delete" onClick={() => onDelete(agent)}>
            <Trash2 size={15} aria-hidden />
          </button>
        </span>
      )}
    </li>
  );
});

interface ListProps {
  agents: Agent[];
  total: number;
  loading: boolean;
  usage: Map<string, NumberUse[]>;
  selectedId: string | null;
  canManage: boolean;
  search: string;
  searchRef?: Ref<HTMLInputElement>;
  onSearch: (value: string) => void;
  onAdd: () => void;
  onSelect: (id: string) => void;
  onEdit: (agent: Agent) => void;
  onDelete: (agent: Agent) => void;
}

/** The Agents page's left column: header with the + button, search, and the list (the numbers page's pattern). */
export function AgentList({ agents, total, loading, usage, selectedId, canManage, search, searchRef, onSearch, onAdd, onSelect, onEdit, onDelete }: ListProps) {
  return (
    <div className="sidebar-inner">
      <div className="sidebar-header">
        <span className="header-icon" aria-hidden>
          <Bot size={18} />
        </span>
        <h1>Agents</h1>
        {canManage && (
          <button type="button" className="add-button" aria-label="Create Agent" title="Create Agent (N)" onClick={onAdd}>
            <Plus size={18} aria-hidden />
          </button>
        )}
      </div>
      <div className="search">
        <Search size={16} className="search-icon" aria-hidden />
        <input ref={searchRef} type="search" placeholder="Search agents…" aria-label="Search agents" value={search} onChange={(e) => onSearch(e.target.value)} />
      </div>
      <div className="list-scroll">
        {loading && total === 0 ? (
          <p className="list-loading" role="status">
            Loading agents…
          </p>
        ) : agents.length === 0 ? (
          <div className="list-empty" data-testid="list-empty">
            <Bot size={40} aria-hidden />
            <p>No agents found</p>
            {canManage && total === 0 && <p className="muted">Click “Create Agent” to add one.</p>}
          </div>
        ) : (
          <ul className="list" aria-label="Agents">
            {agents.map((a) => (
              <AgentRow
                key={a.id}
                agent={a}
                uses={usage.get(a.id)?.length ?? 0}
                selected={a.id === selectedId}
                canManage={canManage}
                onSelect={onSelect}
                onEdit={onEdit}
                onDelete={onDelete}
              />
            ))}
          </ul>
        )}
      </div>
      <p className="list-count" aria-live="polite">
        {search.trim() ? `${agents.length} of ${total} agents` : `${total} ${total === 1 ? "agent" : "agents"}`}
      </p>
    </div>
  );
}
