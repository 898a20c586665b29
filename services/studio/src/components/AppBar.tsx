import { Bot, History, Megaphone, Menu, Phone } from "lucide-react";
import type { Layout } from "../lib/hooks";
import type { LiveState } from "../lib/realtime";
import { followLink, ROUTE_PATHS, type Page } from "../lib/route";

interface Props {
  /** The page shown: its link in the navigation is the current one. */
  page: Page;
  layout: Layout;
  drawerOpen: boolean;
  /** The mobile menu button; pages without a drawer leave it out. */
  onOpenMenu?: () => void;
  liveState: LiveState;
  /** The organization switcher and sign out. */
  accountControls: React.ReactNode;
}

const PAGES: { route: Page; label: string; icon: typeof Phone }[] = [
  { route: "numbers", label: "Phone Numbers", icon: Phone },
  { route: "agents", label: "Agents", icon: Bot },
  { route: "calls", label: "Calls", icon: History },
  { route: "campaigns", label: "Campaigns", icon: Megaphone },
];

/** The top bar: menu button (mobile), skip link, brand, the pages, live-updates state and the account controls. */
export function AppBar({ page, layout, drawerOpen, onOpenMenu, liveState, accountControls }: Props) {
  return (
    <header className="appbar">
      {layout === "mobile" && onOpenMenu && (
        <button type="button" className="icon-button" aria-label="Open menu" aria-expanded={drawerOpen} onClick={onOpenMenu}>
          <Menu size={20} aria-hidden />
        </button>
      )}
      <a className="skip-link" href="#main">
        Skip to details
      </a>
      <span className="brand">
        TalkifAI <span className="muted">Studio · Telephony</span>
      </span>
      <nav className="app-nav" aria-label="Studio pages">
        {PAGES.map(({ route, label, icon: Icon }) => (
          <a key={route} href={ROUTE_PATHS[route]} className="nav-link" aria-current={page === route ? "page" : undefined} title={label} onClick={followLink}>
            <Icon size={16} aria-hidden />
            <span className="nav-label">{label}</span>
          </a>
        ))}
      </nav>
      <LiveIndicator state={liveState} />
      <div className="account">{accountControls}</div>
    </header>
  );
}

function LiveIndicator({ state }: { state: LiveState }) {
  return (
    <span className={`live live-${state}`} role="status" aria-label={`Live updates: ${state}`} title="Live updates">
      <span className="live-dot" aria-hidden /> {state === "live" ? "Live" : state === "connecting" ? "Connecting…" : "Offline"}
    </span>
  );
}
