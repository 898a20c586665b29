import type { ReactNode } from "react";
import type { Agent } from "../lib/types";
import { ConfirmDialog } from "./ConfirmDialog";

/** Confirm before an agent is deleted; a 409 (phone numbers use it) replaces the question with its explanation. */
export function DeleteAgentDialog({ agent, onClose, onConfirm }: { agent: Agent; onClose: () => void; onConfirm: () => Promise<ReactNode | null> }) {
  return (
    <ConfirmDialog
      title="Delete Agent"
      description={
        <>
          <p>Are you sure you want to delete the agent {agent.name}?</p>
          <p className="muted">This action cannot be undone.</p>
        </>
      }
      confirmLabel="Confirm"
      onClose={onClose}
      onConfirm={onConfirm}
      refusalTestId="agent-assigned"
    />
  );
}
