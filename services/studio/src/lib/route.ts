/**
 * The Studio's pages under `/telephony` (as server/server.mjs and deploy/docker/nginx.conf serve
 * index.html for them): `/telephony/` the phone numbers, `/telephony/agents` the agents,
 * `/telephony/calls` the call history (filters in the query) and `/telephony/calls/<id>` one call,
 * `/telephony/campaigns` the campaigns (and the do-not-call list), `/telephony/campaigns/new` a new
 * one, `/telephony/campaigns/<id>` one campaign (`?status=` filters its rows).
 * Links move between them without a reload (history.pushState); Back and Forward follow.
 */
import { useSyncExternalStore, type MouseEvent } from "react";
import { CALL_FILTER_KEYS } from "./types";

export const BASE = "/telephony";
export type Route = "numbers" | "agents" | "calls" | "call" | "campaigns" | "campaign-new" | "campaign";
/** The pages the top bar names (a call's page belongs to Calls, a campaign's to Campaigns). */
export type Page = Exclude<Route, "call" | "campaign" | "campaign-new">;

export const ROUTE_PATHS: Record<Page, string> = {
  numbers: `${BASE}/`,
  agents: `${BASE}/agents`,
  calls: `${BASE}/calls`,
  campaigns: `${BASE}/campaigns`,
};

const CALL_PATH = /^\/telephony\/calls\/([^/]+)\/?$/;
const CAMPAIGN_PATH = /^\/telephony\/campaigns\/([^/]+)\/?$/;

export function routeOf(pathname: string): Route {
  if (/^\/telephony\/agents\/?$/.test(pathname)) return "agents";
  if (/^\/telephony\/calls\/?$/.test(pathname)) return "calls";
  if (CALL_PATH.test(pathname)) return "call";
  if (/^\/telephony\/campaigns\/?$/.test(pathname)) return "campaigns";
  if (/^\/telephony\/campaigns\/new\/?$/.test(pathname)) return "campaign-new";
  if (CAMPAIGN_PATH.test(pathname)) return "campaign";
  return "numbers";
}

/** The campaign a `/telephony/campaigns/<id>` address names (not `new`). */
export function campaignIdOf(pathname: string): string | null {
  const match = CAMPAIGN_PATH.exec(pathname);
  return match && match[1] !== "new" ? decodeURIComponent(match[1]) : null;
}

/** A campaign's page, its rows filtered by `status` when given. */
export function campaignPath(id: string, status?: string | null): string {
  const path = `${ROUTE_PATHS.campaigns}/${encodeURIComponent(id)}`;
  return status ? `${path}?status=${encodeURIComponent(status)}` : path;
}

export const NEW_CAMPAIGN_PATH = `${ROUTE_PATHS.campaigns}/new`;

/** The call a `/telephony/calls/<id>` address names. */
export function callIdOf(pathname: string): string | null {
  const match = CALL_PATH.exec(pathname);
  return match ? decodeURIComponent(match[1]) : null;
}

/** A call's page. */
export function callPath(id: string): string {
  return `${ROUTE_PATHS.calls}/${encodeURIComponent(id)}`;
}

/** The call history, filtered (`?phone_number=&direction=&status=`, as `GET /calls` takes them). */
export function callsPath(filters: Partial<Record<(typeof CALL_FILTER_KEYS)[number], string>> = {}): string {
  const query = new URLSearchParams();
  for (const key of CALL_FILTER_KEYS) {
    const value = filters[key];
    if (value) query.set(key, value);
  }
  const text = query.toString();
  return text ? `${ROUTE_PATHS.calls}?${text}` : ROUTE_PATHS.calls;
}

/** A phone number's details on the Phone Numbers page. */
export function numberPath(id: string): string {
  return `${ROUTE_PATHS.numbers}?number=${encodeURIComponent(id)}`;
}

const ROUTE_CHANGED = "studio:navigate";

/** Go to a Studio address without reloading the page. */
export function navigate(url: string): void {
  window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(ROUTE_CHANGED));
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(ROUTE_CHANGED, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(ROUTE_CHANGED, onChange);
  };
}

/** The page the address bar names, following navigation. */
export function useRoute(): Route {
  return useSyncExternalStore(subscribe, () => routeOf(window.location.pathname));
}

/** The address bar's path and query, following navigation. */
export function useLocation(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
}

/** An `<a onClick>` that navigates in place; a modified or middle click opens the link as usual. */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute("href") ?? ROUTE_PATHS.numbers);
}
