import { useCallback, useState } from "react";

function selectedFromUrl(): string | null {
  return new URLSearchParams(window.location.search).get("number");
}

function selectInUrl(id: string | null): void {
  const params = new URLSearchParams(window.location.search);
  if (id) params.set("number", id);
  else params.delete("number");
  const query = params.toString();
  window.history.replaceState(window.history.state, "", `${window.location.pathname}${query ? `?${query}` : ""}${window.location.hash}`);
}

/** The selected number's id, kept in the address bar (`?number=`) so a reload or a link shows it. */
export function useSelection(onSelect: () => void) {
  const [selectedId, setSelectedId] = useState<string | null>(selectedFromUrl);
  const select = useCallback(
    (id: string | null) => {
      setSelectedId(id);
      selectInUrl(id);
      onSelect();
    },
    [onSelect],
  );
  return { selectedId, select };
}
