import { useCallback, useState } from "react";
import type { Api } from "../lib/api";
import type { PhoneNumber } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** The Agents page's view of the phone numbers: which number uses which agent (and each number's id, for links). */
export function useAgentNumbers(api: Api, apiError: ApiErrorReporter, maxLoaded: number) {
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);

  /** Read them again; resolves with what was read (the 409 explanation needs it at once). */
  const loadNumbers = useCallback(async (): Promise<PhoneNumber[]> => {
    try {
      const { items } = await api.listPhoneNumbers(undefined, maxLoaded);
      setNumbers(items);
      return items;
    } catch (error) {
      apiError(error, "Could not load phone numbers", () => void loadNumbers());
      return [];
    }
  }, [api, apiError, maxLoaded]);

  const upsertNumber = useCallback((read: PhoneNumber) => {
    setNumbers((all) => {
      const index = all.findIndex((n) => n.id === read.id);
      if (index < 0) return [...all, read];
      if ((all[index].version ?? 0) > (read.version ?? 0)) return all;
      const next = all.slice();
      next[index] = read;
      return next;
    });
  }, []);
  const removeNumber = useCallback((id: string) => setNumbers((all) => all.filter((n) => n.id !== id)), []);

  return { numbers, loadNumbers, upsertNumber, removeNumber };
}
