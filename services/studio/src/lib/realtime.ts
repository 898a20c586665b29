/**
 * Real-time updates: the seed's window CustomEvents in this tab, a BroadcastChannel to the other tabs,
 * and the numbers-api server-sent events stream (changes made by anyone else).
 */
import type { PhoneNumber } from "./types";

export type PhoneNumberEventName = "phoneNumberAdded" | "phoneNumberUpdated" | "phoneNumberDeleted";
export const PHONE_NUMBER_EVENTS: PhoneNumberEventName[] = ["phoneNumberAdded", "phoneNumberUpdated", "phoneNumberDeleted"];

export interface PhoneNumberEventDetail {
  orgId: string;
  id: string;
  phoneNumber?: PhoneNumber;
  /** The tab that made the change. */
  source: string;
}

export interface SyncMessage extends PhoneNumberEventDetail {
  type: PhoneNumberEventName;
}

const CHANNEL = "talkifai.telephony";
export const TAB_ID = Math.random().toString(36).slice(2);

/** Tell this tab (CustomEvent) and the others (BroadcastChannel) about a change. */
export function announce(type: PhoneNumberEventName, detail: Omit<PhoneNumberEventDetail, "source">): void {
  const full: PhoneNumberEventDetail = { ...detail, source: TAB_ID };
  window.dispatchEvent(new CustomEvent<PhoneNumberEventDetail>(type, { detail: full }));
  if (typeof BroadcastChannel !== "undefined") {
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage({ type, ...full } satisfies SyncMessage);
    channel.close();
  }
}

/** Tell this tab's other components (the seed's `agentUpdated`) and the other tabs that agents changed. */
export function announceAgentChange(): void {
  window.dispatchEvent(new CustomEvent("agentUpdated"));
  if (typeof BroadcastChannel !== "undefined") {
    const channel = new BroadcastChannel(CHANNEL);
    channel.postMessage({ type: "agentUpdated", source: TAB_ID });
    channel.close();
  }
}

/** Receive changes from other tabs and from other components of this page; returns the unsubscribe. */
export function subscribePhoneNumberEvents(onMessage: (message: SyncMessage) => void, onAgentUpdated: () => void): () => void {
  const channel = typeof BroadcastChannel !== "undefined" ? new BroadcastChannel(CHANNEL) : null;
  const fromChannel = (event: MessageEvent<SyncMessage | { type: "agentUpdated"; source: string }>) => {
    if (!event.data) return;
    // A tab hears its own posts through its other channel objects: those it has applied already.
    if (event.data.type === "agentUpdated") {
      if (event.data.source !== TAB_ID) onAgentUpdated();
    } else if (PHONE_NUMBER_EVENTS.includes(event.data.type)) onMessage(event.data);
  };
  channel?.addEventListener("message", fromChannel);
  const listeners = PHONE_NUMBER_EVENTS.map((type) => {
    const listener = (event: Event) => {
      const detail = (event as CustomEvent<PhoneNumberEventDetail>).detail;
      // Our own announcements are already applied; others' (another component on the page) are not.
      if (detail && detail.source !== TAB_ID) onMessage({ type, ...detail });
    };
    window.addEventListener(type, listener);
    return [type, listener] as const;
  });
  const agentListener = () => onAgentUpdated();
  window.addEventListener("agentUpdated", agentListener);
  return () => {
    channel?.removeEventListener("message", fromChannel);
    channel?.close();
    for (const [type, listener] of listeners) window.removeEventListener(type, listener);
    window.removeEventListener("agentUpdated", agentListener);
  };
}

/** A CloudEvent as numbers-api streams it. */
export interface CloudEvent<T = unknown> {
  id: string;
  type: string;
  subject: string;
  orgid?: string;
  /** When the change happened (CloudEvents `time`). */
  time?: string;
  data: T;
}

export const LIVE_SUBJECTS = [
  "telephony.phone_number.created",
  "telephony.phone_number.updated",
  "telephony.phone_number.deleted",
  "telephony.phone_number.synced",
  "telephony.phone_number.sync_failed",
  "telephony.phone_number.checked",
  "telephony.agent.created",
  "telephony.agent.updated",
  "telephony.agent.deleted",
  // Calls: data CallData (costed: CallCostedData). numbers-api's feed relays only agent and
  // phone number events today (consumers.py LIVE_PREFIXES); the Calls page also reads again.
  "telephony.call.initiated",
  "telephony.call.ringing",
  "telephony.call.answered",
  "telephony.call.completed",
  "telephony.call.failed",
  "telephony.call.costed",
  // Campaigns: data the campaign (subject its id). Not relayed by numbers-api's feed yet either; the
  // Campaigns page reads again on them when they come, and polls meanwhile.
  "telephony.campaign.created",
  "telephony.campaign.started",
  "telephony.campaign.paused",
  "telephony.campaign.resumed",
  "telephony.campaign.cancelled",
  "telephony.campaign.completed",
] as const;
export type LiveSubject = (typeof LIVE_SUBJECTS)[number];

export type LiveState = "connecting" | "live" | "offline";

/** Hears each event of a page's one live stream. */
export type LiveListener = (subject: LiveSubject, event: CloudEvent) => void;

/** Follow `GET /events`; EventSource reconnects by itself (the server sets `retry`). */
export function connectLiveEvents(
  token: string,
  onEvent: (subject: LiveSubject, event: CloudEvent) => void,
  onState: (state: LiveState) => void,
): () => void {
  if (typeof EventSource === "undefined") {
    onState("offline");
    return () => {};
  }
  const source = new EventSource(`/events?access_token=${encodeURIComponent(token)}`);
  onState("connecting");
  source.onopen = () => onState("live");
  source.onerror = () => onState(source.readyState === EventSource.CLOSED ? "offline" : "connecting");
  for (const subject of LIVE_SUBJECTS) {
    source.addEventListener(subject, (message) => {
      try {
        onEvent(subject, JSON.parse((message as MessageEvent<string>).data) as CloudEvent);
      } catch {
        /* a malformed event is skipped; the next refresh corrects the view */
      }
    });
  }
  return () => source.close();
}
