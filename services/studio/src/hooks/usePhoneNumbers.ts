import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../lib/api";
import { sortNumbers, upsertNumber } from "../lib/filter";
import { laterResult, mergeNumbers, withCheck, withSyncResult, type SyncResult } from "../lib/freshness";
import type { Agent, AgentRef, PhoneNumber, PhoneNumberCheck } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/**
 * The organization's phone numbers as the page holds them: the first load (with the agents), refreshes
 * merged so that nothing newer goes back, single-number changes and trunk-sync's results.
 */
export function usePhoneNumbers(api: Api, apiError: ApiErrorReporter, maxLoaded: number, onAgents: (agents: Agent[]) => void) {
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);
  const [complete, setComplete] = useState(true);
  const [loading, setLoading] = useState(true);
  // trunk-sync's latest result per number, from the event stream: a response read before numbers-api
  // recorded it (the page's own refresh, or the read the event itself triggers) must not undo it.
  const syncResults = useRef(new Map<string, SyncResult>());
  const withKnownSync = useCallback((number: PhoneNumber) => withSyncResult(number, syncResults.current.get(number.id)), []);

  /** A fresh list from the server, merged so that nothing newer held here goes back. */
  const applyList = useCallback(
    (items: PhoneNumber[]) => setNumbers((all) => sortNumbers(mergeNumbers(all, items).map(withKnownSync))),
    [withKnownSync],
  );

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [page, agentList] = await Promise.all([api.listPhoneNumbers(undefined, maxLoaded), api.listAgents()]);
      setNumbers(sortNumbers(page.items));
      setComplete(page.complete);
      onAgents(agentList);
    } catch (error) {
      apiError(error, "Could not load phone numbers", () => void load());
    } finally {
      setLoading(false);
    }
  }, [api, apiError, maxLoaded, onAgents]);

  useEffect(() => {
    void load();
  }, [load]);

  const refresh = useCallback(async () => {
    try {
      const page = await api.listPhoneNumbers(undefined, maxLoaded);
      applyList(page.items);
      setComplete(page.complete);
    } catch (error) {
      apiError(error, "Could not refresh phone numbers", () => void refresh());
    }
  }, [api, apiError, applyList, maxLoaded]);

  /** Store one number as read (with the latest sync result known here); returns what was stored. */
  const upsert = useCallback(
    (read: PhoneNumber): PhoneNumber => {
      const number = withKnownSync(read);
      setNumbers((all) => upsertNumber(all, number));
      return number;
    },
    [withKnownSync],
  );

  const remove = useCallback((id: string) => setNumbers((all) => all.filter((n) => n.id !== id)), []);

  /** An agent renamed or changed: the numbers that show it follow. */
  const patchAgentRefs = useCallback((agent: AgentRef) => {
    const fix = (ref: AgentRef | null) => (ref && ref.id === agent.id ? { id: agent.id, name: agent.name, architecture: agent.architecture } : ref);
    setNumbers((all) =>
      all.map((n) =>
        n.inbound_agent?.id === agent.id || n.outbound_agent?.id === agent.id ? { ...n, inbound_agent: fix(n.inbound_agent), outbound_agent: fix(n.outbound_agent) } : n,
      ),
    );
  }, []);

  /** trunk-sync's result for a number, kept unless an earlier-applied one is later. */
  const applySyncResult = useCallback((id: string, incoming: SyncResult) => {
    const result = laterResult(syncResults.current.get(id), incoming);
    syncResults.current.set(id, result);
    setNumbers((all) => all.map((n) => (n.id === id ? withSyncResult(n, result) : n)));
  }, []);

  /** The trunk doctor's report on a number (its check response or the stream's `checked` event). */
  const applyCheck = useCallback((id: string, check: PhoneNumberCheck) => {
    setNumbers((all) => all.map((n) => (n.id === id ? withCheck(n, check) : n)));
  }, []);

  return { numbers, complete, loading, refresh, applyList, upsert, remove, patchAgentRefs, applySyncResult, applyCheck };
}
