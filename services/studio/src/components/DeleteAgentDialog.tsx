import { Loader2 } from "lucide-react";
import { useRef, useState, type ReactNode } from "react";
import type { Agent } from "../lib/types";
import { Dialog } from "./Dialog";

/** Confirm before an agent is deleted; a 409 (phone numbers use it) replaces the question with its explanation. */
export function DeleteAgentDialog({ agent, onClose, onConfirm }: { agent: Agent; onClose: () => void; onConfirm: () => Promise<ReactNode | null> }) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<ReactNode>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      title="Delete Agent"
      role="alertdialog"
      size="sm"
      initialFocus={cancel}
      onClose={() => !busy && onClose()}
      description={
        refusal ? (
          <div className="refusal" role="alert" data-testid="agent-assigned">
            {refusal}
          </div>
        ) : (
          <>
            <p>Are you sure you want to delete the agent {agent.name}?</p>
            <p className="muted">This action cannot be undone.</p>
          </>
        )
      }
    >
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="button secondary" onClick={onClose} disabled={busy}>
          {refusal ? "Close" : "Cancel"}
        </button>
        {!refusal && (
          <button
            type="button"
            className="button danger"
            disabled={busy}
            aria-busy={busy || undefined}
            onClick={async () => {
              setBusy(true);
              try {
                setRefusal(await onConfirm());
              } finally {
                setBusy(false);
              }
            }}
          >
            {busy && <Loader2 size={16} className="spin" aria-hidden />}
            Confirm
          </button>
        )}
      </div>
    </Dialog>
  );
}
