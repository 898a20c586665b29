/**
 * The Studio's two pages under `/telephony` (as server/server.mjs and deploy/docker/nginx.conf serve
 * index.html for them): `/telephony/` the phone numbers, `/telephony/agents` the agents. Links move
 * between them without a reload (history.pushState); Back and Forward follow.
 */
import { useSyncExternalStore, type MouseEvent } from "react";

export const BASE = "/telephony";
export type Route = "numbers" | "agents";

export const ROUTE_PATHS: Record<Route, string> = { numbers: `${BASE}/`, agents: `${BASE}/agents` };

export function routeOf(pathname: string): Route {
  return /^\/telephony\/agents\/?$/.test(pathname) ? "agents" : "numbers";
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

/** An `<a onClick>` that navigates in place; a modified or middle click opens the link as usual. */
export function followLink(event: MouseEvent<HTMLAnchorElement>): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(event.currentTarget.getAttribute("href") ?? ROUTE_PATHS.numbers);
}
