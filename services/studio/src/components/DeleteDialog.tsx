import { Loader2 } from "lucide-react";
import { useRef, useState } from "react";
import type { PhoneNumber } from "../lib/types";
import { Dialog } from "./Dialog";

/** The seed's confirmation before a number is deleted. */
export function DeleteDialog({ number, onClose, onConfirm }: { number: PhoneNumber; onClose: () => void; onConfirm: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  return (
    <Dialog
      title="Delete Phone Number"
      role="alertdialog"
      size="sm"
      initialFocus={cancel}
      onClose={() => !busy && onClose()}
      description={
        <>
          <p>Are you sure you want to delete phone number {number.phone_number}?</p>
          <p className="muted">This action cannot be undone.</p>
        </>
      }
    >
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="button secondary" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button
          type="button"
          className="button danger"
          disabled={busy}
          aria-busy={busy || undefined}
          onClick={async () => {
            setBusy(true);
            try {
              await onConfirm();
            } finally {
              setBusy(false);
            }
          }}
        >
          {busy && <Loader2 size={16} className="spin" aria-hidden />}
          Confirm
        </button>
      </div>
    </Dialog>
  );
}
