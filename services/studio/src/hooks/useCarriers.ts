import { useCallback, useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { CarrierProfile } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** The carrier profiles (`GET /carriers`), loaded once per session: the same for every organization. */
export function useCarriers(api: Api, apiError: ApiErrorReporter): CarrierProfile[] {
  const [carriers, setCarriers] = useState<CarrierProfile[]>([]);
  const load = useCallback(async () => {
    try {
      setCarriers(await api.listCarriers());
    } catch (error) {
      apiError(error, "Could not load carrier profiles", () => void load());
    }
  }, [api, apiError]);
  useEffect(() => {
    void load();
  }, [load]);
  return carriers;
}
