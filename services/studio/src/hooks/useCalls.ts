import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, type Api } from "../lib/api";
import { isLive, matchesFilters, mergeCall } from "../lib/calls";
import { connectLiveEvents, type CloudEvent, type LiveState, type LiveSubject } from "../lib/realtime";
import type { CallFilters, CallRecord, CallTranscript } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

export const CALLS_PAGE_SIZE = 50;
/** How often a page with live calls on it reads again: numbers-api's `GET /events` does not relay
 * `telephony.call.*` yet, so reads are what moves a call along; with call events on the stream
 * (`streamCarriesCalls`) the reads only catch what a reconnect missed. */
export const CALL_POLL_MS = 3_000;
export const CALL_POLL_STREAMED_MS = 30_000;

function newestFirst(a: CallRecord, b: CallRecord): number {
  return a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** `telephony.call.*` from numbers-api's stream (off when `live` is false): each call as it changes
 * (CallData), and the id of a call that was priced (`costed` carries no CallData: read it). */
export function useCallEvents(token: string, live: boolean, onCall: (call: CallRecord, event: CloudEvent) => void, onCosted: (id: string) => void) {
  const [liveState, setLiveState] = useState<LiveState>("offline");
  const [streamCarriesCalls, setStreamCarriesCalls] = useState(false);
  const handlers = useRef({ onCall, onCosted });
  handlers.current = { onCall, onCosted };
  useEffect(() => {
    if (!live) return;
    return connectLiveEvents(
      token,
      (subject: LiveSubject, event: CloudEvent) => {
        if (!subject.startsWith("telephony.call.")) return;
        setStreamCarriesCalls(true);
        if (subject === "telephony.call.costed") {
          const data = event.data as { call_id?: string };
          handlers.current.onCosted(data.call_id ?? event.subject);
        } else {
          handlers.current.onCall(event.data as CallRecord, event);
        }
      },
      setLiveState,
    );
  }, [live, token]);
  return { liveState, streamCarriesCalls };
}

/** Call `tick` every `ms` while `active` (and the tab is visible). */
export function usePolling(active: boolean, ms: number, tick: () => void) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      if (typeof document === "undefined" || document.visibilityState !== "hidden") latest.current();
    }, ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

/** The call history under `filters`: the first page, "Load more" (cursor), and changes merged in
 * (a later state wins, an earlier one is ignored: `mergeCall`). */
export function useCallHistory(api: Api, filters: CallFilters, apiError: ApiErrorReporter) {
  const [calls, setCalls] = useState<CallRecord[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [failed, setFailed] = useState(false);
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  const { phone_number, direction, status, agent_id, from, to } = filters;
  // Each change of filters starts a new list: answers to requests made for earlier filters are dropped.
  const generation = useRef(0);

  /** Merge reads or events into the list; calls not shown yet join it when they match the filters. */
  const apply = useCallback((incoming: CallRecord[], addNew: boolean) => {
    setCalls((current) => {
      const byId = new Map(current.map((c) => [c.id, c]));
      let changed = false;
      for (const call of incoming) {
        const known = byId.get(call.id);
        if (known) {
          const merged = mergeCall(known, call);
          if (merged !== known) {
            byId.set(call.id, merged);
            changed = true;
          }
        } else if (addNew && matchesFilters(call, filtersRef.current)) {
          byId.set(call.id, call);
          changed = true;
        }
      }
      return changed ? [...byId.values()].sort(newestFirst) : current;
    });
  }, []);

  const load = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    setFailed(false);
    try {
      const page = await api.listCalls({ phone_number, direction, status, agent_id, from, to }, null, CALLS_PAGE_SIZE);
      if (mine !== generation.current) return;
      setCalls(page.items);
      setNextCursor(page.next_cursor);
    } catch (error) {
      if (mine !== generation.current) return;
      setFailed(true);
      setCalls([]);
      setNextCursor(null);
      apiError(error, "Could not load calls", () => void load());
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [api, apiError, direction, phone_number, status, agent_id, from, to]);

  useEffect(() => {
    void load();
  }, [load]);

  const loadMore = useCallback(async () => {
    if (!nextCursor || loadingMore) return;
    const mine = generation.current;
    setLoadingMore(true);
    try {
      const page = await api.listCalls({ phone_number, direction, status, agent_id, from, to }, nextCursor, CALLS_PAGE_SIZE);
      if (mine !== generation.current) return;
      apply(page.items, true);
      setNextCursor(page.next_cursor);
    } catch (error) {
      apiError(error, "Could not load more calls", () => void loadMore());
    } finally {
      setLoadingMore(false);
    }
  }, [api, apiError, apply, direction, loadingMore, nextCursor, phone_number, status, agent_id, from, to]);

  /** Read the first page again (new calls, changed states); quietly: the next read tries again. */
  const refresh = useCallback(async () => {
    const mine = generation.current;
    try {
      const page = await api.listCalls({ phone_number, direction, status, agent_id, from, to }, null, CALLS_PAGE_SIZE);
      if (mine === generation.current) apply(page.items, true);
    } catch {
      /* shown calls stay as they are */
    }
  }, [api, apply, direction, phone_number, status, agent_id, from, to]);

  /** Read one call again (priced, or live below the first page). */
  const refreshCall = useCallback(
    async (id: string) => {
      try {
        apply([await api.getCall(id)], false);
      } catch {
        /* the next read tries again */
      }
    },
    [api, apply],
  );

  const hasLive = calls.some(isLive);
  return { calls, nextCursor, loading, loadingMore, failed, load, loadMore, refresh, refreshCall, apply, hasLive };
}

/** What this page saw a call do: each state it showed, when, and how it heard. */
export interface SeenChange {
  status: CallRecord["status"];
  at: string;
  via: "live event" | "read" | "hang up" | "recording deleted";
}

export type TranscriptState = { state: "loading" } | { state: "missing" } | { state: "error"; message: string } | { state: "ready"; transcript: CallTranscript };

/** One call: read, merged with events and reads (never back), what was seen, its transcript. */
export function useCall(api: Api, id: string, apiError: ApiErrorReporter) {
  const [call, setCall] = useState<CallRecord | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [seen, setSeen] = useState<SeenChange[]>([]);
  const [transcript, setTranscript] = useState<TranscriptState>({ state: "loading" });
  const callRef = useRef<CallRecord | null>(null);

  const apply = useCallback((incoming: CallRecord, via: SeenChange["via"], at?: string) => {
    const current = callRef.current;
    const merged = mergeCall(current ?? undefined, incoming);
    if (merged === current) return;
    if (current && merged.status !== current.status) {
      setSeen((list) => [...list, { status: merged.status, at: at ?? new Date().toISOString(), via }]);
    }
    callRef.current = merged;
    setCall(merged);
  }, []);

  const read = useCallback(
    async (quiet: boolean) => {
      try {
        apply(await api.getCall(id), "read");
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) setNotFound(true);
        else if (!quiet) apiError(error, "Could not load the call", () => void read(false));
      }
    },
    [api, apiError, apply, id],
  );

  const readTranscript = useCallback(async () => {
    try {
      setTranscript({ state: "ready", transcript: await api.getTranscript(id) });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) setTranscript({ state: "missing" });
      else setTranscript({ state: "error", message: error instanceof Error ? error.message : String(error) });
    }
  }, [api, id]);

  useEffect(() => {
    void read(false);
    void readTranscript();
  }, [read, readTranscript]);

  return { call, notFound, seen, transcript, apply, read, readTranscript };
}
