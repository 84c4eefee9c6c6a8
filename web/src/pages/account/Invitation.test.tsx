import { cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SessionProvider } from "../../auth/session";
import { InvitationPage } from "./Invitation";

const TOKEN = "wharf_inv_secret";
const PREVIEW = {
  namespace: "acme",
  organisation_name: "Acme Images",
  role: "editor",
  invited_by: "Zane Owner",
  expires_at: "2030-01-02T03:04:05Z",
};
const ME = { id: "u1", username: "abby", email: "abby@example.com", staff_roles: [], organisations: [] };

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** Stub the API responses the page requests: the preview with `preview`, and a signed-in session when `signedIn`. */
function serve(preview: Response, signedIn: boolean) {
  if (signedIn) sessionStorage.setItem("wharf.refresh_token", "refresh");
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === `/api/identity/invitations/${TOKEN}` && request.method === "GET") return preview.clone();
    if (path.endsWith("/sessions/refresh")) return json({ access_token: "access", refresh_token: "refresh-2", expires_in: 900 });
    if (path.endsWith("/users/me")) return json(ME);
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
}

function renderPage() {
  render(
    <SessionProvider>
      <MemoryRouter initialEntries={[`/invitations/${TOKEN}`]}>
        <Routes>
          <Route path="/invitations/:token" element={<InvitationPage />} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
  sessionStorage.clear();
});

describe("InvitationPage", () => {
  it("names organisation, role, inviter and expiry before Accept", async () => {
    serve(json(PREVIEW), true);
    renderPage();

    const accept = await screen.findByRole("button", { name: "Accept the invitation" });
    const summary = document.querySelector("dl.invitation-summary");

    expect(summary).not.toBeNull();
    expect(summary!.textContent).toContain("Acme Images");
    expect(summary!.textContent).toContain("(acme)");
    expect(summary!.textContent).toContain("editor");
    expect(summary!.textContent).toContain("Zane Owner");
    expect(summary!.querySelector("time")!.getAttribute("dateTime")).toBe(PREVIEW.expires_at);
    // The summary comes first in the document, so it is read before the button.
    expect(summary!.compareDocumentPosition(accept) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const acceptCalls = fetchMock.mock.calls.filter(([request]) => (request as Request).method === "POST" && (request as Request).url.includes("/accept"));
    expect(acceptCalls).toHaveLength(0);
  });

  it("shows the summary to a visitor who is not signed in", async () => {
    serve(json(PREVIEW), false);
    renderPage();

    expect(await screen.findByText("Acme Images")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Sign in" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Accept the invitation" })).toBeNull();
  });

  it("offers no Accept button for an unknown invitation", async () => {
    serve(json({ status: 404, detail: "Invitation not found: it may have expired" }, 404), true);
    renderPage();

    const alert = await screen.findByRole("alert");

    expect(alert.textContent).toContain("Invitation not found");
    expect(screen.queryByRole("button", { name: "Accept the invitation" })).toBeNull();
  });
});
