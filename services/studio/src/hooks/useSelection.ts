import { useCallback, useState } from "react";

function selectedFromUrl(param: string): string | null {
  return new URLSearchParams(window.location.search).get(param);
}

function selectInUrl(param: string, id: string | null): void {
  const params = new URLSearchParams(window.location.search);
  if (id) params.set(param, id);
  else params.delete(param);
  const query = params.toString();
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`);
}

/** The selected item's id, kept in the address bar (`?number=` on the Phone Numbers page, `?agent=` on
 * the Agents page) so a reload or a link shows it. */
export function useSelection(onSelect: () => void, param = "number") {
  const [selectedId, setSelectedId] = useState<string | null>(() => selectedFromUrl(param));
  const select = useCallback(
    (id: string | null) => {
      setSelectedId(id);
      selectInUrl(param, id);
      onSelect();
    },
    [onSelect, param],
  );
  return { selectedId, select };
}
