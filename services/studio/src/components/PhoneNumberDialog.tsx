import { Loader2 } from "lucide-react";
import { useRef, useState, type FormEvent } from "react";
import { carrierOfHost, findCarrier } from "../lib/carriers";
import { ADVANCED_FIELDS, checkSipForm, initialSipForm, problemField, SIP_FIELDS, sipFormBody, type SipField, type SipFormState } from "../lib/sipForm";
import type { CarrierProfile, FieldProblem, PhoneNumber, PhoneNumberWrite } from "../lib/types";
import { normalizePhone, validatePhoneNumber, validateSipPassword, validateSipUsername, validateTerminationUri } from "../lib/validation";
import { AdvancedSipFields } from "./AdvancedSipFields";
import { CarrierFields } from "./CarrierFields";
import { Dialog } from "./Dialog";
import { Field } from "./FormField";
import { InboundSecurityFields } from "./InboundSecurityFields";

type FieldName = "phone_number" | "termination_uri" | "sip_username" | "sip_password";
type Errors = Partial<Record<FieldName | SipField | "form", string>>;

interface Props {
  /** The number to edit; absent to add one. */
  number?: PhoneNumber | null;
  /** Carrier profiles (`GET /carriers`). */
  carriers: CarrierProfile[];
  /** Open on the inbound security section (an inbound agent was refused on an open number). */
  focus?: "inbound";
  onClose: () => void;
  /** Send the body; resolve with field errors (shown inline) or null on success. */
  onSubmit: (body: PhoneNumberWrite) => Promise<FieldProblem[] | null>;
}

const FIELDS: FieldName[] = ["phone_number", "termination_uri", "sip_username", "sip_password"];
const ALL_FIELDS = [...FIELDS, ...SIP_FIELDS];

/** The seed's Add / Edit Phone Number dialog. */
export function PhoneNumberDialog({ number, carriers, focus, onClose, onSubmit }: Props) {
  const editing = Boolean(number);
  const [values, setValues] = useState({
    phone_number: number?.phone_number ?? "",
    termination_uri: number?.termination_uri ?? "",
    sip_username: number?.sip_username ?? "",
    sip_password: "",
  });
  const [clearPassword, setClearPassword] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [saving, setSaving] = useState(false);
  const [sip, setSip] = useState<SipFormState>(() => initialSipForm(number));
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const firstField = useRef<HTMLInputElement>(null);
  const allowedField = useRef<HTMLTextAreaElement>(null);
  // The carrier the number will use: the one picked, else the one its termination URI names.
  const profile = findCarrier(carriers, sip.carrier || carrierOfHost(carriers, values.termination_uri));

  const changeSip = (patch: Partial<SipFormState>) => {
    setSip((s) => ({ ...s, ...patch }));
    const touched: Partial<Record<keyof SipFormState, SipField>> = {
      carrier: "carrier",
      allowed: "inbound_allowed_addresses",
      inboundUser: "inbound_auth_username",
      inboundPassword: "inbound_auth_password",
      anySource: "inbound_allow_any_source",
      transport: "sip_transport",
      mediaEncryption: "media_encryption",
      format: "number_format",
      headers: "sip_headers",
    };
    const cleared = Object.keys(patch).map((k) => touched[k as keyof SipFormState]).filter(Boolean) as SipField[];
    if (cleared.some((f) => errors[f])) setErrors((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !cleared.includes(k as SipField))));
  };

  // Another carrier: its transport, media encryption and number format (unless this number has its own format).
  const pickCarrier = (carrier: string) =>
    changeSip({ carrier, transport: null, mediaEncryption: null, ...(number?.number_format ? {} : { format: null }) });

  const check = (name: FieldName, value: string): string | null => {
    switch (name) {
      case "phone_number":
        return validatePhoneNumber(value);
      case "termination_uri":
        return validateTerminationUri(value);
      case "sip_username":
        return validateSipUsername(value);
      case "sip_password":
        return validateSipPassword(value);
    }
  };

  const change = (name: FieldName, value: string) => {
    setValues((v) => ({ ...v, [name]: value }));
    // Once a field has shown an error, re-check it as the user types.
    if (errors[name]) setErrors((e) => ({ ...e, [name]: check(name, value) ?? undefined }));
  };

  const blur = (name: FieldName) => {
    const error = check(name, values[name]);
    if (values[name] || errors[name]) setErrors((e) => ({ ...e, [name]: error ?? undefined }));
  };

  const body = (): PhoneNumberWrite => {
    const phone = normalizePhone(values.phone_number);
    const uri = values.termination_uri.trim();
    const user = values.sip_username.trim();
    if (!number) {
      const created: PhoneNumberWrite = { phone_number: phone, ...sipFormBody(sip, null, profile) };
      if (uri) created.termination_uri = uri;
      if (user) created.sip_username = user;
      if (values.sip_password) created.sip_password = values.sip_password;
      return created;
    }
    // Edit: send what changed; the password only when typed (or explicitly removed).
    const patch: PhoneNumberWrite = sipFormBody(sip, number, profile);
    if (phone !== number.phone_number) patch.phone_number = phone;
    if (uri !== (number.termination_uri ?? "")) patch.termination_uri = uri || null;
    if (user !== (number.sip_username ?? "")) patch.sip_username = user || null;
    if (values.sip_password) patch.sip_password = values.sip_password;
    else if (clearPassword) patch.sip_password = null;
    return patch;
  };

  /** Show the errors (opening Advanced SIP when one is there) and focus the first; whether there were any. */
  const show = (found: Errors): boolean => {
    setErrors(found);
    const first = ALL_FIELDS.find((f) => found[f]);
    if (!first) return Object.keys(found).length > 0;
    if (ADVANCED_FIELDS.some((f) => found[f])) setAdvancedOpen(true);
    // After the render that opens the block.
    setTimeout(() => document.querySelector<HTMLElement>(`[data-field="${first}"]`)?.focus(), 0);
    return true;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (saving) return;
    const found: Errors = checkSipForm(sip, Boolean(number?.has_inbound_auth_password));
    for (const name of FIELDS) {
      const error = check(name, values[name]);
      if (error) found[name] = error;
    }
    if (show(found)) return;
    setSaving(true);
    try {
      const problems = await onSubmit(body());
      if (problems) {
        const mapped: Errors = {};
        for (const p of problems) {
          const field = problemField(p.field, ALL_FIELDS) ?? "form";
          mapped[field] = mapped[field] ? `${mapped[field]}; ${p.message}` : p.message;
        }
        show(mapped);
      }
    } finally {
      setSaving(false);
    }
  };

  const input = (name: FieldName, ids: { id: string; describedBy: string; invalid: boolean }, extra: Record<string, unknown> = {}) => (
    <input
      id={ids.id}
      data-field={name}
      value={values[name]}
      className={ids.invalid ? "invalid" : undefined}
      aria-invalid={ids.invalid || undefined}
      aria-describedby={ids.describedBy}
      disabled={saving}
      onChange={(e) => change(name, e.target.value)}
      onBlur={() => blur(name)}
      {...extra}
    />
  );

  return (
    <Dialog title={editing ? "Edit Phone Number" : "Add Phone Number"} onClose={() => !saving && onClose()} initialFocus={focus === "inbound" ? allowedField : firstField}>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <Field label="Phone Number" required error={errors.phone_number} help="E.164 format (+1234567890)">
          {(ids) => input("phone_number", ids, { ref: firstField, type: "tel", inputMode: "tel", autoComplete: "off", placeholder: "+1234567890", "aria-required": true })}
        </Field>
        <Field label="Termination URI" error={errors.termination_uri} help="SIP URI for outbound (e.g., your-trunk.pstn.twilio.com)">
          {(ids) => input("termination_uri", ids, { type: "text", autoComplete: "off", spellCheck: false, placeholder: "your-trunk.pstn.twilio.com" })}
        </Field>
        <Field label="SIP Username" error={errors.sip_username} help="For outbound authentication">
          {(ids) => input("sip_username", ids, { type: "text", autoComplete: "off", spellCheck: false })}
        </Field>
        <Field
          label="SIP Password"
          error={errors.sip_password}
          help={
            number?.has_sip_password
              ? clearPassword
                ? "The saved password will be removed."
                : "A password is set. Leave blank to keep it; type a new one to replace it."
              : "For outbound authentication (encrypted)"
          }
        >
          {(ids) =>
            input("sip_password", ids, {
              type: "password",
              autoComplete: "new-password",
              placeholder: number?.has_sip_password ? "•••••••• (set)" : "",
              disabled: saving || clearPassword,
            })
          }
        </Field>
        {number?.has_sip_password && (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={clearPassword}
              disabled={saving}
              onChange={(e) => {
                setClearPassword(e.target.checked);
                if (e.target.checked) change("sip_password", "");
              }}
            />
            Remove the saved SIP password
          </label>
        )}
        <CarrierFields
          carriers={carriers}
          value={sip.carrier}
          effective={profile}
          adding={!editing}
          error={errors.carrier}
          disabled={saving}
          onChange={pickCarrier}
        />
        <InboundSecurityFields state={sip} profile={profile} number={number} errors={errors} disabled={saving} onChange={changeSip} allowedRef={allowedField} />
        <AdvancedSipFields state={sip} profile={profile} errors={errors} disabled={saving} open={advancedOpen} onToggle={setAdvancedOpen} onChange={changeSip} />
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
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
