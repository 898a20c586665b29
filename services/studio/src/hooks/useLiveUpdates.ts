import { useEffect, useState } from "react";
import type { Api } from "../lib/api";
import type { SyncResult } from "../lib/freshness";
import { connectLiveEvents, subscribePhoneNumberEvents, type CloudEvent, type LiveState, type LiveSubject, type SyncMessage } from "../lib/realtime";
import type { AgentRef, PhoneNumber, PhoneNumberCheck } from "../lib/types";

/** What the page does with a change it hears about. */
export interface ChangeHandlers {
  upsert: (number: PhoneNumber) => void;
  remove: (id: string) => void;
  applyList: (items: PhoneNumber[]) => void;
  applySyncResult: (id: string, result: SyncResult) => void;
  patchAgentRefs: (agent: AgentRef) => void;
  applyCheck: (id: string, check: PhoneNumberCheck) => void;
  loadAgents: () => Promise<void>;
}

/** Changes made in other tabs (BroadcastChannel) and by other components on this page (CustomEvents). */
export function useTabUpdates(api: Api, orgId: string, maxLoaded: number, { upsert, remove, applyList, loadAgents }: ChangeHandlers) {
  useEffect(
    () =>
      subscribePhoneNumberEvents(
        (message: SyncMessage) => {
          if (message.orgId !== orgId) return;
          if (message.type === "phoneNumberDeleted") remove(message.id);
          else if (message.phoneNumber) upsert(message.phoneNumber);
          else void api.getPhoneNumber(message.id).then(upsert, () => undefined);
        },
        () => {
          void loadAgents();
          void api.listPhoneNumbers(undefined, maxLoaded).then((page) => applyList(page.items), () => undefined);
        },
      ),
    [api, applyList, loadAgents, maxLoaded, remove, orgId, upsert],
  );
}

/** Changes made by anyone else, from numbers-api's event stream (off when `live` is false); its state. */
export function useLiveEvents(api: Api, token: string, live: boolean, { upsert, remove, applySyncResult, applyCheck, patchAgentRefs, loadAgents }: ChangeHandlers): LiveState {
  const [liveState, setLiveState] = useState<LiveState>("offline");
  useEffect(() => {
    if (!live) return;
    return connectLiveEvents(
      token,
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
            applySyncResult(event.subject, {
              version: data.version,
              sync: { state: data.state ?? (subject.endsWith("failed") ? "failed" : "synced"), error: data.error ?? null, synced_at: data.at ?? null },
            });
            void api.getPhoneNumber(event.subject).then(upsert, () => undefined);
            break;
          }
          case "telephony.phone_number.checked": {
            const data = event.data as { phone_number_id?: string; check?: PhoneNumberCheck };
            if (data.check) applyCheck(data.phone_number_id ?? event.subject, data.check);
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
  }, [api, applyCheck, applySyncResult, live, loadAgents, patchAgentRefs, remove, token, upsert]);
  return liveState;
}
