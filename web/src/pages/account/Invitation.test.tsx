import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
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

/** The preview as identity returns it: `addressed_to_you` is null unless the request carries an access token. */
function previewFor(addressedToYou: boolean) {
  return (request: Request) =>
    json({ ...PREVIEW, addressed_to_you: request.headers.has("Authorization") ? addressedToYou : null });
}

/** Stub the API responses the page requests: the preview from `preview`, and a signed-in session when `signedIn`. */
function serve(preview: Response | ((request: Request) => Response), signedIn: boolean) {
  if (signedIn) sessionStorage.setItem("wharf.refresh_token", "refresh");
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === `/api/identity/invitations/${TOKEN}` && request.method === "GET") {
      return typeof preview === "function" ? preview(request) : preview.clone();
    }
    if (path.endsWith("/sessions/refresh")) return json({ access_token: "access", refresh_token: "refresh-2", expires_in: 900 });
    if (path.endsWith("/sessions/logout")) return new Response(null, { status: 204 });
    if (path.endsWith("/users/me")) return json(ME);
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
}

/** Stand in for the sign-in page, showing the URL the page navigated to. */
function SignInStandIn() {
  const location = useLocation();
  return <p data-testid="sign-in">{location.pathname + location.search}</p>;
}

function renderPage() {
  render(
    <SessionProvider>
      <MemoryRouter initialEntries={[`/invitations/${TOKEN}`]}>
        <Routes>
          <Route path="/invitations/:token" element={<InvitationPage />} />
          <Route path="/login" element={<SignInStandIn />} />
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
    serve(previewFor(true), true);
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

  it("offers Accept to the invited account", async () => {
    serve(previewFor(true), true);
    renderPage();

    await screen.findByRole("button", { name: "Accept the invitation" });
    const text = document.body.textContent ?? "";

    expect(text).toContain("Signed in as abby. Accepting adds this account to Acme Images as editor.");
    expect(text).not.toContain("different email address");
    // The preview that decided this carried the access token.
    const requests = fetchMock.mock.calls.map(([request]) => request as Request);
    const previews = requests.filter((request) => request.url.endsWith(`/invitations/${TOKEN}`));
    expect(previews.length).toBeGreaterThan(0);
    expect(previews.at(-1)!.headers.get("Authorization")).toBe("Bearer access");
  });

  it("tells another signed-in account the invitation is not theirs", async () => {
    serve(previewFor(false), true);
    renderPage();

    const switchAccount = await screen.findByRole("button", { name: "Sign out and sign in with another account" });
    const text = document.body.textContent ?? "";

    expect(text).toContain("This invitation was sent to a different email address");
    expect(text).toContain("abby");
    expect(text).not.toContain("Accepting adds this account");
    expect(document.querySelector("dl.invitation-summary")!.textContent).toContain("Acme Images");
    expect(screen.queryByRole("button", { name: "Accept the invitation" })).toBeNull();

    fireEvent.click(switchAccount);

    const signIn = await screen.findByTestId("sign-in");
    expect(signIn.textContent).toBe(`/login?next=${encodeURIComponent(`/invitations/${TOKEN}`)}`);
    const logouts = fetchMock.mock.calls.filter(([request]) => (request as Request).url.endsWith("/sessions/logout"));
    expect(logouts).toHaveLength(1);
    expect(sessionStorage.getItem("wharf.refresh_token")).toBeNull();
  });

  it("asks a signed-out visitor to sign in", async () => {
    serve(previewFor(true), false);
    renderPage();

    expect(await screen.findByText("Acme Images")).toBeTruthy();
    const text = document.body.textContent ?? "";

    expect(text).toContain("The invitation is for the email address it was sent to.");
    expect(screen.getByRole("link", { name: "Sign in" }).getAttribute("href")).toBe(
      `/login?next=${encodeURIComponent(`/invitations/${TOKEN}`)}`,
    );
    expect(screen.getByRole("link", { name: "create an account" }).getAttribute("href")).toBe("/signup");
    expect(text).not.toContain("different email address");
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
