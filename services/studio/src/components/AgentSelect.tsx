import { useId } from "react";
import { agentLabel, type Agent, type AgentRef } from "../lib/types";

/** The seed's "Inbound Call Agent" / "Outbound Call Agent" dropdown: "Agent Name (mode)", "Current: …" below. */
export function AgentSelect(props: {
  label: string;
  value: string;
  agents: Agent[];
  current: AgentRef | null;
  disabled: boolean;
  error?: string;
  onChange: (value: string) => void;
}) {
  const id = useId();
  const { label, value, agents, current, disabled, error, onChange } = props;
  const known = agents.some((a) => a.id === value);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-current${error ? ` ${id}-error` : ""}`}
        className={error ? "invalid" : undefined}
        onChange={(e) => onChange(e.target.value)}
      >
        <option value="">Not assigned</option>
        {!known && value && current && <option value={value}>{agentLabel(current)}</option>}
        {agents.map((agent) => (
          <option key={agent.id} value={agent.id}>
            {agentLabel(agent)}
          </option>
        ))}
      </select>
      {error && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
      <p id={`${id}-current`} className="helper current">
        Current: <strong>{agentLabel(current)}</strong>
      </p>
    </div>
  );
}
