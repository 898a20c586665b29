import { Menu } from "lucide-react";
import type { Layout } from "../lib/hooks";
import type { LiveState } from "../lib/realtime";

interface Props {
  layout: Layout;
  drawerOpen: boolean;
  onOpenMenu: () => void;
  liveState: LiveState;
  /** The organization switcher and sign out. */
  accountControls: React.ReactNode;
}

/** The top bar: menu button (mobile), skip link, brand, live-updates state and the account controls. */
export function AppBar({ layout, drawerOpen, onOpenMenu, liveState, accountControls }: Props) {
  return (
    <header className="appbar">
      {layout === "mobile" && (
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
