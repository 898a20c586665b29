import { Menu, X } from "lucide-react";
import { useCallback, useDeferredValue, useEffect, useMemo, useRef, useState } from "react";
import { DeleteDialog } from "./components/DeleteDialog";
import { useFocusTrap } from "./components/Dialog";
import { MakeCallDialog } from "./components/MakeCallDialog";
import { PhoneNumberDetails, NoSelection, type DetailsChanges, type DetailsErrors } from "./components/PhoneNumberDetails";
import { PhoneNumberDialog } from "./components/PhoneNumberDialog";
import { PhoneNumberList, PhoneNumberRail } from "./components/PhoneNumberList";
import { useToasts } from "./components/Toasts";
import { Api, ApiError } from "./lib/api";
import { filterNumbers, sortNumbers, upsertNumber } from "./lib/filter";
import { laterResult, mergeNumbers, withSyncResult, type SyncResult } from "./lib/freshness";
import { isTyping, useLayout } from "./lib/hooks";
import { announce, connectLiveEvents, subscribePhoneNumberEvents, type CloudEvent, type LiveState, type LiveSubject, type SyncMessage } from "./lib/realtime";
import type { Session } from "./lib/session";
import type { Agent, AgentRef, FieldProblem, PhoneNumber, PhoneNumberWrite } from "./lib/types";

type DialogState = { kind: "add" } | { kind: "edit"; number: PhoneNumber } | { kind: "delete"; number: PhoneNumber } | { kind: "call"; number: PhoneNumber } | null;

interface Props {
  session: Session;
  api: Api;
  /** Rendered in the top bar (organization switcher, sign out). */
  accountControls: React.ReactNode;
  /** Connect to the live event stream (off in component tests). */
  live?: boolean;
  /** Above this many numbers the list stops paging and searches on the server. */
  maxLoaded?: number;
}

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

/** The Phone Numbers page: list, details, dialogs, live updates and keyboard shortcuts. */
export function PhoneNumbersPage({ session, api, accountControls, live = true, maxLoaded = 5_000 }: Props) {
  const toasts = useToasts();
  const layout = useLayout();
  const canManage = session.role === "owner" || session.role === "admin";
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);
  const [complete, setComplete] = useState(true);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [loading, setLoading] = useState(true);
  const [selectedId, setSelectedId] = useState<string | null>(selectedFromUrl);
  const [search, setSearch] = useState("");
  const [serverResults, setServerResults] = useState<PhoneNumber[] | null>(null);
  const [dialog, setDialog] = useState<DialogState>(null);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [liveState, setLiveState] = useState<LiveState>("offline");
  const searchRef = useRef<HTMLInputElement>(null);
  const focusSearchOnOpen = useRef(false);
  const numbersRef = useRef(numbers);
  numbersRef.current = numbers;
  // trunk-sync's latest result per number, from the event stream: a response read before numbers-api
  // recorded it (the page's own refresh, or the read the event itself triggers) must not undo it.
  const syncResults = useRef(new Map<string, SyncResult>());
  const withKnownSync = useCallback((number: PhoneNumber) => withSyncResult(number, syncResults.current.get(number.id)), []);
  /** A fresh list from the server, merged so that nothing newer held here goes back. */
  const applyList = useCallback(
    (items: PhoneNumber[]) => setNumbers((all) => sortNumbers(mergeNumbers(all, items).map(withKnownSync))),
    [withKnownSync],
  );

  const apiError = useCallback(
    (error: unknown, what: string, retry?: () => void) => {
      const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
      toasts.show({
        tone: "error",
        message: `${what}: ${err.message}`,
        action: retry && err.status !== 403 && err.status !== 401 ? { label: "Retry", onClick: retry } : undefined,
      });
    },
    [toasts],
  );

  const loadAgents = useCallback(async () => {
    try {
      setAgents(await api.listAgents());
    } catch (error) {
      apiError(error, "Could not load agents", () => void loadAgents());
    }
  }, [api, apiError]);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const [page, agentList] = await Promise.all([api.listPhoneNumbers(undefined, maxLoaded), api.listAgents()]);
      setNumbers(sortNumbers(page.items));
      setComplete(page.complete);
      setAgents(agentList);
    } catch (error) {
      apiError(error, "Could not load phone numbers", () => void load());
    } finally {
      setLoading(false);
    }
  }, [api, apiError, maxLoaded]);

  useEffect(() => {
    void load();
  }, [load]);

  const select = useCallback((id: string | null) => {
    setSelectedId(id);
    selectInUrl(id);
    setDrawerOpen(false);
  }, []);

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

  const selected = useMemo(() => numbers.find((n) => n.id === selectedId) ?? null, [numbers, selectedId]);

  const remove = useCallback((id: string) => {
    setNumbers((all) => all.filter((n) => n.id !== id));
    setServerResults((all) => all && all.filter((n) => n.id !== id));
  }, []);
  const upsert = useCallback(
    (read: PhoneNumber) => {
      const number = withKnownSync(read);
      setNumbers((all) => upsertNumber(all, number));
      setServerResults((all) => all && (all.some((n) => n.id === number.id) ? upsertNumber(all, number) : all));
    },
    [withKnownSync],
  );

  const patchAgentRefs = useCallback((agent: AgentRef) => {
    const fix = (ref: AgentRef | null) => (ref && ref.id === agent.id ? { id: agent.id, name: agent.name, architecture: agent.architecture } : ref);
    setNumbers((all) =>
      all.map((n) =>
        n.inbound_agent?.id === agent.id || n.outbound_agent?.id === agent.id ? { ...n, inbound_agent: fix(n.inbound_agent), outbound_agent: fix(n.outbound_agent) } : n,
      ),
    );
  }, []);

  // Other tabs (BroadcastChannel) and other components on this page (CustomEvents).
  useEffect(
    () =>
      subscribePhoneNumberEvents(
        (message: SyncMessage) => {
          if (message.orgId !== session.orgId) return;
          if (message.type === "phoneNumberDeleted") remove(message.id);
          else if (message.phoneNumber) upsert(message.phoneNumber);
          else void api.getPhoneNumber(message.id).then(upsert, () => undefined);
        },
        () => {
          void loadAgents();
          void api.listPhoneNumbers(undefined, maxLoaded).then((page) => applyList(page.items), () => undefined);
        },
      ),
    [api, applyList, loadAgents, maxLoaded, remove, session.orgId, upsert],
  );

  // Changes made by anyone else, from numbers-api's event stream.
  useEffect(() => {
    if (!live) return;
    return connectLiveEvents(
      session.token,
      (subject: LiveSubject, event: CloudEvent) => {
        switch (subject) {
          case "telephony.phone_number.created":
          case "telephony.phone_number.updated":
            upsert(event.data as PhoneNumber);
            break;
          case "telephony.phone_number.deleted":
            remove(event.subject);
            break;
          case "telephony.phone_number.synced":
          case "telephony.phone_number.sync_failed": {
            const data = event.data as { state?: "synced" | "failed"; error?: string | null; at?: string; version?: number };
            const result = laterResult(syncResults.current.get(event.subject), {
              version: data.version,
              sync: { state: data.state ?? (subject.endsWith("failed") ? "failed" : "synced"), error: data.error ?? null, synced_at: data.at ?? null },
            });
            syncResults.current.set(event.subject, result);
            setNumbers((all) => all.map((n) => (n.id === event.subject ? withSyncResult(n, result) : n)));
            void api.getPhoneNumber(event.subject).then(upsert, () => undefined);
            break;
          }
          case "telephony.agent.updated":
            patchAgentRefs(event.data as AgentRef);
            void loadAgents();
            break;
          case "telephony.agent.created":
          case "telephony.agent.deleted":
            void loadAgents();
            break;
        }
      },
      setLiveState,
    );
  }, [api, live, loadAgents, patchAgentRefs, remove, session.token, upsert]);

  // Keyboard shortcuts (the seed's "future" list): N, Ctrl+F, Delete; Enter saves inside the forms.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented) return;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "f") {
        event.preventDefault();
        if (dialog) return;
        if (layout === "desktop") searchRef.current?.focus();
        else {
          focusSearchOnOpen.current = true;
          setDrawerOpen(true);
        }
        return;
      }
      if (dialog || drawerOpen || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
      if ((event.key === "n" || event.key === "N") && canManage) {
        event.preventDefault();
        setDialog({ kind: "add" });
      } else if (event.key === "Delete" && canManage && selected) {
        event.preventDefault();
        setDialog({ kind: "delete", number: selected });
      }
    };
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [canManage, dialog, drawerOpen, layout, selected]);

  useEffect(() => {
    if (drawerOpen && focusSearchOnOpen.current) {
      focusSearchOnOpen.current = false;
      searchRef.current?.focus();
    }
  }, [drawerOpen]);
  useEffect(() => {
    if (layout === "desktop") setDrawerOpen(false);
  }, [layout]);

  const refresh = useCallback(async () => {
    try {
      const page = await api.listPhoneNumbers(undefined, maxLoaded);
      applyList(page.items);
      setComplete(page.complete);
    } catch (error) {
      apiError(error, "Could not refresh phone numbers", () => void refresh());
    }
  }, [api, apiError, applyList, maxLoaded]);

  /** A failed write: field errors go inline, the rest to a toast with Retry. */
  const writeFailed = (error: unknown, what: string, retry: () => void): FieldProblem[] => {
    const err = error instanceof ApiError ? error : new ApiError(0, {}, String(error));
    if (err.fieldErrors.length > 0) {
      toasts.show({ tone: "error", message: `${what}: ${err.fieldErrors.map((f) => f.message).join("; ")}` });
      return err.fieldErrors;
    }
    if (err.status === 409) {
      toasts.show({ tone: "error", message: `${what}: ${err.message}` });
      return [{ field: "phone_number", message: err.message }];
    }
    apiError(err, what, err.retryable ? retry : undefined);
    return [{ field: "form", message: err.message }];
  };

  const submitNumber = async (body: PhoneNumberWrite, editing: PhoneNumber | null): Promise<FieldProblem[] | null> => {
    const retry = () => void submitNumber(body, editing).then((problems) => problems === null && setDialog(null));
    try {
      if (editing) {
        if (Object.keys(body).length === 0) {
          setDialog(null);
          toasts.show({ tone: "info", message: "No changes to save" });
          return null;
        }
        const updated = await api.updatePhoneNumber(editing.id, body);
        upsert(updated);
        announce("phoneNumberUpdated", { orgId: session.orgId, id: updated.id, phoneNumber: updated });
        toasts.show({ tone: "success", message: `Phone number ${updated.phone_number} updated` });
      } else {
        const created = await api.createPhoneNumber(body);
        upsert(created);
        select(created.id);
        announce("phoneNumberAdded", { orgId: session.orgId, id: created.id, phoneNumber: created });
        toasts.show({ tone: "success", message: `Phone number ${created.phone_number} added` });
      }
      setDialog(null);
      void refresh();
      return null;
    } catch (error) {
      if (editing && error instanceof ApiError && error.status === 404) {
        remove(editing.id);
        setDialog(null);
      }
      return writeFailed(error, editing ? "Could not update the phone number" : "Could not add the phone number", retry);
    }
  };

  const deleteNumber = async (number: PhoneNumber): Promise<void> => {
    const index = visible.findIndex((n) => n.id === number.id);
    try {
      await api.deletePhoneNumber(number.id);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        apiError(error, "Could not delete the phone number", () => void deleteNumber(number));
        return;
      }
    }
    remove(number.id);
    announce("phoneNumberDeleted", { orgId: session.orgId, id: number.id, phoneNumber: number });
    toasts.show({ tone: "success", message: `Phone number ${number.phone_number} deleted` });
    setDialog(null);
    if (selectedId === number.id) {
      const rest = visible.filter((n) => n.id !== number.id);
      const next = rest[Math.min(Math.max(index, 0), rest.length - 1)] ?? null;
      select(next ? next.id : null);
    }
  };

  const saveDetails = async (number: PhoneNumber, changes: DetailsChanges): Promise<DetailsErrors | null> => {
    const retry = () => void saveDetails(number, changes);
    if (!changes.assignmentsChanged && !changes.settingsChanged) {
      toasts.show({ tone: "info", message: "No changes to save" });
      return null;
    }
    try {
      let result = number;
      if (changes.assignmentsChanged) {
        result = await api.assignAgents({
          phone_number: number.phone_number,
          inbound_agent_id: changes.inboundAgentId,
          outbound_agent_id: changes.outboundAgentId,
        });
      }
      if (changes.settingsChanged) {
        result = await api.updatePhoneNumber(number.id, { webhook_url: changes.webhookUrl, recording_mode: changes.recordingMode });
      }
      upsert(result);
      announce("phoneNumberUpdated", { orgId: session.orgId, id: result.id, phoneNumber: result });
      toasts.show({ tone: "success", message: "Agent assignments saved successfully" });
      void refresh();
      return null;
    } catch (error) {
      const problems = writeFailed(error, "Could not save agent assignments", retry);
      const errors: DetailsErrors = {};
      for (const p of problems) {
        const field = p.field.split(".").pop() ?? "form";
        const known = ["inbound_agent_id", "outbound_agent_id", "webhook_url", "recording_mode"].includes(field);
        errors[known ? field : "form"] = errors[known ? field : "form"] ? `${errors[known ? field : "form"]}; ${p.message}` : p.message;
      }
      return errors;
    }
  };

  const openAdd = useCallback(() => {
    setDrawerOpen(false);
    setDialog({ kind: "add" });
  }, []);
  const openEdit = useCallback((number: PhoneNumber) => {
    setDrawerOpen(false);
    setDialog({ kind: "edit", number });
  }, []);
  const openDelete = useCallback((number: PhoneNumber) => {
    setDrawerOpen(false);
    setDialog({ kind: "delete", number });
  }, []);

  const list = (
    <PhoneNumberList
      numbers={visible}
      total={numbers.length}
      loading={loading}
      selectedId={selectedId}
      canManage={canManage}
      search={search}
      searchRef={searchRef}
      onSearch={setSearch}
      onAdd={openAdd}
      onSelect={select}
      onEdit={openEdit}
      onDelete={openDelete}
    />
  );

  return (
    <div className={`app layout-${layout}`}>
      <header className="appbar">
        {layout === "mobile" && (
          <button type="button" className="icon-button" aria-label="Open menu" aria-expanded={drawerOpen} onClick={() => setDrawerOpen(true)}>
            <Menu size={20} aria-hidden />
          </button>
        )}
        <a className="skip-link" href="#main">
          Skip to details
        </a>
        <span className="brand">
          TalkifAI <span className="muted">Studio · Telephony</span>
        </span>
        <span className={`live live-${liveState}`} role="status" aria-label={`Live updates: ${liveState}`} title="Live updates">
          <span className="live-dot" aria-hidden /> {liveState === "live" ? "Live" : liveState === "connecting" ? "Connecting…" : "Offline"}
        </span>
        <div className="account">{accountControls}</div>
      </header>
      <div className="columns">
        {layout === "desktop" && (
          <aside className="sidebar" aria-label="Phone numbers list">
            {list}
          </aside>
        )}
        {layout === "tablet" && (
          <aside className="rail" aria-label="Phone numbers list">
            <PhoneNumberRail numbers={visible} selectedId={selectedId} canManage={canManage} onAdd={openAdd} onSelect={select} onExpand={() => setDrawerOpen(true)} />
          </aside>
        )}
        <main className="main" id="main" tabIndex={-1}>
          {selected ? (
            <PhoneNumberDetails
              key={selected.id}
              number={selected}
              agents={agents}
              canManage={canManage}
              onSave={(changes) => saveDetails(selected, changes)}
              onMakeCall={() => setDialog({ kind: "call", number: selected })}
              onEdit={() => openEdit(selected)}
              onDelete={() => openDelete(selected)}
            />
          ) : loading ? (
            <p className="list-loading" role="status">
              Loading…
            </p>
          ) : (
            <NoSelection hasNumbers={numbers.length > 0} canManage={canManage} onAdd={openAdd} />
          )}
        </main>
      </div>
      {drawerOpen && layout !== "desktop" && <Drawer onClose={() => setDrawerOpen(false)}>{list}</Drawer>}
      {dialog?.kind === "add" && <PhoneNumberDialog onClose={() => setDialog(null)} onSubmit={(body) => submitNumber(body, null)} />}
      {dialog?.kind === "edit" && <PhoneNumberDialog number={dialog.number} onClose={() => setDialog(null)} onSubmit={(body) => submitNumber(body, dialog.number)} />}
      {dialog?.kind === "delete" && <DeleteDialog number={dialog.number} onClose={() => setDialog(null)} onConfirm={() => deleteNumber(dialog.number)} />}
      {dialog?.kind === "call" && <MakeCallDialog number={dialog.number} api={api} onClose={() => setDialog(null)} />}
    </div>
  );
}

/** Tablet and mobile: the full list in a slide-in drawer. */
function Drawer({ onClose, children }: { onClose: () => void; children: React.ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useFocusTrap(ref, onClose);
  return (
    <div className="overlay overlay-drawer" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={ref} className="drawer" role="dialog" aria-modal="true" aria-label="Phone numbers menu" tabIndex={-1}>
        <button type="button" className="icon-button drawer-close" aria-label="Close menu" onClick={onClose}>
          <X size={18} aria-hidden />
        </button>
        {children}
      </div>
    </div>
  );
}
