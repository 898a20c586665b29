import { Loader2 } from "lucide-react";
import { useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import type { FieldProblem, PhoneNumber, PhoneNumberWrite } from "../lib/types";
import { normalizePhone, validatePhoneNumber, validateSipPassword, validateSipUsername, validateTerminationUri } from "../lib/validation";
import { Dialog } from "./Dialog";

type FieldName = "phone_number" | "termination_uri" | "sip_username" | "sip_password";
type Errors = Partial<Record<FieldName | "form", string>>;

interface Props {
  /** The number to edit; absent to add one. */
  number?: PhoneNumber | null;
  onClose: () => void;
  /** Send the body; resolve with field errors (shown inline) or null on success. */
  onSubmit: (body: PhoneNumberWrite) => Promise<FieldProblem[] | null>;
}

const FIELDS: FieldName[] = ["phone_number", "termination_uri", "sip_username", "sip_password"];

function Field(props: {
  label: string;
  required?: boolean;
  error?: string;
  help: ReactNode;
  children: (ids: { id: string; describedBy: string; invalid: boolean }) => ReactNode;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  return (
    <div className="field">
      <label htmlFor={id}>
        {props.label}
        {props.required && (
          <span className="required" aria-hidden>
            {" "}
            *
          </span>
        )}
      </label>
      {props.children({ id, describedBy: helpId, invalid: Boolean(props.error) })}
      <p id={helpId} className={props.error ? "field-error" : "helper"}>
        {props.error ?? props.help}
      </p>
    </div>
  );
}

/** The seed's Add / Edit Phone Number dialog. */
export function PhoneNumberDialog({ number, onClose, onSubmit }: Props) {
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
  const firstField = useRef<HTMLInputElement>(null);

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
      const created: PhoneNumberWrite = { phone_number: phone };
      if (uri) created.termination_uri = uri;
      if (user) created.sip_username = user;
      if (values.sip_password) created.sip_password = values.sip_password;
      return created;
    }
    // Edit: send what changed; the password only when typed (or explicitly removed).
    const patch: PhoneNumberWrite = {};
    if (phone !== number.phone_number) patch.phone_number = phone;
    if (uri !== (number.termination_uri ?? "")) patch.termination_uri = uri || null;
    if (user !== (number.sip_username ?? "")) patch.sip_username = user || null;
    if (values.sip_password) patch.sip_password = values.sip_password;
    else if (clearPassword) patch.sip_password = null;
    return patch;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (saving) return;
    const found: Errors = {};
    for (const name of FIELDS) {
      const error = check(name, values[name]);
      if (error) found[name] = error;
    }
    setErrors(found);
    if (Object.keys(found).length > 0) {
      const first = FIELDS.find((f) => found[f]);
      document.querySelector<HTMLElement>(`[data-field="${first}"]`)?.focus();
      return;
    }
    setSaving(true);
    try {
      const problems = await onSubmit(body());
      if (problems) {
        const mapped: Errors = {};
        for (const p of problems) {
          const field = p.field.split(".").pop() as FieldName;
          if (FIELDS.includes(field)) mapped[field] = p.message;
          else mapped.form = mapped.form ? `${mapped.form}; ${p.message}` : p.message;
        }
        setErrors(mapped);
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
    <Dialog title={editing ? "Edit Phone Number" : "Add Phone Number"} onClose={() => !saving && onClose()} initialFocus={firstField}>
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
