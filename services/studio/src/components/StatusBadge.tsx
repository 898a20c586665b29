import { AlertTriangle, CheckCircle2, Loader2 } from "lucide-react";
import type { PhoneNumber } from "../lib/types";

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
