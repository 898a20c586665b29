import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "../App";
import { ToastProvider } from "../components/Toasts";
import { decodeToken, saveSession } from "../lib/session";
import type { Role } from "../lib/types";
import { FakeApi, makeToken } from "./fakeApi";

/** Render the Studio signed in to `org_a` with `role`, against `api`. */
export async function renderStudio(api: FakeApi, role: Role | null = "owner", options: { maxLoaded?: number; live?: boolean } = {}) {
  if (role) saveSession(decodeToken(makeToken("org_a", role)));
  const user = userEvent.setup();
  const result = render(
    <ToastProvider>
      <App fetchImpl={api.fetch} live={options.live ?? false} maxLoaded={options.maxLoaded} />
    </ToastProvider>,
  );
  if (role) {
    await screen.findByText(/numbers?$/, { selector: ".list-count" });
    await waitFor(() => expect(document.querySelector(".list-loading")).toBeNull());
  }
  return { user, ...result };
}
