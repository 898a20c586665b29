import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "../App";
import { ToastProvider } from "../components/Toasts";
import { decodeToken, saveSession } from "../lib/session";
import type { Role } from "../lib/types";
import { FakeApi, makeToken } from "./fakeApi";

/** Render the Studio signed in to `org_a` with `role`, against `api`. */
export async function renderStudio(api: FakeApi, role: Role | null = "owner", options: { maxLoaded?: number; live?: boolean; path?: string } = {}) {
  if (role) saveSession(decodeToken(makeToken("org_a", role)));
  if (options.path) window.history.replaceState(null, "", options.path);
  const agentsPage = window.location.pathname.startsWith("/telephony/agents");
  // Pages without a list count: wait until nothing is loading.
  const callsPage = /^\/telephony\/(calls|campaigns)/.test(window.location.pathname);
  const user = userEvent.setup();
  const result = render(
    <ToastProvider>
      <App fetchImpl={api.fetch} live={options.live ?? false} maxLoaded={options.maxLoaded} />
    </ToastProvider>,
  );
  if (role && callsPage) {
    await waitFor(() => expect(document.querySelector(".list-loading")).toBeNull());
  } else if (role) {
    await screen.findByText(agentsPage ? /agents?$/ : /numbers?$/, { selector: ".list-count" });
    await waitFor(() => expect(document.querySelector(".list-loading")).toBeNull());
  }
  return { user, ...result };
}
