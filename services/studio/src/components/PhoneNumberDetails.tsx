import { History, Loader2, Pencil, Phone, PhoneCall, PhoneIncoming, PhoneOutgoing, Save, Settings2, Trash2 } from "lucide-react";
import { useEffect, useId, useMemo, useState, type FormEvent, type KeyboardEvent } from "react";
import { callsPath, followLink } from "../lib/route";
import { inactiveReason } from "../lib/status";
import { RECORDING_LABELS, type Agent, type CarrierProfile, type PhoneNumber, type PhoneNumberCheck, type RecordingMode } from "../lib/types";
import { validateWebhookUrl } from "../lib/validation";
import { AgentSelect } from "./AgentSelect";
import { CarrierCard, InboundRefusal } from "./CarrierCard";
import { StatusBadge, SyncBadge } from "./StatusBadge";
import { TrunkCheckPanel } from "./TrunkCheckPanel";

export interface DetailsChanges {
  inboundAgentId: string | null;
  outboundAgentId: string | null;
  webhookUrl: string | null;
  recordingMode: RecordingMode;
  assignmentsChanged: boolean;
  settingsChanged: boolean;
}

/** Field errors by name ("inbound_agent_id", "outbound_agent_id", "webhook_url", "recording_mode", "form";
 * "inbound_allowed_addresses" when an inbound agent was refused because the number's inbound side is open). */
export type DetailsErrors = Partial<Record<string, string>>;

interface Props {
  number: PhoneNumber;
  agents: Agent[];
  /** The number's carrier profile (null until the profiles are loaded). */
  profile: CarrierProfile | null;
  canManage: boolean;
  onSave: (changes: DetailsChanges) => Promise<DetailsErrors | null>;
  onCheck: () => Promise<PhoneNumberCheck | null>;
  /** Open the edit dialog on its inbound security section. */
  onEditInbound: () => void;
  onMakeCall: () => void;
  onEdit: () => void;
  onDelete: () => void;
}

export const TEXT_AGENT_ERROR = "Agent is a text-only agent and cannot make voice calls";
export const NO_AGENT_ERROR = "At least one agent must be selected";

interface FormState {
  inbound: string;
  outbound: string;
  webhook: string;
  recording: RecordingMode;
}

function initial(number: PhoneNumber): FormState {
  return {
    inbound: number.inbound_agent?.id ?? "",
    outbound: number.outbound_agent?.id ?? "",
    webhook: number.webhook_url ?? "",
    recording: number.recording_mode,
  };
}

/** The seed's right column when a number is selected: top bar, three cards and the save button. */
export function PhoneNumberDetails({ number, agents, profile, canManage, onSave, onCheck, onEditInbound, onMakeCall, onEdit, onDelete }: Props) {
  const [form, setForm] = useState<FormState>(() => initial(number));
  const [errors, setErrors] = useState<DetailsErrors>({});
  const [saving, setSaving] = useState(false);
  const webhookId = useId();
  const recordingId = useId();
  const callNoteId = useId();
  // The badge and the call button agree: an inactive number cannot place calls (call-orchestrator refuses too).
  const cannotCall = inactiveReason(number);
  const base = useMemo(() => initial(number), [number]);
  const assignmentsChanged = form.inbound !== base.inbound || form.outbound !== base.outbound;
  const settingsChanged = form.webhook.trim() !== base.webhook || form.recording !== base.recording;
  const dirty = assignmentsChanged || settingsChanged;

  // A different number, or the same number changed elsewhere while this form is untouched: show it.
  useEffect(() => {
    setForm(initial(number));
    setErrors({});
  }, [number.id]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (!dirty && !saving) setForm(initial(number));
  }, [number]); // eslint-disable-line react-hooks/exhaustive-deps

  const architecture = (id: string) => agents.find((a) => a.id === id)?.architecture;

  const validate = (): DetailsErrors => {
    const found: DetailsErrors = {};
    if (architecture(form.inbound) === "text") found.inbound_agent_id = TEXT_AGENT_ERROR;
    if (architecture(form.outbound) === "text") found.outbound_agent_id = TEXT_AGENT_ERROR;
    // The seed's rule for this button; a number without agents may still save its call settings alone.
    if (!form.inbound && !form.outbound && (assignmentsChanged || !settingsChanged)) found.form = NO_AGENT_ERROR;
    const webhookError = validateWebhookUrl(form.webhook);
    if (webhookError) found.webhook_url = webhookError;
    return found;
  };

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    if (!canManage || saving) return;
    const found = validate();
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setSaving(true);
    try {
      const serverErrors = await onSave({
        inboundAgentId: form.inbound || null,
        outboundAgentId: form.outbound || null,
        webhookUrl: form.webhook.trim() || null,
        recordingMode: form.recording,
        assignmentsChanged,
        settingsChanged,
      });
      setErrors(serverErrors ?? {});
    } finally {
      setSaving(false);
    }
  };

  // The seed's "Enter — Save changes": Enter on a dropdown saves too (text inputs submit natively).
  const onKeyDown = (event: KeyboardEvent<HTMLFormElement>) => {
    if (event.key === "Enter" && (event.target as HTMLElement).tagName === "SELECT") {
      event.preventDefault();
      void submit();
    }
  };

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => {
      const field = key === "inbound" ? "inbound_agent_id" : key === "outbound" ? "outbound_agent_id" : key === "webhook" ? "webhook_url" : "recording_mode";
      const { [field]: _removed, form: _form, ...rest } = e;
      if (key === "inbound") delete rest.inbound_allowed_addresses;
      return rest;
    });
  };

  return (
    <div className="details" data-testid="details">
      <div className="topbar">
        <div className="topbar-title">
          <div className="topbar-line">
            <h2 className="details-number">{number.phone_number}</h2>
            <StatusBadge status={number.status} />
          </div>
          <p className="muted details-id">ID: {number.id}</p>
          <SyncBadge sync={number.sync} />
          {cannotCall && (
            <p id={callNoteId} className="muted call-note" role="note">
              {cannotCall}
            </p>
          )}
        </div>
        <div className="topbar-actions">
          {canManage && (
            <>
              <button type="button" className="button secondary" onClick={onEdit} aria-label={`Edit ${number.phone_number}`}>
                <Pencil size={16} aria-hidden /> Edit
              </button>
              <button type="button" className="button secondary danger-text" onClick={onDelete} aria-label={`Delete ${number.phone_number}`}>
                <Trash2 size={16} aria-hidden /> Delete
              </button>
            </>
          )}
          <a className="button secondary" href={callsPath({ phone_number: number.phone_number })} onClick={followLink} aria-label={`Calls of ${number.phone_number}`}>
            <History size={16} aria-hidden /> Calls
          </a>
          <button type="button" className="button green" onClick={onMakeCall} disabled={cannotCall !== null} aria-describedby={cannotCall ? callNoteId : undefined}>
            <PhoneCall size={16} aria-hidden /> Make Test Call
          </button>
        </div>
      </div>

      {!canManage && (
        <p className="readonly-note" role="note">
          You can view this number and place test calls. Only owners and admins can change it.
        </p>
      )}

      <form className="cards" onSubmit={submit} onKeyDown={onKeyDown} noValidate aria-label="Phone number configuration">
        <section className="card" aria-labelledby={`${webhookId}-in`}>
          <h3 id={`${webhookId}-in`}>
            <PhoneIncoming size={18} aria-hidden /> Inbound Call Configuration
          </h3>
          <AgentSelect
            label="Inbound Call Agent"
            value={form.inbound}
            agents={agents}
            current={number.inbound_agent}
            disabled={!canManage || saving}
            error={errors.inbound_agent_id}
            onChange={(v) => set("inbound", v)}
          />
          {errors.inbound_allowed_addresses && <InboundRefusal canManage={canManage} onEditInbound={onEditInbound} />}
        </section>
        <section className="card" aria-labelledby={`${webhookId}-out`}>
          <h3 id={`${webhookId}-out`}>
            <PhoneOutgoing size={18} aria-hidden /> Outbound Call Configuration
          </h3>
          <AgentSelect
            label="Outbound Call Agent"
            value={form.outbound}
            agents={agents}
            current={number.outbound_agent}
            disabled={!canManage || saving}
            error={errors.outbound_agent_id}
            onChange={(v) => set("outbound", v)}
          />
        </section>
        <section className="card" aria-labelledby={`${webhookId}-settings`}>
          <h3 id={`${webhookId}-settings`}>
            <Settings2 size={18} aria-hidden /> Call Settings
          </h3>
          <div className="field">
            <label htmlFor={webhookId}>Webhook URL</label>
            <input
              id={webhookId}
              type="url"
              inputMode="url"
              placeholder="https://example.com/hooks/calls"
              value={form.webhook}
              disabled={!canManage || saving}
              className={errors.webhook_url ? "invalid" : undefined}
              aria-invalid={errors.webhook_url ? true : undefined}
              aria-describedby={`${webhookId}-help`}
              onChange={(e) => set("webhook", e.target.value)}
            />
            <p id={`${webhookId}-help`} className={errors.webhook_url ? "field-error" : "helper"}>
              {errors.webhook_url ?? "Receives call events (started, answered, completed) for this number."}
            </p>
          </div>
          <div className="field">
            <label htmlFor={recordingId}>Call Recording</label>
            <select
              id={recordingId}
              value={form.recording}
              disabled={!canManage || saving}
              className={errors.recording_mode ? "invalid" : undefined}
              onChange={(e) => set("recording", e.target.value as RecordingMode)}
            >
              {(Object.keys(RECORDING_LABELS) as RecordingMode[]).map((mode) => (
                <option key={mode} value={mode}>
                  {RECORDING_LABELS[mode]}
                </option>
              ))}
            </select>
            {errors.recording_mode && <p className="field-error">{errors.recording_mode}</p>}
          </div>
        </section>
        {errors.form && (
          <p className="form-error" role="alert">
            {errors.form}
          </p>
        )}
        {canManage && (
          <div className="save-row">
            <button type="submit" className="button primary" disabled={saving} aria-busy={saving || undefined}>
              {saving ? <Loader2 size={16} className="spin" aria-hidden /> : <Save size={16} aria-hidden />}
              {saving ? "Saving…" : "Save Agent Assignments"}
            </button>
            {dirty && !saving && <span className="muted">Unsaved changes</span>}
          </div>
        )}
      </form>

      <div className="cards">
        <CarrierCard number={number} profile={profile} canManage={canManage} onEditInbound={onEditInbound} />
        <TrunkCheckPanel number={number} canManage={canManage} onCheck={onCheck} />
      </div>
    </div>
  );
}

/** The seed's empty main column: "Select a phone number" or "No phone numbers". */
export function NoSelection({ hasNumbers, canManage, onAdd }: { hasNumbers: boolean; canManage: boolean; onAdd: () => void }) {
  return (
    <div className="no-selection" data-testid="no-selection">
      <Phone size={64} width={64} height={64} className="no-selection-icon" aria-hidden />
      <h2>{hasNumbers ? "Select a phone number" : "No phone numbers"}</h2>
      <p className="muted">
        {hasNumbers
          ? "Choose a number from the list to assign its inbound and outbound agents and call settings."
          : canManage
            ? "Add a phone number from your carrier (Twilio, Telnyx, Plivo…) to receive and place calls with your agents."
            : "Your organization has no phone numbers yet. Ask an owner or admin to add one."}
      </p>
      {!hasNumbers && canManage && (
        <button type="button" className="button primary" onClick={onAdd}>
          Add Phone Number
        </button>
      )}
    </div>
  );
}
