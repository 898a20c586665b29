import { AlertTriangle } from "lucide-react";
import { useId, type RefObject } from "react";
import { allowedLines, type SipErrors, type SipFormState } from "../lib/sipForm";
import type { CarrierProfile, PhoneNumber } from "../lib/types";
import { controlProps, Field } from "./FormField";

interface Props {
  state: SipFormState;
  profile: CarrierProfile | null;
  number?: PhoneNumber | null;
  errors: SipErrors;
  disabled: boolean;
  onChange: (patch: Partial<SipFormState>) => void;
  /** Focused when the dialog opens to fix the inbound side (an inbound agent was refused). */
  allowedRef?: RefObject<HTMLTextAreaElement | null>;
}

const PLACEHOLDER_LINES = 6;

/** Who may call the number: allowed addresses, digest credentials, or (not advised) anyone. */
export function InboundSecurityFields({ state, profile, number, errors, disabled, onChange, allowedRef }: Props) {
  const warningId = useId();
  const ranges = profile?.signalling_addresses ?? [];
  const placeholder =
    ranges.length > PLACEHOLDER_LINES ? [...ranges.slice(0, PLACEHOLDER_LINES), `… ${ranges.length - PLACEHOLDER_LINES} more`].join("\n") : ranges.join("\n");
  const own = allowedLines(state.allowed).length;
  const addressesHelp =
    own > 0
      ? `${own} ${own === 1 ? "address" : "addresses"} on this number, in place of the carrier's.`
      : ranges.length > 0
        ? `Empty: the carrier's ${ranges.length} ranges. One IP or CIDR per line to use your own.`
        : "This carrier publishes no ranges: list the addresses it calls from (one IP or CIDR per line), or set credentials.";
  const saved = Boolean(number?.has_inbound_auth_password);
  const passwordHelp = saved
    ? state.clearInboundPassword
      ? "The saved password will be removed."
      : "A password is set. Leave blank to keep it; type a new one to replace it."
    : profile && !profile.inbound_auth
      ? `${profile.name} cannot authenticate the calls it sends; rely on its addresses.`
      : "Digest credentials the carrier sends with each call (encrypted)";
  return (
    <fieldset className="form-section" data-testid="inbound-security">
      <legend>Inbound security</legend>
      <Field label="Allowed addresses" error={errors.inbound_allowed_addresses} help={addressesHelp}>
        {(ids) => (
          <textarea
            {...controlProps(ids, "inbound_allowed_addresses")}
            ref={allowedRef}
            rows={3}
            spellCheck={false}
            placeholder={placeholder || "203.0.113.10\n198.51.100.0/24"}
            value={state.allowed}
            disabled={disabled}
            onChange={(e) => onChange({ allowed: e.target.value })}
          />
        )}
      </Field>
      <div className="field-row">
        <Field label="Inbound username" error={errors.inbound_auth_username} help="For calls the carrier authenticates">
          {(ids) => (
            <input
              {...controlProps(ids, "inbound_auth_username")}
              type="text"
              autoComplete="off"
              spellCheck={false}
              value={state.inboundUser}
              disabled={disabled}
              onChange={(e) => onChange({ inboundUser: e.target.value })}
            />
          )}
        </Field>
        <Field label="Inbound password" error={errors.inbound_auth_password} help={passwordHelp}>
          {(ids) => (
            <input
              {...controlProps(ids, "inbound_auth_password")}
              type="password"
              autoComplete="new-password"
              placeholder={saved ? "•••••••• (set)" : ""}
              value={state.inboundPassword}
              disabled={disabled || state.clearInboundPassword}
              onChange={(e) => onChange({ inboundPassword: e.target.value })}
            />
          )}
        </Field>
      </div>
      {saved && (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={state.clearInboundPassword}
            disabled={disabled}
            onChange={(e) => onChange({ clearInboundPassword: e.target.checked, ...(e.target.checked ? { inboundPassword: "" } : {}) })}
          />
          Remove the saved inbound password
        </label>
      )}
      <label className="checkbox">
        <input
          type="checkbox"
          data-field="inbound_allow_any_source"
          checked={state.anySource}
          disabled={disabled}
          aria-describedby={warningId}
          onChange={(e) => onChange({ anySource: e.target.checked })}
        />
        Accept calls from any address
      </label>
      <p id={warningId} className={`field-warning${state.anySource ? " field-warning-on" : ""}`}>
        <AlertTriangle size={14} aria-hidden />
        {errors.inbound_allow_any_source ??
          "Not advised: anyone who finds your SIP address can reach your inbound agent and run up call costs."}
      </p>
    </fieldset>
  );
}
