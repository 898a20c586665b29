import { Loader2 } from "lucide-react";
import { useRef, useState, type FormEvent, type ReactNode } from "react";
import {
  AGENT_FIELDS,
  agentProblemField,
  ARCHITECTURE_HELP,
  ARCHITECTURE_LABELS,
  checkAgentField,
  checkAgentForm,
  createBody,
  initialAgentForm,
  LLM_PROVIDERS,
  REALTIME_PROVIDERS,
  SECTION_TITLES,
  SECTIONS,
  STT_PROVIDERS,
  takesBaseUrl,
  TTS_PROVIDERS,
  updateBody,
  type AgentErrors,
  type AgentField,
  type AgentFormState,
} from "../lib/agentForm";
import type { Agent, AgentCreate, AgentUpdate, Architecture, FieldProblem } from "../lib/types";
import { Dialog } from "./Dialog";
import { controlProps, Field } from "./FormField";

/** What a save answered: field errors (shown under the fields), and for a 409 the numbers that use the agent. */
export interface AgentSaveProblems {
  problems: FieldProblem[];
  /** A 409 on Edit (a voice agent on phone numbers cannot become text-only): the explanation. */
  assigned?: ReactNode;
}

interface Props {
  /** The agent to edit; absent to create one. */
  agent?: Agent | null;
  onClose: () => void;
  /** Send the body; resolve with what went wrong, or null on success. */
  onSubmit: (body: AgentCreate | AgentUpdate) => Promise<AgentSaveProblems | null>;
}

type SectionKey = "stt" | "llm" | "tts" | "realtime";

/** The Create / Edit Agent dialog: every field numbers-api takes, its cheap checks, its 422s under the fields. */
export function AgentDialog({ agent, onClose, onSubmit }: Props) {
  const editing = Boolean(agent);
  const [state, setState] = useState<AgentFormState>(() => initialAgentForm(agent));
  const [errors, setErrors] = useState<AgentErrors>({});
  const [assigned, setAssigned] = useState<ReactNode>(null);
  const [saving, setSaving] = useState(false);
  const firstField = useRef<HTMLInputElement>(null);

  const update = (next: AgentFormState, touched: AgentField[]) => {
    setState(next);
    // Once a field has shown an error, re-check it as the user types.
    if (touched.some((f) => errors[f])) {
      setErrors((e) => {
        const copy = { ...e };
        for (const f of touched) if (copy[f]) copy[f] = checkAgentField(next, f) ?? undefined;
        return copy;
      });
    }
  };
  const set = (field: "name" | "instructions" | "greeting" | "language", value: string) => update({ ...state, [field]: value }, [field]);
  const setIn = <S extends SectionKey>(section: S, key: keyof AgentFormState[S], value: string) => {
    const field = `${section}.${key === "baseUrl" ? "base_url" : String(key)}` as AgentField;
    update({ ...state, [section]: { ...state[section], [key]: value } }, key === "provider" ? [field, `${section}.base_url` as AgentField] : [field]);
  };
  const blur = (field: AgentField) => {
    const error = checkAgentField(state, field);
    setErrors((e) => ({ ...e, [field]: error ?? undefined }));
  };

  const show = (found: AgentErrors): boolean => {
    setErrors(found);
    const first = AGENT_FIELDS.find((f) => found[f]);
    if (first) setTimeout(() => document.querySelector<HTMLElement>(`[data-field="${first}"]`)?.focus(), 0);
    return Object.values(found).some(Boolean);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (saving) return;
    setAssigned(null);
    if (show(checkAgentForm(state))) return;
    const body = agent ? updateBody(state, agent) : createBody(state);
    if (agent && Object.keys(body).length === 0) {
      onClose();
      return;
    }
    setSaving(true);
    try {
      const result = await onSubmit(body);
      if (result) {
        const mapped: AgentErrors = {};
        for (const p of result.problems) {
          const field = agentProblemField(p.field, p.message);
          mapped[field] = mapped[field] ? `${mapped[field]}; ${p.message}` : p.message;
        }
        setAssigned(result.assigned ?? null);
        show(mapped);
      }
    } finally {
      setSaving(false);
    }
  };

  const text = (field: AgentField, value: string, onChange: (v: string) => void, extra: Record<string, unknown> = {}) => (ids: Parameters<typeof controlProps>[0]) => (
    <input {...controlProps(ids, field)} type="text" value={value} disabled={saving} autoComplete="off" spellCheck={false} onChange={(e) => onChange(e.target.value)} onBlur={() => blur(field)} {...extra} />
  );
  const select = (field: AgentField, value: string, options: Record<string, string>, onChange: (v: string) => void) => (ids: Parameters<typeof controlProps>[0]) => (
    <select {...controlProps(ids, field)} value={value} disabled={saving} onChange={(e) => onChange(e.target.value)}>
      {Object.entries(options).map(([id, label]) => (
        <option key={id} value={id}>
          {label}
        </option>
      ))}
    </select>
  );
  const modelServer = (section: "stt" | "llm" | "tts") =>
    takesBaseUrl(state[section].provider) && (
      <Field label="Model server URL" error={errors[`${section}.base_url`]} help="Optional: an OpenAI-compatible server of your own (requests to it carry no key)">
        {text(`${section}.base_url`, state[section].baseUrl, (v) => setIn(section, "baseUrl", v), { type: "url", placeholder: "https://models.example.com/v1" })}
      </Field>
    );
  const sections = SECTIONS[state.architecture];

  return (
    <Dialog title={editing ? "Edit Agent" : "Create Agent"} onClose={() => !saving && onClose()} initialFocus={firstField}>
      <form className="dialog-form" onSubmit={submit} noValidate data-testid="agent-form">
        <Field label="Name" required error={errors.name} help="Shown in the phone numbers' agent dropdowns">
          {text("name", state.name, (v) => set("name", v), { ref: firstField, "aria-required": true, spellCheck: true, placeholder: "Sales Agent" })}
        </Field>
        <Field label="Architecture" required error={errors.architecture} help={ARCHITECTURE_HELP[state.architecture]}>
          {select("architecture", state.architecture, ARCHITECTURE_LABELS, (v) => update({ ...state, architecture: v as Architecture }, ["architecture"]))}
        </Field>
        {assigned && (
          <div className="refusal" role="alert" data-testid="agent-assigned">
            {assigned}
          </div>
        )}
        <Field label="Instructions" required error={errors.instructions} help="The system prompt: who the agent is and how it talks">
          {(ids) => (
            <textarea
              {...controlProps(ids, "instructions")}
              className={`prose${ids.invalid ? " invalid" : ""}`}
              rows={5}
              value={state.instructions}
              disabled={saving}
              onChange={(e) => set("instructions", e.target.value)}
              onBlur={() => blur("instructions")}
            />
          )}
        </Field>
        <div className="field-row">
          <Field label="Greeting" error={errors.greeting} help="Said first on a call; empty: the agent waits for the caller">
            {text("greeting", state.greeting, (v) => set("greeting", v), { spellCheck: true })}
          </Field>
          <Field label="Language" required error={errors.language} help="A language tag: en-US, es, pt-BR">
            {text("language", state.language, (v) => set("language", v), { "aria-required": true, placeholder: "en-US" })}
          </Field>
        </div>
        {sections.includes("stt") && (
          <fieldset className="form-section" data-section="stt">
            <legend>{SECTION_TITLES.stt}</legend>
            <div className="field-row">
              <Field label="STT provider" error={errors["stt.provider"]} help="Recognises the caller's speech">
                {select("stt.provider", state.stt.provider, STT_PROVIDERS, (v) => setIn("stt", "provider", v))}
              </Field>
              <Field label="STT model" error={errors["stt.model"]} help="Empty: the provider's default">
                {text("stt.model", state.stt.model, (v) => setIn("stt", "model", v))}
              </Field>
            </div>
            {modelServer("stt")}
          </fieldset>
        )}
        {sections.includes("llm") && (
          <fieldset className="form-section" data-section="llm">
            <legend>{SECTION_TITLES.llm}</legend>
            <div className="field-row">
              <Field label="LLM provider" error={errors["llm.provider"]} help="Writes the agent's replies">
                {select("llm.provider", state.llm.provider, LLM_PROVIDERS, (v) => setIn("llm", "provider", v))}
              </Field>
              <Field label="LLM model" error={errors["llm.model"]} help="Empty: the provider's default">
                {text("llm.model", state.llm.model, (v) => setIn("llm", "model", v))}
              </Field>
            </div>
            <Field label="Temperature" error={errors["llm.temperature"]} help="0 (focused) to 2 (inventive)">
              {text("llm.temperature", state.llm.temperature, (v) => setIn("llm", "temperature", v), { type: "number", inputMode: "decimal", min: 0, max: 2, step: 0.1 })}
            </Field>
            {modelServer("llm")}
          </fieldset>
        )}
        {sections.includes("tts") && (
          <fieldset className="form-section" data-section="tts">
            <legend>{SECTION_TITLES.tts}</legend>
            <Field label="TTS provider" error={errors["tts.provider"]} help="Speaks the replies">
              {select("tts.provider", state.tts.provider, TTS_PROVIDERS, (v) => setIn("tts", "provider", v))}
            </Field>
            <div className="field-row">
              <Field label="TTS model" error={errors["tts.model"]} help="Empty: the provider's default">
                {text("tts.model", state.tts.model, (v) => setIn("tts", "model", v))}
              </Field>
              <Field label="TTS voice" error={errors["tts.voice"]} help="Empty: the provider's default">
                {text("tts.voice", state.tts.voice, (v) => setIn("tts", "voice", v))}
              </Field>
            </div>
            {modelServer("tts")}
          </fieldset>
        )}
        {sections.includes("realtime") && (
          <fieldset className="form-section" data-section="realtime">
            <legend>{SECTION_TITLES.realtime}</legend>
            <Field label="Realtime provider" error={errors["realtime.provider"]} help="Listens and speaks in one model">
              {select("realtime.provider", state.realtime.provider, REALTIME_PROVIDERS, (v) => setIn("realtime", "provider", v))}
            </Field>
            <div className="field-row">
              <Field label="Realtime model" error={errors["realtime.model"]} help="Empty: the provider's default">
                {text("realtime.model", state.realtime.model, (v) => setIn("realtime", "model", v))}
              </Field>
              <Field label="Realtime voice" error={errors["realtime.voice"]} help="Empty: the provider's default">
                {text("realtime.voice", state.realtime.voice, (v) => setIn("realtime", "voice", v))}
              </Field>
            </div>
          </fieldset>
        )}
        {errors.form && (
          <p className="form-error" role="alert">
            {errors.form}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={saving} aria-busy={saving || undefined}>
            {saving && <Loader2 size={16} className="spin" aria-hidden />}
            {saving ? "Saving…" : editing ? "Save" : "Create Agent"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
