import { Loader2 } from "lucide-react";
import { useRef, useState, type ReactNode } from "react";
import { Dialog } from "./Dialog";

interface ConfirmDialogProps {
  title: string;
  description: ReactNode;
  /** The confirming (danger) button's label, its label while the action runs, and its icon. */
  confirmLabel: string;
  busyLabel?: string;
  icon?: ReactNode;
  /** The button that backs out (it has the focus first, so Enter never confirms by accident). */
  cancelLabel?: string;
  onClose: () => void;
  /** The action; what it returns, if anything, is why it was refused: shown in place of the question, with Close. */
  onConfirm: () => Promise<ReactNode | void>;
  refusalTestId?: string;
}

/** The Studio's confirmation before anything that cannot be undone: an alert dialog whose danger button runs the
 * action (busy meanwhile, the dialog staying open until it ends), and whose other button, focused first, backs out. */
export function ConfirmDialog({ title, description, confirmLabel, busyLabel, icon, cancelLabel = "Cancel", onClose, onConfirm, refusalTestId }: ConfirmDialogProps) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<ReactNode>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const confirm = async () => {
    setBusy(true);
    try {
      setRefusal((await onConfirm()) ?? null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={title}
      role="alertdialog"
      size="sm"
      initialFocus={cancel}
      onClose={() => !busy && onClose()}
      description={
        refusal ? (
          <div className="refusal" role="alert" data-testid={refusalTestId}>
            {refusal}
          </div>
        ) : (
          description
        )
      }
    >
      <div className="dialog-actions">
        <button ref={cancel} type="button" className="button secondary" onClick={onClose} disabled={busy}>
          {refusal ? "Close" : cancelLabel}
        </button>
        {!refusal && (
          <button type="button" className="button danger" onClick={() => void confirm()} disabled={busy} aria-busy={busy || undefined}>
            {busy ? <Loader2 size={16} className="spin" aria-hidden /> : icon}
            {busy && busyLabel ? busyLabel : confirmLabel}
          </button>
        )}
      </div>
    </Dialog>
  );
}
