import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import type { Layout } from "../lib/hooks";

/** The tablet and mobile drawer holding the full list; closed whenever the layout becomes desktop. */
export function useDrawer(layout: Layout, searchRef: RefObject<HTMLInputElement | null>) {
  const [drawerOpen, setDrawerOpen] = useState(false);
  const focusSearchOnOpen = useRef(false);

  const openDrawer = useCallback(() => setDrawerOpen(true), []);
  const closeDrawer = useCallback(() => setDrawerOpen(false), []);
  /** Open the drawer with the cursor in its search box (Ctrl+F off desktop). */
  const openDrawerToSearch = useCallback(() => {
    focusSearchOnOpen.current = true;
    setDrawerOpen(true);
  }, []);

  useEffect(() => {
    if (drawerOpen && focusSearchOnOpen.current) {
      focusSearchOnOpen.current = false;
      searchRef.current?.focus();
    }
  }, [drawerOpen, searchRef]);
  useEffect(() => {
    if (layout === "desktop") setDrawerOpen(false);
  }, [layout]);

  return { drawerOpen, openDrawer, closeDrawer, openDrawerToSearch };
}
