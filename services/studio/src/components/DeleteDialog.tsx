import type { PhoneNumber } from "../lib/types";
import { ConfirmDialog } from "./ConfirmDialog";

/** The seed's confirmation before a number is deleted. */
export function DeleteDialog({ number, onClose, onConfirm }: { number: PhoneNumber; onClose: () => void; onConfirm: () => Promise<void> }) {
  return (
    <ConfirmDialog
      title="Delete Phone Number"
      description={
        <>
          <p>Are you sure you want to delete phone number {number.phone_number}?</p>
          <p className="muted">This action cannot be undone.</p>
        </>
      }
      confirmLabel="Confirm"
      onClose={onClose}
      onConfirm={onConfirm}
    />
  );
}
