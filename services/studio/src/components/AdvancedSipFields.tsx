import { Plus, X } from "lucide-react";
import { useId } from "react";
import type { SipErrors, SipFormState } from "../lib/sipForm";
import { MEDIA_ENCRYPTION_LABELS, TRANSPORT_LABELS, type CarrierProfile, type MediaEncryption, type SipTransport } from "../lib/types";
import { controlProps, Field } from "./FormField";

interface Props {
  state: SipFormState;
  profile: CarrierProfile | null;
  errors: SipErrors;
  disabled: boolean;
  open: boolean;
  onToggle: (open: boolean) => void;
  onChange: (patch: Partial<SipFormState>) => void;
}

const DEFAULT_FORMAT = { leading_plus: true, tech_prefix: "" };

/** "Advanced SIP": transport, media encryption, number format and custom headers; the carrier's by default. */
export function AdvancedSipFields({ state, profile, errors, disabled, open, onToggle, onChange }: Props) {
  const helpId = useId();
  const transport = state.transport ?? profile?.transport ?? "tls";
  const media = state.mediaEncryption ?? profile?.media_encryption ?? "require";
  const format = state.format ?? profile?.number_format ?? DEFAULT_FORMAT;
  const carrier = profile?.name ?? "The carrier";
  const defaults = (what: string) => (profile ? `${carrier}'s default: ${what}` : "The carrier's default");
  const profileHeaders = Object.entries(profile?.headers ?? {});
  const rows = state.headers;
  const setRow = (index: number, key: "name" | "value", value: string) =>
    onChange({ headers: rows.map((r, i) => (i === index ? { ...r, [key]: value } : r)) });
  return (
    <details className="form-section advanced" open={open} onToggle={(e) => onToggle(e.currentTarget.open)} data-testid="advanced-sip">
      <summary>Advanced SIP</summary>
      <div className="field-row">
        <Field label="Transport" error={errors.sip_transport} help={defaults(TRANSPORT_LABELS[profile?.transport ?? "tls"])}>
          {(ids) => (
            <select {...controlProps(ids, "sip_transport")} value={transport} disabled={disabled} onChange={(e) => onChange({ transport: e.target.value as SipTransport })}>
              {(Object.keys(TRANSPORT_LABELS) as SipTransport[]).map((t) => (
                <option key={t} value={t}>
                  {TRANSPORT_LABELS[t]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Media encryption"
          error={errors.media_encryption}
          help={profile && !profile.srtp && media !== "disable" ? `${carrier} cannot encrypt media (SRTP)` : defaults(MEDIA_ENCRYPTION_LABELS[profile?.media_encryption ?? "require"])}
        >
          {(ids) => (
            <select
              {...controlProps(ids, "media_encryption")}
              value={media}
              disabled={disabled}
              onChange={(e) => onChange({ mediaEncryption: e.target.value as MediaEncryption })}
            >
              {(Object.keys(MEDIA_ENCRYPTION_LABELS) as MediaEncryption[]).map((m) => (
                <option key={m} value={m}>
                  {MEDIA_ENCRYPTION_LABELS[m]}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Field
        label="Tech prefix"
        error={errors.number_format}
        help={`Digits, * or # the carrier wants before the number (up to 10)${state.format ? "" : "; the carrier's format"}`}
      >
        {(ids) => (
          <input
            {...controlProps(ids, "number_format")}
            type="text"
            autoComplete="off"
            spellCheck={false}
            placeholder="1234#"
            value={format.tech_prefix}
            disabled={disabled}
            onChange={(e) => onChange({ format: { ...format, tech_prefix: e.target.value } })}
          />
        )}
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={format.leading_plus} disabled={disabled} onChange={(e) => onChange({ format: { ...format, leading_plus: e.target.checked } })} />
        Write numbers with a leading + (E.164)
      </label>
      <fieldset className="headers" aria-describedby={helpId}>
        <legend>Custom headers</legend>
        {rows.map((row, i) => (
          <div className="header-row" key={i}>
            <input
              aria-label={`Header ${i + 1} name`}
              data-field={i === 0 ? "sip_headers" : undefined}
              className={errors.sip_headers ? "invalid" : undefined}
              aria-invalid={errors.sip_headers ? true : undefined}
              placeholder="X-Name"
              spellCheck={false}
              value={row.name}
              disabled={disabled}
              onChange={(e) => setRow(i, "name", e.target.value)}
            />
            <input aria-label={`Header ${i + 1} value`} placeholder="value" spellCheck={false} value={row.value} disabled={disabled} onChange={(e) => setRow(i, "value", e.target.value)} />
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove header ${i + 1}`}
              disabled={disabled}
              onClick={() => onChange({ headers: rows.filter((_, j) => j !== i) })}
            >
              <X size={15} aria-hidden />
            </button>
          </div>
        ))}
        <button type="button" className="button secondary small" disabled={disabled} onClick={() => onChange({ headers: [...rows, { name: "", value: "" }] })}>
          <Plus size={14} aria-hidden /> Add header
        </button>
        <p id={helpId} className={errors.sip_headers ? "field-error" : "helper"}>
          {errors.sip_headers ??
            (rows.length > 0
              ? "Sent on outbound INVITEs in place of the carrier's; {sip_username} is replaced by the SIP username."
              : profileHeaders.length > 0
                ? `None: the carrier's (${profileHeaders.map(([n, v]) => `${n}: ${v}`).join(", ")}).`
                : "None: sent on outbound INVITEs when added.")}
        </p>
      </fieldset>
    </details>
  );
}
