import { AlertTriangle, CheckCircle2, Loader2 } from "lucide-react";
import type { Architecture, CheckVerdict, PhoneNumber, PhoneNumberCheck } from "../lib/types";

export function StatusBadge({ status }: { status: PhoneNumber["status"] }) {
  return <span className={`badge badge-${status}`}>{status === "active" ? "Active" : "Inactive"}</span>;
}

/** The LiveKit sync state: pending, synced, or failed with the error. */
export function SyncBadge({ sync }: { sync: PhoneNumber["sync"] }) {
  if (sync.state === "synced") {
    const at = sync.synced_at ? new Date(sync.synced_at) : null;
    return (
      <span className="sync sync-synced" data-testid="sync-state" title={at ? `Synced ${at.toLocaleString()}` : undefined}>
        <CheckCircle2 size={14} aria-hidden /> Synced with LiveKit
      </span>
    );
  }
  if (sync.state === "failed") {
    return (
      <span className="sync sync-failed" data-testid="sync-state" role="note">
        <AlertTriangle size={14} aria-hidden /> Sync failed{sync.error ? `: ${sync.error}` : ""}
      </span>
    );
  }
  return (
    <span className="sync sync-pending" data-testid="sync-state">
      <Loader2 size={14} className="spin" aria-hidden /> Sync pending
    </span>
  );
}

const VERDICT_LABELS: Record<CheckVerdict, string> = { healthy: "Healthy", degraded: "Degraded", failing: "Failing" };

/** The trunk doctor's verdict. */
export function VerdictBadge({ verdict }: { verdict: CheckVerdict }) {
  return <span className={`badge badge-verdict badge-${verdict}`}>{VERDICT_LABELS[verdict]}</span>;
}

/** The list's small verdict dot; the summary is its tooltip and accessible name. */
export function VerdictDot({ check }: { check: PhoneNumberCheck }) {
  const label = `Trunk check: ${VERDICT_LABELS[check.verdict]}. ${check.summary}`;
  return <span className={`verdict-dot verdict-${check.verdict}`} role="img" aria-label={label} title={label} data-testid="verdict-dot" />;
}

/** An agent's architecture (pipeline / realtime: voice; text: chat only). */
export function ArchitectureBadge({ architecture }: { architecture: Architecture }) {
  return <span className={`badge badge-arch-${architecture}`}>{architecture}</span>;
}
