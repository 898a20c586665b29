import { useCallback, useState } from "react";
import type { PhoneNumber } from "../lib/types";

export type DialogState = { kind: "add" } | { kind: "edit"; number: PhoneNumber; focus?: "inbound" } | { kind: "delete"; number: PhoneNumber } | { kind: "call"; number: PhoneNumber } | null;

/** The one dialog open over the page (add, edit, delete, test call); opening one closes the drawer. */
export function usePageDialog(closeDrawer: () => void) {
  const [dialog, setDialog] = useState<DialogState>(null);

  const closeDialog = useCallback(() => setDialog(null), []);
  const openAdd = useCallback(() => {
    closeDrawer();
    setDialog({ kind: "add" });
  }, [closeDrawer]);
  const openEdit = useCallback(
    (number: PhoneNumber, focus?: "inbound") => {
      closeDrawer();
      setDialog({ kind: "edit", number, focus });
    },
    [closeDrawer],
  );
  const openDelete = useCallback(
    (number: PhoneNumber) => {
      closeDrawer();
      setDialog({ kind: "delete", number });
    },
    [closeDrawer],
  );
  const openCall = useCallback((number: PhoneNumber) => setDialog({ kind: "call", number }), []);

  return { dialog, closeDialog, openAdd, openEdit, openDelete, openCall };
}
