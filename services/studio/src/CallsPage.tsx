import { History } from "lucide-react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { AppBar } from "./components/AppBar";
import { CallDetails, DeleteRecordingDialog, HangUpDialog } from "./components/CallDetails";
import { CallFiltersBar, CallList, hasFilters } from "./components/CallList";
import { useToasts } from "./components/Toasts";
import { useApiErrors } from "./hooks/useApiErrors";
import { CALL_POLL_MS, CALL_POLL_STREAMED_MS, useCall, useCallEvents, useCallHistory, usePolling } from "./hooks/useCalls";
import { ApiError, type Api } from "./lib/api";
import { filtersFromSearch, isLive } from "./lib/calls";
import { useLayout } from "./lib/hooks";
import { callIdOf, callsPath, followLink, navigate, useLocation } from "./lib/route";
import type { Session } from "./lib/session";
import type { CloudEvent } from "./lib/realtime";
import type { CallFilters, CallRecord, RecordingMode } from "./lib/types";

interface Props {
  session: Session;
  api: Api;
  /** Rendered in the top bar (organization switcher, sign out). */
  accountControls: React.ReactNode;
  /** Connect to the live event stream and read live calls again (off in component tests). */
  live?: boolean;
  /** At most this many phone numbers are read for the number filter. */
  maxLoaded?: number;
}

/** Without call events on the stream, how often the history looks for new calls when none is live. */
const IDLE_POLL_MS = 10_000;
/** After a call ends, its cost and transcript are looked for this long. */
const AFTER_END_MS = 3 * 60_000;
const AFTER_END_POLL_MS = 5_000;
/** How often an ended call's page re-reads while its recording is still uploading (the upload's
 * end is not among the events the Studio's stream carries). */
const RECORDING_POLL_MS = 5_000;

/** The Calls page: the history at `/telephony/calls`, one call at `/telephony/calls/<id>`. */
export function CallsPage({ session, api, accountControls, live = true, maxLoaded = 5_000 }: Props) {
  const layout = useLayout();
  const location = useLocation();
  const callId = callIdOf(location.split("?")[0]);
  const canManage = session.role === "owner" || session.role === "admin";
  return (
    <div className={`app layout-${layout} page-calls`}>
      {callId ? (
        <CallView key={callId} id={callId} api={api} session={session} live={live} canManage={canManage} layout={layout} accountControls={accountControls} />
      ) : (
        <CallHistory api={api} session={session} live={live} maxLoaded={maxLoaded} layout={layout} search={location.includes("?") ? location.slice(location.indexOf("?")) : ""} accountControls={accountControls} />
      )}
    </div>
  );
}

interface ViewProps {
  api: Api;
  session: Session;
  live: boolean;
  layout: ReturnType<typeof useLayout>;
  accountControls: React.ReactNode;
}

function CallHistory({ api, session, live, maxLoaded, layout, search, accountControls }: ViewProps & { maxLoaded: number; search: string }) {
  const errors = useApiErrors();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const history = useCallHistory(api, filters, errors.apiError);
  const { apply, refresh, refreshCall } = history;
  const [numbers, setNumbers] = useState<string[]>([]);
  const [agents, setAgents] = useState<{ id: string; name: string }[]>([]);

  useEffect(() => {
    api.listPhoneNumbers(undefined, maxLoaded).then(
      (page) => setNumbers(page.items.map((n) => n.phone_number).sort()),
      () => undefined, // the filter still takes the number the address names
    );
    api.listAgents().then(
      (all) => setAgents(all.map((a) => ({ id: a.id, name: a.name })).sort((a, b) => a.name.localeCompare(b.name))),
      () => undefined, // likewise the agent
    );
  }, [api, maxLoaded]);

  const { liveState, streamCarriesCalls } = useCallEvents(
    session.token,
    live,
    useCallback((call: CallRecord) => apply([call], true), [apply]),
    useCallback((id: string) => void refreshCall(id), [refreshCall]),
  );
  usePolling(live, streamCarriesCalls ? CALL_POLL_STREAMED_MS : history.hasLive ? CALL_POLL_MS : IDLE_POLL_MS, () => void refresh());

  const setFilters = (next: CallFilters) => navigate(callsPath(next));
  const filtered = hasFilters(filters);

  return (
    <>
      <AppBar page="calls" layout={layout} drawerOpen={false} liveState={liveState} accountControls={accountControls} />
      <main className="main calls-main" id="main" tabIndex={-1}>
        <div className="calls">
          <div className="calls-header">
            <span className="header-icon" aria-hidden>
              <History size={18} />
            </span>
            <h1>Calls</h1>
          </div>
          <CallFiltersBar filters={filters} numbers={numbers} agents={agents} onChange={setFilters} />
          <CallList
            calls={history.calls}
            loading={history.loading}
            loadingMore={history.loadingMore}
            hasMore={history.nextCursor !== null}
            filtered={filtered}
            onLoadMore={() => void history.loadMore()}
          />
        </div>
      </main>
    </>
  );
}

function CallView({ id, api, session, live, canManage, layout, accountControls }: ViewProps & { id: string; canManage: boolean }) {
  const errors = useApiErrors();
  const toasts = useToasts();
  const { call, notFound, seen, transcript, apply, read, readTranscript } = useCall(api, id, errors.apiError);
  const [confirming, setConfirming] = useState(false);
  const [deletingRecording, setDeletingRecording] = useState(false);
  const [recordingMode, setRecordingMode] = useState<RecordingMode | null>(null);

  const { liveState, streamCarriesCalls } = useCallEvents(
    session.token,
    live,
    useCallback(
      (incoming: CallRecord, event: CloudEvent) => {
        if (incoming.id === id) apply(incoming, "live event", event.time);
      },
      [apply, id],
    ),
    useCallback(
      (costed: string) => {
        if (costed === id) void read(true);
      },
      [id, read],
    ),
  );

  const callLive = call ? isLive(call) : false;
  const endedAt = call?.ended_at ? Date.parse(call.ended_at) : null;
  const waitingAfterEnd =
    call !== null && !callLive && (call.cost == null || transcript.state === "missing") && endedAt !== null && Date.now() - endedAt < AFTER_END_MS;
  usePolling(live && callLive, streamCarriesCalls ? CALL_POLL_STREAMED_MS : CALL_POLL_MS, () => void read(true));
  usePolling(live && waitingAfterEnd, AFTER_END_POLL_MS, () => {
    if (call?.cost == null) void read(true);
    if (transcript.state === "missing") void readTranscript();
  });
  usePolling(live && call !== null && !callLive && call.recording?.status === "pending", RECORDING_POLL_MS, () => void read(true));
  // A call without a recording says why when the number's setting can be read.
  const unrecordedNumber = call && !call.recording ? call.phone_number_id : null;
  useEffect(() => {
    if (!unrecordedNumber) return;
    let stale = false;
    api.getPhoneNumber(unrecordedNumber).then(
      (n) => !stale && setRecordingMode(n.recording_mode),
      () => undefined, // only an explanation: without it the card says less
    );
    return () => {
      stale = true;
    };
  }, [api, unrecordedNumber]);
  // The transcript is looked for again when the call ends in front of us.
  useEffect(() => {
    if (call && !callLive && transcript.state === "missing") void readTranscript();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [callLive]);

  const hangUp = async () => {
    try {
      apply(await api.hangUpCall(id), "hang up");
      toasts.show({ tone: "success", message: "Call hung up" });
      setConfirming(false);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 0;
      if (status === 409) {
        toasts.show({ tone: "info", message: "This call has already ended; there is nothing to hang up." });
        setConfirming(false);
        void read(true);
      } else if (status === 403) {
        toasts.show({ tone: "error", message: "Only owners and admins can hang up calls." });
        setConfirming(false);
      } else {
        errors.apiError(error, "Could not hang up", () => void hangUp());
      }
    }
  };

  const deleteRecording = async () => {
    try {
      apply(await api.deleteRecording(id), "recording deleted");
      toasts.show({ tone: "success", message: "Recording deleted" });
      setDeletingRecording(false);
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 0;
      if (status === 409) {
        toasts.show({
          tone: "info",
          message: "This recording cannot be deleted yet: it is still being uploaded, or its upload failed and there is no file to delete.",
        });
        setDeletingRecording(false);
        void read(true);
      } else if (status === 404) {
        toasts.show({ tone: "info", message: "This recording is already gone." });
        setDeletingRecording(false);
        void read(true);
      } else if (status === 403) {
        toasts.show({ tone: "error", message: "Only owners and admins can delete recordings." });
        setDeletingRecording(false);
      } else {
        errors.apiError(error, "Could not delete the recording", () => void deleteRecording());
      }
    }
  };

  return (
    <>
      <AppBar page="calls" layout={layout} drawerOpen={false} liveState={liveState} accountControls={accountControls} />
      <main className="main" id="main" tabIndex={-1}>
        {call ? (
          <CallDetails
            call={call}
            seen={seen}
            transcript={transcript}
            canManage={canManage}
            onHangUp={() => setConfirming(true)}
            recordingUrl={api.recordingUrl(id)}
            recordingMode={recordingMode}
            onDeleteRecording={() => setDeletingRecording(true)}
          />
        ) : notFound ? (
          <div className="no-selection">
            <History className="no-selection-icon" aria-hidden />
            <h2>Call not found</h2>
            <p className="muted">There is no call {id} in this organization.</p>
            <a className="button secondary" href={callsPath()} onClick={followLink}>
              All calls
            </a>
          </div>
        ) : (
          <p className="list-loading" role="status">
            Loading…
          </p>
        )}
      </main>
      {confirming && call && <HangUpDialog call={call} onClose={() => setConfirming(false)} onConfirm={hangUp} />}
      {deletingRecording && call && <DeleteRecordingDialog call={call} onClose={() => setDeletingRecording(false)} onConfirm={deleteRecording} />}
    </>
  );
}
