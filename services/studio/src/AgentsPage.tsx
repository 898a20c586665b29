import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AgentDialog } from "./components/AgentDialog";
import { AgentDetails, NoAgentSelection } from "./components/AgentDetails";
import { AgentList } from "./components/AgentList";
import { AppBar } from "./components/AppBar";
import { DeleteAgentDialog } from "./components/DeleteAgentDialog";
import { Drawer } from "./components/Drawer";
import { useAgentActions } from "./hooks/useAgentActions";
import { useAgentNumbers } from "./hooks/useAgentNumbers";
import { useAgents } from "./hooks/useAgents";
import { useApiErrors } from "./hooks/useApiErrors";
import { usageByAgent } from "./lib/agentUsage";
import type { Api } from "./lib/api";
import { isTyping, useLayout } from "./lib/hooks";
import { connectLiveEvents, subscribePhoneNumberEvents, type CloudEvent, type LiveState, type LiveSubject } from "./lib/realtime";
import type { Session } from "./lib/session";
import type { Agent, PhoneNumber } from "./lib/types";
import { useSelection } from "./hooks/useSelection";

interface Props {
  session: Session;
  api: Api;
  /** Rendered in the top bar (organization switcher, sign out). */
  accountControls: React.ReactNode;
  /** Connect to the live event stream (off in component tests). */
  live?: boolean;
  /** At most this many phone numbers are read to show which agent each uses. */
  maxLoaded?: number;
}

type AgentDialogState = { kind: "create" } | { kind: "edit"; agent: Agent } | { kind: "delete"; agent: Agent } | null;

function matches(agent: Agent, query: string): boolean {
  const q = query.trim().toLowerCase();
  return !q || [agent.name, agent.architecture, agent.language].some((s) => s.toLowerCase().includes(q));
}

/** The Agents page (`/telephony/agents`): list, details, create / edit / delete, live updates. */
export function AgentsPage({ session, api, accountControls, live = true, maxLoaded = 5_000 }: Props) {
  const layout = useLayout();
  const canManage = session.role === "owner" || session.role === "admin";
  const errors = useApiErrors();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const closeDrawer = useCallback(() => setDrawerOpen(false), []);
  const { selectedId, select } = useSelection(closeDrawer, "agent");
  const [dialog, setDialog] = useState<AgentDialogState>(null);
  const closeDialog = useCallback(() => setDialog(null), []);
  const [search, setSearch] = useState("");
  const searchRef = useRef<HTMLInputElement>(null);
  const { agents, loaded, loadAgents, upsert, remove } = useAgents(api, errors.apiError);
  const { numbers, loadNumbers, upsertNumber, removeNumber } = useAgentNumbers(api, errors.apiError, maxLoaded);

  useEffect(() => {
    void loadAgents();
    void loadNumbers();
  }, [loadAgents, loadNumbers]);

  const visible = useMemo(() => agents.filter((a) => matches(a, search)), [agents, search]);
  const usage = useMemo(() => usageByAgent(numbers), [numbers]);
  const selected = useMemo(() => agents.find((a) => a.id === selectedId) ?? null, [agents, selectedId]);
  const { submitAgent, deleteAgent } = useAgentActions({ api, errors, upsert, remove, loadNumbers, visible, selectedId, select, closeDialog });

  const openCreate = useCallback(() => {
    closeDrawer();
    setDialog({ kind: "create" });
  }, [closeDrawer]);
  const openEdit = useCallback(
    (agent: Agent) => {
      closeDrawer();
      setDialog({ kind: "edit", agent });
    },
    [closeDrawer],
  );
  const openDelete = useCallback(
    (agent: Agent) => {
      closeDrawer();
      setDialog({ kind: "delete", agent });
    },
    [closeDrawer],
  );

  // Other tabs (BroadcastChannel) and the seed's agentUpdated: read again.
  useEffect(
    () =>
      subscribePhoneNumberEvents(
        (message) => {
          if (message.orgId !== session.orgId) return;
          if (message.type === "phoneNumberDeleted") removeNumber(message.id);
          else if (message.phoneNumber) upsertNumber(message.phoneNumber);
        },
        () => void loadAgents(),
      ),
    [loadAgents, removeNumber, session.orgId, upsertNumber],
  );

  // Everyone else's changes, from numbers-api's event stream.
  const [liveState, setLiveState] = useState<LiveState>("offline");
  useEffect(() => {
    if (!live) return;
    return connectLiveEvents(
      session.token,
      (subject: LiveSubject, event: CloudEvent) => {
        switch (subject) {
          case "telephony.agent.created":
          case "telephony.agent.updated":
            upsert(event.data as Agent);
            break;
          case "telephony.agent.deleted":
            remove(event.subject);
            break;
          case "telephony.phone_number.created":
          case "telephony.phone_number.updated":
            upsertNumber(event.data as PhoneNumber);
            break;
          case "telephony.phone_number.deleted":
            removeNumber(event.subject);
            break;
          default:
            break;
        }
      },
      setLiveState,
    );
  }, [live, remove, removeNumber, session.token, upsert, upsertNumber]);

  // N: a new agent (owners and admins), as on the Phone Numbers page.
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (dialog || isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key.toLowerCase() === "n" && canManage) {
        event.preventDefault();
        openCreate();
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [canManage, dialog, openCreate]);

  useEffect(() => {
    if (layout !== "mobile") setDrawerOpen(false);
  }, [layout]);

  const list = (
    <AgentList
      agents={visible}
      total={agents.length}
      loading={!loaded}
      usage={usage}
      selectedId={selectedId}
      canManage={canManage}
      search={search}
      searchRef={searchRef}
      onSearch={setSearch}
      onAdd={openCreate}
      onSelect={select}
      onEdit={openEdit}
      onDelete={openDelete}
    />
  );

  return (
    <div className={`app layout-${layout} page-agents`}>
      <AppBar
        page="agents"
        layout={layout}
        drawerOpen={drawerOpen}
        onOpenMenu={() => setDrawerOpen(true)}
        liveState={liveState}
        accountControls={accountControls}
      />
      <div className="columns">
        {layout !== "mobile" && (
          <aside className="sidebar" aria-label="Agents list">
            {list}
          </aside>
        )}
        <main className="main" id="main" tabIndex={-1}>
          {selected ? (
            <AgentDetails
              key={selected.id}
              agent={selected}
              uses={usage.get(selected.id) ?? []}
              canManage={canManage}
              onEdit={() => openEdit(selected)}
              onDelete={() => openDelete(selected)}
            />
          ) : !loaded ? (
            <p className="list-loading" role="status">
              Loading…
            </p>
          ) : (
            <NoAgentSelection hasAgents={agents.length > 0} canManage={canManage} onAdd={openCreate} />
          )}
        </main>
      </div>
      {drawerOpen && layout === "mobile" && (
        <Drawer onClose={closeDrawer} label="Agents menu">
          {list}
        </Drawer>
      )}
      {dialog?.kind === "create" && <AgentDialog onClose={closeDialog} onSubmit={(body) => submitAgent(body, null)} />}
      {dialog?.kind === "edit" && <AgentDialog agent={dialog.agent} onClose={closeDialog} onSubmit={(body) => submitAgent(body, dialog.agent)} />}
      {dialog?.kind === "delete" && <DeleteAgentDialog agent={dialog.agent} onClose={closeDialog} onConfirm={() => deleteAgent(dialog.agent)} />}
    </div>
  );
}
