import { useEffect, useState } from "react";

/** Whether a media query matches, following changes (jsdom without matchMedia counts as desktop). */
export function useMediaQuery(query: string): boolean {
  const get = () => (typeof window.matchMedia === "function" ? window.matchMedia(query).matches : true);
  const [matches, setMatches] = useState(get);
  useEffect(() => {
    if (typeof window.matchMedia !== "function") return;
    const list = window.matchMedia(query);
    const onChange = () => setMatches(list.matches);
    onChange();
    list.addEventListener("change", onChange);
    return () => list.removeEventListener("change", onChange);
  }, [query]);
  return matches;
}

export type Layout = "desktop" | "tablet" | "mobile";

/** The seed's breakpoints: >= 1024 px two columns, 768-1023 px icons, < 768 px drawer. */
export function useLayout(): Layout {
  const desktop = useMediaQuery("(min-width: 1024px)");
  const tablet = useMediaQuery("(min-width: 768px)");
  return desktop ? "desktop" : tablet ? "tablet" : "mobile";
}

/** True when the keyboard event comes from a place where the user types. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
