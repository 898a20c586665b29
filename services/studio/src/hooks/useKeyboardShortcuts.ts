import { useEffect, type RefObject } from "react";
import { isTyping, type Layout } from "../lib/hooks";
import type { PhoneNumber } from "../lib/types";

interface Shortcuts {
  layout: Layout;
  /** A dialog or the drawer is open: N and Delete belong to it. */
  dialogOpen: boolean;
  drawerOpen: boolean;
  canManage: boolean;
  selected: PhoneNumber | null;
  searchRef: RefObject<HTMLInputElement | null>;
  openDrawerToSearch: () => void;
  openAdd: () => void;
  openDelete: (number: PhoneNumber) => void;
}

/** The seed's "future" shortcuts: N adds, Ctrl+F searches, Delete deletes; Enter saves inside the forms. */
export function useKeyboardShortcuts({ layout, dialogOpen, drawerOpen, canManage, selected, searchRef, openDrawerToSearch, openAdd, openDelete }: Shortcuts) {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "f") {
        event.preventDefault();
        if (dialogOpen) return;
        if (layout === "desktop") searchRef.current?.focus();
        else openDrawerToSearch();
        return;
      }
      if (dialogOpen || drawerOpen || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if ((event.key === "n" || event.key === "N") && canManage) {
        event.preventDefault();
        openAdd();
      } else if (event.key === "Delete" && canManage && selected) {
        event.preventDefault();
        openDelete(selected);
      }
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [canManage, dialogOpen, drawerOpen, layout, openAdd, openDelete, openDrawerToSearch, searchRef, selected]);
}
