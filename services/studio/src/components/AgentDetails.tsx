import { Bot, Pencil, Phone, Plus, Trash2 } from "lucide-react";
import { LLM_PROVIDERS, REALTIME_PROVIDERS, SECTION_TITLES, SECTIONS, STT_PROVIDERS, TTS_PROVIDERS, type Section } from "../lib/agentForm";
import type { NumberUse } from "../lib/agentUsage";
import type { Agent } from "../lib/types";
import { NumberLinks } from "./AgentAssigned";
import { ArchitectureBadge } from "./StatusBadge";

interface Props {
  agent: Agent;
  uses: NumberUse[];
  canManage: boolean;
  onEdit: () => void;
  onDelete: () => void;
}

const DEFAULT = <span className="muted">Provider default</span>;

function sectionFacts(agent: Agent, section: Section): [string, React.ReactNode][] {
  switch (section) {
    case "stt":
      return agent.stt
        ? [["Provider", STT_PROVIDERS[agent.stt.provider]], ["Model", agent.stt.model || DEFAULT], ...(agent.stt.base_url ? [["Model server", agent.stt.base_url] as [string, string]] : [])]
        : [];
    case "llm":
      return agent.llm
        ? [
            ["Provider", LLM_PROVIDERS[agent.llm.provider]],
            ["Model", agent.llm.model || DEFAULT],
            ["Temperature", String(agent.llm.temperature)],
            ...(agent.llm.base_url ? [["Model server", agent.llm.base_url] as [string, string]] : []),
          ]
        : [];
    case "tts":
      return agent.tts
        ? [
            ["Provider", TTS_PROVIDERS[agent.tts.provider]],
            ["Model", agent.tts.model || DEFAULT],
            ["Voice", agent.tts.voice || DEFAULT],
            ...(agent.tts.base_url ? [["Model server", agent.tts.base_url] as [string, string]] : []),
          ]
        : [];
    case "realtime":
      return agent.realtime
        ? [["Provider", REALTIME_PROVIDERS[agent.realtime.provider]], ["Model", agent.realtime.model || DEFAULT], ["Voice", agent.realtime.voice || DEFAULT]]
        : [];
  }
}

/** The selected agent: name, architecture, its conversation, each model section, and the numbers that use it. */
export function AgentDetails({ agent, uses, canManage, onEdit, onDelete }: Props) {
  return (
    <div className="details" data-testid="agent-details">
      <div className="topbar">
        <div>
          <div className="topbar-line">
            <h2 className="details-number agent-name">{agent.name}</h2>
            <ArchitectureBadge architecture={agent.architecture} />
          </div>
          <p className="details-id muted">ID: {agent.id}</p>
          <p className="muted agent-updated">
            Version {agent.version} · updated {new Date(agent.updated_at).toLocaleString()}
          </p>
        </div>
        {canManage && (
          <div className="topbar-actions">
            <button type="button" className="button secondary" onClick={onEdit}>
              <Pencil size={16} aria-hidden /> Edit
            </button>
            <button type="button" className="button secondary danger-text" onClick={onDelete}>
              <Trash2 size={16} aria-hidden /> Delete
            </button>
          </div>
        )}
      </div>
      {!canManage && <p className="readonly-note">You can view agents; owners and admins create, edit and delete them.</p>}
      <div className="cards agent-cards">
        <section className="card card-wide" aria-label="Conversation">
          <h3>Conversation</h3>
          <dl className="facts">
            <dt>Language</dt>
            <dd>{agent.language}</dd>
            <dt>Greeting</dt>
            <dd>{agent.greeting || <span className="muted">None: the agent waits for the caller</span>}</dd>
          </dl>
          <div>
            <p className="facts-title">Instructions</p>
            <p className="instructions">{agent.instructions}</p>
          </div>
        </section>
        {SECTIONS[agent.architecture].map((section) => (
          <section key={section} className="card" aria-label={SECTION_TITLES[section]}>
            <h3>{SECTION_TITLES[section]}</h3>
            <dl className="facts">
              {sectionFacts(agent, section).map(([term, value]) => (
                <div key={term} className="facts-pair">
                  <dt>{term}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
        <section className="card" aria-label="Phone numbers" data-testid="agent-numbers">
          <h3>
            <Phone size={16} aria-hidden /> Phone numbers
          </h3>
          {uses.length > 0 ? (
            <NumberLinks uses={uses} />
          ) : (
            <p className="muted">
              {agent.architecture === "text" ? "Text agents cannot be put on phone numbers: they only chat." : "Not assigned to any phone number."}
            </p>
          )}
        </section>
      </div>
    </div>
  );
}

export function NoAgentSelection({ hasAgents, canManage, onAdd }: { hasAgents: boolean; canManage: boolean; onAdd: () => void }) {
  return (
    <div className="no-selection" data-testid="no-selection">
      <Bot className="no-selection-icon" size={64} aria-hidden />
      <h2>{hasAgents ? "Select an agent" : "No agents"}</h2>
      <p className="muted">
        {hasAgents
          ? "Choose an agent from the list to see its configuration and the phone numbers that use it."
          : canManage
            ? "Create an agent, then put it on a phone number to answer or place calls."
            : "Owners and admins of this organization create agents."}
      </p>
      {!hasAgents && canManage && (
        <button type="button" className="button primary" onClick={onAdd}>
          <Plus size={16} aria-hidden /> Create Agent
        </button>
      )}
    </div>
  );
}
