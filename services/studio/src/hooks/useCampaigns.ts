import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../lib/api";
import type { CampaignsApi } from "../lib/campaignApi";
import type { Campaign, CampaignRow, CampaignStatus, RowStatus } from "../lib/types";
import type { ApiErrorReporter } from "./useApiErrors";

/** How often a running campaign (or one with calls still going on) is read again. */
export const CAMPAIGN_POLL_MS = 2_000;

/** The campaigns, newest first, with "Load more" (cursor) and a quiet re-read of the first page. */
export function useCampaignList(campaigns: CampaignsApi, status: CampaignStatus | null, apiError: ApiErrorReporter) {
  const [items, setItems] = useState<Campaign[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const generation = useRef(0);

  const load = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await campaigns.list(status, null);
      if (mine !== generation.current) return;
      setItems(page.campaigns);
      setNextCursor(page.next_cursor);
    } catch (error) {
      if (mine !== generation.current) return;
      setItems([]);
      setNextCursor(null);
      apiError(error, "Could not load campaigns", () => void load());
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [apiError, campaigns, status]);

  useEffect(() => {
    void load();
  }, [load]);

  const loadMore = useCallback(async () => {
    if (!nextCursor || loadingMore) return;
    const mine = generation.current;
    setLoadingMore(true);
    try {
      const page = await campaigns.list(status, nextCursor);
      if (mine !== generation.current) return;
      setItems((current) => [...current, ...page.campaigns.filter((c) => !current.some((k) => k.id === c.id))]);
      setNextCursor(page.next_cursor);
    } catch (error) {
      apiError(error, "Could not load more campaigns", () => void loadMore());
    } finally {
      setLoadingMore(false);
    }
  }, [apiError, campaigns, loadingMore, nextCursor, status]);

  /** The first page again: progress of running campaigns, new ones. Quiet: the next read tries again. */
  const refresh = useCallback(async () => {
    const mine = generation.current;
    try {
      const page = await campaigns.list(status, null);
      if (mine !== generation.current) return;
      // The first page as the server has it now, then the pages loaded after it as they were.
      setItems((current) => [...page.campaigns, ...current.filter((c) => !page.campaigns.some((k) => k.id === c.id))]);
    } catch {
      /* shown campaigns stay as they are */
    }
  }, [campaigns, status]);

  const hasActive = items.some((c) => c.status === "running" || c.calls_in_progress > 0);
  return { items, nextCursor, loading, loadingMore, loadMore, refresh, hasActive };
}

/** One campaign: read, re-read, replaced by what an action answers. */
export function useCampaign(campaigns: CampaignsApi, id: string, apiError: ApiErrorReporter) {
  const [campaign, setCampaign] = useState<Campaign | null>(null);
  const [notFound, setNotFound] = useState(false);

  const read = useCallback(
    async (quiet: boolean) => {
      try {
        setCampaign(await campaigns.get(id));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) setNotFound(true);
        else if (!quiet) apiError(error, "Could not load the campaign", () => void read(false));
      }
    },
    [apiError, campaigns, id],
  );

  useEffect(() => {
    void read(false);
  }, [read]);

  return { campaign, notFound, read, apply: setCampaign };
}

/** A campaign's rows under a status filter, with their attempts; "Load more" and quiet re-reads. */
export function useCampaignRows(campaigns: CampaignsApi, id: string, status: RowStatus | null, apiError: ApiErrorReporter) {
  const [rows, setRows] = useState<CampaignRow[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const generation = useRef(0);

  const load = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await campaigns.rows(id, status, null);
      if (mine !== generation.current) return;
      setRows(page.rows);
      setNextCursor(page.next_cursor);
    } catch (error) {
      if (mine !== generation.current) return;
      setRows([]);
      setNextCursor(null);
      apiError(error, "Could not load the campaign's rows", () => void load());
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [apiError, campaigns, id, status]);

  useEffect(() => {
    void load();
  }, [load]);

  const loadMore = useCallback(async () => {
    if (!nextCursor || loadingMore) return;
    const mine = generation.current;
    setLoadingMore(true);
    try {
      const page = await campaigns.rows(id, status, nextCursor);
      if (mine !== generation.current) return;
      setRows((current) => [...current, ...page.rows.filter((r) => !current.some((k) => k.id === r.id))]);
      setNextCursor(page.next_cursor);
    } catch (error) {
      apiError(error, "Could not load more rows", () => void loadMore());
    } finally {
      setLoadingMore(false);
    }
  }, [apiError, campaigns, id, loadingMore, nextCursor, status]);

  /** Re-read the first page: rows shown are updated in place; under a status filter, rows that left
   * it go and rows that joined it come in, in line order. */
  const refresh = useCallback(async () => {
    const mine = generation.current;
    try {
      const page = await campaigns.rows(id, status, null);
      if (mine !== generation.current) return;
      setRows((current) => {
        const fresh = new Map(page.rows.map((r) => [r.id, r]));
        const lastLine = page.next_cursor && page.rows.length > 0 ? page.rows[page.rows.length - 1].line : Number.POSITIVE_INFINITY;
        // Rows beyond the first page are kept as they were; within it, the server's answer is the list.
        const beyond = current.filter((r) => !fresh.has(r.id) && r.line > lastLine);
        return [...page.rows, ...beyond].sort((a, b) => a.line - b.line);
      });
    } catch {
      /* rows stay as they are */
    }
  }, [campaigns, id, status]);

  return { rows, nextCursor, loading, loadingMore, loadMore, refresh };
}
