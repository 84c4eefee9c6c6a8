import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SessionProvider } from "../auth/session";
import { ProductPage } from "./Product";

const ACCESS_TOKEN = "access-1";
const PRODUCT = "p1";
const LOGO = "media/logo-1";
const SCREENSHOT = "media/shot-1";
const PULL = "docker pull localhost:5000/store/acme/harbour-log:1.0.0";

function listing(overrides: object = {}) {
  return {
    id: PRODUCT,
    organisation_id: "o1",
    namespace: "acme",
    slug: "harbour-log",
    name: "Harbour Log",
    product_type: "image",
    status: "unpublished",
    warning: null,
    badges: [],
    version: { id: "v1", version: "1.0.0", state: "draft", published_at: null, created_at: "2025-01-01T00:00:00Z" },
    versions: [],
    short_description: "Logs berths",
    category: null,
    tags: [],
    logo_url: LOGO,
    screenshot_urls: [SCREENSHOT],
    long_description_html: "",
    install_instructions_html: "",
    support: null,
    licence_url: "https://example.com/licence",
    licence_version: "2",
    access_policy: "logged_in",
    licence_required: true,
    tiers: [{ id: "t1", name: "Community", description: "", price_amount: 0, currency: "EUR", billing_period: "free", owned: false, pull_command: PULL }],
    store_repository: "store/acme/harbour-log",
    pull_count: 0,
    publisher: { name: "Acme" },
    published_at: null,
    ...overrides,
  };
}

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

interface Served {
  writes: string[];
  imageTokens: (string | null)[];
}

/**
 * Serve a signed-in member's view of an unpublished listing. As in the catalog, only
 * requests with the member's token may read its images. `acceptances` are the user's
 * recorded licence acceptances, and a new acceptance is added to them.
 */
function serve(acceptances: object[] = [], changes: object = {}): Served {
  const served: Served = { writes: [], imageTokens: [] };
  const recorded = [...acceptances];
  fetchMock.mockImplementation(async (input: Request | URL | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname;
    // Sign-in requests are not the page's own writes.
    if (request.method !== "GET" && !path.startsWith("/api/identity/")) served.writes.push(`${request.method} ${path}`);
    if (path === "/api/identity/sessions/refresh") return json({ access_token: ACCESS_TOKEN, refresh_token: "refresh-2", expires_in: 900 });
    if (path === "/api/identity/users/me") return json({ id: "u1", username: "ada", email: "ada@example.com", staff_roles: [], memberships: [] });
    if (path === "/api/catalog/store/acme/harbour-log") return json(listing(changes));
    if (path === "/api/notifications/subscriptions") return json({ items: [], next_cursor: null });
    if (path === "/api/licensing/licence-acceptances") return json({ items: recorded, next_cursor: null });
    if (path === `/api/licensing/products/${PRODUCT}/licence-acceptances` && request.method === "POST") {
      const body = await request.json();
      const acceptance = { acceptance_id: "a1", product_id: PRODUCT, tier_id: body.tier_id, licence_url: "https://example.com/licence", licence_version: body.licence_version, accepted_at: "2025-01-02T00:00:00Z" };
      recorded.push(acceptance);
      return json(acceptance, 201);
    }
    if (path.startsWith("/api/catalog/media/")) {
      const authorization = request.headers.get("Authorization");
      served.imageTokens.push(authorization);
      if (authorization !== `Bearer ${ACCESS_TOKEN}`) return json({ status: 404, detail: "Image not found" }, 404);
      return new Response(new Uint8Array([137, 80, 78, 71]), { status: 200, headers: { "Content-Type": "image/png" } });
    }
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
  return served;
}

function renderPage() {
  render(
    <SessionProvider>
      <MemoryRouter initialEntries={["/store/acme/harbour-log"]}>
        <Routes>
          <Route path="/store/:namespace/:slug" element={<ProductPage />} />
        </Routes>
      </MemoryRouter>
    </SessionProvider>,
  );
}

beforeEach(() => {
  sessionStorage.setItem("wharf.refresh_token", "refresh-1");
  let count = 0;
  // jsdom has no object URLs.
  URL.createObjectURL = vi.fn(() => `blob:http://localhost/${++count}`);
  URL.revokeObjectURL = vi.fn();
});

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
  sessionStorage.clear();
});

describe("Product page media", () => {
  it("shows unpublished images to the member", async () => {
    const served = serve();
    renderPage();

    await waitFor(() => expect(screen.getByRole("img", { name: "Harbour Log logo" }).getAttribute("src")).toMatch(/^blob:/));
    await waitFor(() => expect(screen.getByRole("img", { name: "Screenshot 1 of Harbour Log" }).getAttribute("src")).toMatch(/^blob:/));
    expect(served.imageTokens).toEqual([`Bearer ${ACCESS_TOKEN}`, `Bearer ${ACCESS_TOKEN}`]);
  });
});

function acceptance(licenceVersion: string) {
  return { acceptance_id: "a0", product_id: PRODUCT, tier_id: "t1", licence_url: "https://example.com/licence", licence_version: licenceVersion, accepted_at: "2025-01-01T00:00:00Z" };
}

describe("Free tier with a licence", () => {
  it("confirms the accepted licence", async () => {
    const served = serve();
    renderPage();
    const tier = await screen.findByRole("listitem", { name: "Tier Community" });

    fireEvent.click(await within(tier).findByRole("checkbox"));
    fireEvent.click(within(tier).getByRole("button", { name: "Get it" }));

    const status = await within(tier).findByRole("status");
    expect(status.textContent).toMatch(/Licence accepted: you can pull this tier now/);
    expect(within(tier).getByTestId("pull-command").textContent).toBe(PULL);
    expect(served.writes).toEqual([`POST /api/licensing/products/${PRODUCT}/licence-acceptances`]);
    expect(within(tier).queryByRole("button", { name: "Get it" })).toBeNull();
    expect(within(tier).queryByRole("checkbox")).toBeNull();
  });

  it("shows an earlier acceptance as accepted", async () => {
    serve([acceptance("2")]);
    renderPage();
    const tier = await screen.findByRole("listitem", { name: "Tier Community" });

    expect(await within(tier).findByText("Licence version 2 accepted")).toBeTruthy();
    expect(within(tier).getByTestId("pull-command").textContent).toBe(PULL);
    expect(within(tier).queryByRole("button", { name: "Get it" })).toBeNull();
  });

  it("asks again after a new licence version", async () => {
    serve([acceptance("1")]);
    renderPage();
    const tier = await screen.findByRole("listitem", { name: "Tier Community" });

    expect(await within(tier).findByRole("button", { name: "Get it" })).toBeTruthy();
    await waitFor(() => expect(fetchMock.mock.calls.some(([input]) => input instanceof Request && new URL(input.url).pathname === "/api/licensing/licence-acceptances")).toBe(true));
    expect(within(tier).queryByText(/accepted/)).toBeNull();
    expect(within(tier).getByRole("button", { name: "Get it" })).toBeTruthy();
  });
});

describe("Free tier without a licence", () => {
  it("offers the pull command instead of a button", async () => {
    const served = serve([], { licence_required: false });
    renderPage();
    const tier = await screen.findByRole("listitem", { name: "Tier Community" });

    expect(await within(tier).findByText(/Free, with no licence to accept/)).toBeTruthy();
    expect(within(tier).getByTestId("pull-command").textContent).toBe(PULL);
    expect(within(tier).queryByRole("button", { name: "Get it" })).toBeNull();
    expect(served.writes).toEqual([]);
  });
});
