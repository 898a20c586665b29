import { useCallback, useMemo, useRef } from "react";
import { AppBar } from "./components/AppBar";
import { DeleteDialog } from "./components/DeleteDialog";
import { Drawer } from "./components/Drawer";
import { MakeCallDialog } from "./components/MakeCallDialog";
import { NoSelection, PhoneNumberDetails } from "./components/PhoneNumberDetails";
import { PhoneNumberDialog } from "./components/PhoneNumberDialog";
import { PhoneNumberList, PhoneNumberRail } from "./components/PhoneNumberList";
import { useAgents } from "./hooks/useAgents";
import { useApiErrors } from "./hooks/useApiErrors";
import { useCarriers } from "./hooks/useCarriers";
import { useDrawer } from "./hooks/useDrawer";
import { useKeyboardShortcuts } from "./hooks/useKeyboardShortcuts";
import { useLiveEvents, useTabUpdates, type ChangeHandlers } from "./hooks/useLiveUpdates";
import { useNumberSearch } from "./hooks/useNumberSearch";
import { usePageDialog } from "./hooks/usePageDialog";
import { usePhoneNumberActions } from "./hooks/usePhoneNumberActions";
import { usePhoneNumbers } from "./hooks/usePhoneNumbers";
import { useSelection } from "./hooks/useSelection";
import type { Api } from "./lib/api";
import { findCarrier } from "./lib/carriers";
import { useLayout } from "./lib/hooks";
import type { Session } from "./lib/session";
import type { PhoneNumber, PhoneNumberCheck } from "./lib/types";

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

/** The Phone Numbers page: list, details, dialogs, live updates and keyboard shortcuts. */
export function PhoneNumbersPage({ session, api, accountControls, live = true, maxLoaded = 5_000 }: Props) {
  const layout = useLayout();
  const canManage = session.role === "owner" || session.role === "admin";
  const searchRef = useRef<HTMLInputElement>(null);
  const errors = useApiErrors();
  const { drawerOpen, openDrawer, closeDrawer, openDrawerToSearch } = useDrawer(layout, searchRef);
  const { selectedId, select } = useSelection(closeDrawer);
  const { dialog, closeDialog, openAdd, openEdit, openDelete, openCall } = usePageDialog(closeDrawer);
  const { agents, setAgents, loadAgents } = useAgents(api, errors.apiError);
  const carriers = useCarriers(api, errors.apiError);
  const store = usePhoneNumbers(api, errors.apiError, maxLoaded, setAgents);
  const { numbers, complete, loading, refresh, applyList, applySyncResult, patchAgentRefs } = store;
  const { search, setSearch, visible, upsertResult, removeResult, checkResult } = useNumberSearch(api, errors.apiError, numbers, complete, maxLoaded);

  // A change reaches both the loaded numbers and the server's search results.
  const { upsert: upsertNumber, remove: removeNumber } = store;
  const upsert = useCallback((read: PhoneNumber) => upsertResult(upsertNumber(read)), [upsertNumber, upsertResult]);
  const remove = useCallback(
    (id: string) => {
      removeNumber(id);
      removeResult(id);
    },
    [removeNumber, removeResult],
  );
  const { applyCheck: applyStoredCheck } = store;
  const applyCheck = useCallback(
    (id: string, check: PhoneNumberCheck) => {
      applyStoredCheck(id, check);
      checkResult(id, check);
    },
    [applyStoredCheck, checkResult],
  );
  const handlers: ChangeHandlers = { upsert, remove, applyList, applySyncResult, applyCheck, patchAgentRefs, loadAgents };
  useTabUpdates(api, session.orgId, maxLoaded, handlers);
  const liveState = useLiveEvents(api, session.token, live, handlers);

  const selected = useMemo(() => numbers.find((n) => n.id === selectedId) ?? null, [numbers, selectedId]);
  useKeyboardShortcuts({ layout, dialogOpen: dialog !== null, drawerOpen, canManage, selected, searchRef, openDrawerToSearch, openAdd, openDelete });
  const { submitNumber, deleteNumber, saveDetails, checkNumber } = usePhoneNumberActions({
    api,
    orgId: session.orgId,
    errors,
    upsert,
    remove,
    applyCheck,
    refresh,
    visible,
    selectedId,
    select,
    closeDialog,
  });

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
      <AppBar page="numbers" layout={layout} drawerOpen={drawerOpen} onOpenMenu={openDrawer} liveState={liveState} accountControls={accountControls} />
      <div className="columns">
        {layout === "desktop" && (
          <aside className="sidebar" aria-label="Phone numbers list">
            {list}
          </aside>
        )}
        {layout === "tablet" && (
          <aside className="rail" aria-label="Phone numbers list">
            <PhoneNumberRail numbers={visible} selectedId={selectedId} canManage={canManage} onAdd={openAdd} onSelect={select} onExpand={openDrawer} />
          </aside>
        )}
        <main className="main" id="main" tabIndex={-1}>
          {selected ? (
            <PhoneNumberDetails
              key={selected.id}
              number={selected}
              agents={agents}
              profile={findCarrier(carriers, selected.carrier)}
              canManage={canManage}
              onSave={(changes) => saveDetails(selected, changes)}
              onCheck={() => checkNumber(selected)}
              onEditInbound={() => openEdit(selected, "inbound")}
              onMakeCall={() => openCall(selected)}
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
      {drawerOpen && layout !== "desktop" && <Drawer onClose={closeDrawer}>{list}</Drawer>}
      {dialog?.kind === "add" && <PhoneNumberDialog carriers={carriers} onClose={closeDialog} onSubmit={(body) => submitNumber(body, null)} />}
      {dialog?.kind === "edit" && (
        <PhoneNumberDialog
          number={dialog.number}
          carriers={carriers}
          focus={dialog.focus}
          onClose={closeDialog}
          onSubmit={(body) => submitNumber(body, dialog.number)}
        />
      )}
      {dialog?.kind === "delete" && <DeleteDialog number={dialog.number} onClose={closeDialog} onConfirm={() => deleteNumber(dialog.number)} />}
      {dialog?.kind === "call" && <MakeCallDialog number={dialog.number} api={api} onClose={closeDialog} />}
    </div>
  );
}
