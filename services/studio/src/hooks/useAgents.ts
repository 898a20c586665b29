import { useCallback, useState } from "react";
import type { Api } from "../lib/api";
import type { Agent } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** The organization's agents (the assignment dropdowns, the Agents page); `setAgents` takes the
 * Phone Numbers page's first load; `upsert` and `remove` apply one change (a save, a live event). */
export function useAgents(api: Api, apiError: ApiErrorReporter) {
  const [agents, setAgents] = useState<Agent[]>([]);
  const [loaded, setLoaded] = useState(false);

  const loadAgents = useCallback(async () => {
    try {
      setAgents(await api.listAgents());
    } catch (error) {
      apiError(error, "Could not load agents", () => void loadAgents());
    } finally {
      setLoaded(true);
    }
  }, [api, apiError]);

  /** An agent read (created or changed); an older version than the one held is ignored. */
  const upsert = useCallback((agent: Agent) => {
    setAgents((all) => {
      const index = all.findIndex((a) => a.id === agent.id);
      if (index < 0) return [...all, agent];
      if ((all[index].version ?? 0) > (agent.version ?? 0)) return all;
      const next = all.slice();
      next[index] = agent;
      return next;
    });
  }, []);

  const remove = useCallback((id: string) => setAgents((all) => all.filter((a) => a.id !== id)), []);

  return { agents, loaded, setAgents, loadAgents, upsert, remove };
}
