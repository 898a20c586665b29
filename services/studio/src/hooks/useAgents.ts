import { useCallback, useState } from "react";
import type { Api } from "../lib/api";
import type { Agent } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** The organization's agents (the assignment dropdowns); `setAgents` takes the page's first load. */
export function useAgents(api: Api, apiError: ApiErrorReporter) {
  const [agents, setAgents] = useState<Agent[]>([]);

  const loadAgents = useCallback(async () => {
    try {
      setAgents(await api.listAgents());
    } catch (error) {
      apiError(error, "Could not load agents", () => void loadAgents());
    }
  }, [api, apiError]);

  return { agents, setAgents, loadAgents };
}
