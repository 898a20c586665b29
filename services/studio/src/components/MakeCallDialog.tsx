import { AlertTriangle, CheckCircle2, Loader2, PhoneCall, XCircle } from "lucide-react";
import { useId, useRef, useState, type FormEvent } from "react";
import type { Api } from "../lib/api";
import { callPath, navigate } from "../lib/route";
import { describeCallResult, type CallOutcome } from "../lib/callOutcomes";
import type { OutboundCallSuccess, PhoneNumber } from "../lib/types";
import { normalizePhone, validatePhoneNumber } from "../lib/validation";
import { Dialog } from "./Dialog";

/** "Make Test Call": a destination in E.164, then `POST /telephony/outbound-call`, then the call's page
 * (`wait_until_answered: false`: call-orchestrator answers 202 with the call id once the agent is
 * dispatched, and the call's page follows it ringing, answered, ended). A refusal before that (the
 * seed's table: invalid number, not found, conflict, too many calls, service unavailable) is
 * explained here; what the carrier answers later is explained on the call's page. */
export function MakeCallDialog({ number, api, onClose }: { number: PhoneNumber; api: Api; onClose: () => void }) {
  const [to, setTo] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [calling, setCalling] = useState(false);
  const [outcome, setOutcome] = useState<CallOutcome | null>(null);
  const [success, setSuccess] = useState<OutboundCallSuccess | null>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  const id = useId();

  const call = async (event?: FormEvent) => {
    event?.preventDefault();
    if (calling) return;
    const invalid = validatePhoneNumber(to);
    setError(invalid);
    if (invalid) return;
    setCalling(true);
    setOutcome(null);
    setSuccess(null);
    try {
      const result = await api.outboundCall({ to_number: normalizePhone(to), from_number: number.phone_number, wait_until_answered: false });
      if (result.body?.success && result.body.call_id) {
        navigate(callPath(result.body.call_id));
        return;
      }
      setOutcome(describeCallResult(result));
      if (result.body?.success) setSuccess(result.body);
    } finally {
      setCalling(false);
    }
  };

  const Icon = outcome?.tone === "success" ? CheckCircle2 : outcome?.tone === "warning" ? AlertTriangle : XCircle;
  return (
    <Dialog title="Make Test Call" onClose={() => !calling && onClose()} initialFocus={inputRef}>
      <form className="dialog-form" onSubmit={call} noValidate>
        <p className="muted">
          Call any phone from <strong>{number.phone_number}</strong> with its outbound agent
          {number.outbound_agent ? (
            <>
              {" "}
              <strong>
                {number.outbound_agent.name} ({number.outbound_agent.architecture})
              </strong>
            </>
          ) : null}
          .
        </p>
        {!number.outbound_agent && (
          <p className="warning-box" role="note">
            This number has no outbound agent. Assign one under “Outbound Call Configuration” first, or the call will be refused.
          </p>
        )}
        <div className="field">
          <label htmlFor={id}>Destination Number</label>
          <input
            ref={inputRef}
            id={id}
            type="tel"
            inputMode="tel"
            placeholder="+12025550123"
            value={to}
            disabled={calling}
            className={error ? "invalid" : undefined}
            aria-invalid={error ? true : undefined}
            aria-describedby={`${id}-help`}
            onChange={(e) => {
              setTo(e.target.value);
              if (error) setError(validatePhoneNumber(e.target.value));
            }}
          />
          <p id={`${id}-help`} className={error ? "field-error" : "helper"}>
            {error ?? "E.164 format, e.g. +12025550123"}
          </p>
        </div>
        {outcome && (
          <div className={`outcome outcome-${outcome.tone}`} role={outcome.tone === "success" ? "status" : "alert"} data-testid="call-outcome">
            <Icon size={18} aria-hidden />
            <div>
              <p className="outcome-title">{outcome.title}</p>
              <p>{outcome.explanation}</p>
              {outcome.message && outcome.message !== outcome.title && <p className="muted">Details: {outcome.message}</p>}
              {outcome.sipStatus !== undefined && <p className="muted">SIP status: {outcome.sipStatus}</p>}
              {success && (
                <dl className="outcome-facts">
                  <dt>Room</dt>
                  <dd>{success.room_name}</dd>
                  <dt>Agent</dt>
                  <dd>{success.agent.name}</dd>
                  {success.call_id && (
                    <>
                      <dt>Call ID</dt>
                      <dd>{success.call_id}</dd>
                    </>
                  )}
                </dl>
              )}
            </div>
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onClose} disabled={calling}>
            {success ? "Close" : "Cancel"}
          </button>
          <button type="submit" className="button green" disabled={calling} aria-busy={calling || undefined}>
            {calling ? <Loader2 size={16} className="spin" aria-hidden /> : <PhoneCall size={16} aria-hidden />}
            {calling ? "Calling…" : outcome && outcome.tone !== "success" && outcome.retryable ? "Retry" : "Call"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
