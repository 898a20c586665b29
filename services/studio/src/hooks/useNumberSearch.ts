import { useCallback, useDeferredValue, useEffect, useMemo, useState } from "react";
import type { Api } from "../lib/api";
import { filterNumbers, upsertNumber } from "../lib/filter";
import { withCheck } from "../lib/freshness";
import type { PhoneNumber, PhoneNumberCheck } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** The list's search box and the numbers it shows. */
export function useNumberSearch(api: Api, apiError: ApiErrorReporter, numbers: PhoneNumber[], complete: boolean, maxLoaded: number) {
  const [search, setSearch] = useState("");
  const [serverResults, setServerResults] = useState<PhoneNumber[] | null>(null);
  const deferredSearch = useDeferredValue(search);

  // Everything is loaded (the usual case): filter in the browser on every keystroke. Past `maxLoaded`
  // numbers the server's `search` answers, a moment later.
  useEffect(() => {
    if (complete || !search.trim()) {
      setServerResults(null);
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      api.listPhoneNumbers(search.trim(), maxLoaded).then(
        (page) => !cancelled && setServerResults(page.items),
        (error) => !cancelled && apiError(error, "Search failed"),
      );
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, apiError, complete, maxLoaded, search]);

  const visible = useMemo(
    () => (serverResults && !complete ? filterNumbers(serverResults, deferredSearch) : filterNumbers(numbers, deferredSearch)),
    [complete, deferredSearch, numbers, serverResults],
  );

  /** A number changed: the server's results show the change if they hold it. */
  const upsertResult = useCallback(
    (number: PhoneNumber) => setServerResults((all) => all && (all.some((n) => n.id === number.id) ? upsertNumber(all, number) : all)),
    [],
  );
  const removeResult = useCallback((id: string) => setServerResults((all) => all && all.filter((n) => n.id !== id)), []);

  const checkResult = useCallback(
    (id: string, check: PhoneNumberCheck) => setServerResults((all) => all && all.map((n) => (n.id === id ? withCheck(n, check) : n))),
    [],
  );

  return { search, setSearch, visible, upsertResult, removeResult, checkResult };
}
