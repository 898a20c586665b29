import { AlertTriangle, CheckCircle2, Loader2, MinusCircle, Stethoscope, XCircle } from "lucide-react";
import { useEffect, useId, useRef, useState } from "react";
import type { CheckStep, PhoneNumber, PhoneNumberCheck } from "../lib/types";
import { VerdictBadge } from "./StatusBadge";

const STEP_LABELS: Record<CheckStep["name"], string> = {
  dns: "DNS",
  connect: "Connect",
  tls: "TLS",
  options: "SIP OPTIONS",
  auth: "Authentication",
};

const STEP_ICONS: Record<CheckStep["status"], typeof CheckCircle2> = {
  ok: CheckCircle2,
  warning: AlertTriangle,
  failed: XCircle,
  skipped: MinusCircle,
};

const STEP_STATUS: Record<CheckStep["status"], string> = { ok: "OK", warning: "Warning", failed: "Failed", skipped: "Skipped" };

interface Props {
  number: PhoneNumber;
  canManage: boolean;
  /** Run the check; resolves when it is done (the report arrives through the number's `last_check`). */
  onCheck: () => Promise<PhoneNumberCheck | null>;
}

/** The trunk doctor: "Check now" probes the carrier (DNS, connect, TLS, OPTIONS, auth); the last report. */
export function TrunkCheckPanel({ number, canManage, onCheck }: Props) {
  const [running, setRunning] = useState(false);
  const mounted = useRef(true);
  const titleId = useId();
  useEffect(() => () => void (mounted.current = false), []);
  const check = number.last_check ?? null;
  // numbers-api refuses (422) to check a number without a termination URI: there is nothing to probe.
  const noTarget = !number.termination_uri;

  const run = async () => {
    if (running) return;
    setRunning(true);
    try {
      await onCheck();
    } finally {
      if (mounted.current) setRunning(false);
    }
  };

  return (
    <section className="card trunk-check" aria-labelledby={titleId} data-testid="trunk-check">
      <div className="card-header">
        <h3 id={titleId}>
          <Stethoscope size={18} aria-hidden /> Trunk Check
        </h3>
        {canManage && (
          <button type="button" className="button secondary" onClick={run} disabled={running || noTarget} aria-busy={running || undefined}>
            {running && <Loader2 size={16} className="spin" aria-hidden />}
            {running ? "Checking…" : "Check now"}
          </button>
        )}
      </div>
      <div aria-live="polite">
        {running && !check && <p className="muted">Probing the carrier: this can take up to 10 seconds…</p>}
        {noTarget && !check && <p className="muted">Add a termination URI to check the trunk.</p>}
        {!running && !check && !noTarget && (
          <p className="muted">Not checked yet. A check reaches the carrier as LiveKit would: DNS, connection, TLS, SIP OPTIONS and authentication.</p>
        )}
        {check && <CheckReport check={check} />}
      </div>
    </section>
  );
}

function CheckReport({ check }: { check: PhoneNumberCheck }) {
  const at = new Date(check.checked_at);
  return (
    <div className="check-report" data-testid="check-report">
      <div className="check-head">
        <VerdictBadge verdict={check.verdict} />
        <span className="check-summary">{check.summary}</span>
      </div>
      <dl className="check-facts">
        <dt>Target</dt>
        <dd>{check.target}</dd>
        {check.round_trip_ms != null && (
          <>
            <dt>Round trip</dt>
            <dd>{Math.round(check.round_trip_ms)} ms</dd>
          </>
        )}
        <dt>Checked</dt>
        <dd>
          <time dateTime={check.checked_at}>{Number.isNaN(at.getTime()) ? check.checked_at : at.toLocaleString()}</time>
        </dd>
      </dl>
      <ol className="check-steps">
        {check.steps.map((step) => {
          const Icon = STEP_ICONS[step.status];
          return (
            <li key={step.name} className={`check-step check-step-${step.status}`}>
              <Icon size={16} className="check-step-icon" aria-label={STEP_STATUS[step.status]} role="img" />
              <div className="check-step-body">
                <p className="check-step-title">
                  {STEP_LABELS[step.name] ?? step.name}
                  {step.duration_ms != null && step.status !== "skipped" && <span className="muted"> · {Math.round(step.duration_ms)} ms</span>}
                </p>
                <p className="check-step-detail">{step.detail}</p>
                {step.fix && <p className="check-step-fix">Fix: {step.fix}</p>}
              </div>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
