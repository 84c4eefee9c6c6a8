import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { PublisherProductPage, withdrawConflictMessage } from "./Publisher";

const ORGANISATION = "o1";
const PRODUCT = "p1";
const WITHDRAW_PATH = `/api/catalog/products/${PRODUCT}/versions/v1/withdraw`;
const PRODUCT_SUMMARY = { id: PRODUCT, name: "Harbour Log", product_type: "image", status: "unpublished", namespace: "acme", slug: "harbour-log" };

function version(state: string, stateReason: string | null = null) {
  return {
    id: "v1",
    version: "1.0.0",
    state,
    state_reason: stateReason,
    manifest: { short_description: "Logs berths", long_description: "Stored text", install_instructions: "Pull it" },
    tiers: [{ id: "t1", name: "Free", description: "", price_amount: 0, currency: "EUR", billing_period: "free", source: "staging/acme/app:1" }],
  };
}

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** Serve a version in `state`. A withdrawal returns `withdrawal()`, and a successful one moves the version to draft. */
function serve(state: string, withdrawal: () => Response = () => json({})): string[] {
  let current = version(state);
  const writes: string[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET") writes.push(`${request.method} ${path}`);
    if (request.method === "POST" && path === WITHDRAW_PATH) {
      const response = withdrawal();
      if (response.ok) current = version("draft", "Withdrawn by the publisher");
      return response;
    }
    if (path === `/api/catalog/products/${PRODUCT}/versions`) return json({ items: [current], next_cursor: null });
    if (path === `/api/catalog/products/${PRODUCT}/versions/v1`) return json(current);
    if (path === `/api/catalog/organisations/${ORGANISATION}/products`) return json({ items: [PRODUCT_SUMMARY], next_cursor: null });
    if (path === "/api/moderation/cases") return json({ items: [], next_cursor: null });
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
  return writes;
}

function renderPage() {
  render(
    <MemoryRouter initialEntries={[`/publisher/${ORGANISATION}/products/${PRODUCT}`]}>
      <Routes>
        <Route path="/publisher/:organisationId/products/:productId" element={<PublisherProductPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Withdraw submission", () => {
  it.each(["submitted", "in_review"])("returns a %s version to draft", async (state) => {
    const writes = serve(state);
    renderPage();

    fireEvent.click(await screen.findByRole("button", { name: "Withdraw submission" }));
    expect(writes).toEqual([]);
    fireEvent.click(screen.getByRole("button", { name: "Yes, withdraw" }));

    await waitFor(() => expect(screen.getByTestId("version-state").textContent).toBe("draft"));
    expect(writes).toEqual([`POST ${WITHDRAW_PATH}`]);
    expect(screen.getByText(/Withdrawn by the publisher/)).toBeTruthy();
    expect(screen.getByRole("button", { name: "Submit for review" })).toBeTruthy();
    expect(screen.queryByRole("button", { name: "Withdraw submission" })).toBeNull();
  });

  it.each(["draft", "approved"])("is not offered for a %s version", async (state) => {
    serve(state);
    renderPage();

    await waitFor(() => expect(screen.getByTestId("version-state").textContent).toBe(state));
    expect(screen.queryByRole("button", { name: "Withdraw submission" })).toBeNull();
  });

  it("asks before withdrawing", async () => {
    const writes = serve("submitted");
    renderPage();

    fireEvent.click(await screen.findByRole("button", { name: "Withdraw submission" }));

    const question = screen.getByRole("group", { name: /Withdraw version 1\.0\.0 from review\?/ });
    expect(document.activeElement).toBe(within(question).getByRole("button", { name: "Yes, withdraw" }));
    fireEvent.click(within(question).getByRole("button", { name: "Cancel" }));

    expect(screen.queryByRole("group")).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Withdraw submission" }));
    expect(writes).toEqual([]);
    expect(screen.getByTestId("version-state").textContent).toBe("submitted");
  });

  it("explains a decision made meanwhile", async () => {
    const detail = "Version 1.0.0 of product p1 is approved; it can become draft only from in_review or submitted";
    serve("submitted", () => json({ status: 409, detail, current_state: "approved" }, 409));
    renderPage();

    fireEvent.click(await screen.findByRole("button", { name: "Withdraw submission" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, withdraw" }));

    expect(await screen.findByText("This version was already decided (approved); reload to see the decision.")).toBeTruthy();
    expect(screen.queryByText(detail)).toBeNull();
    expect(screen.getByTestId("version-state").textContent).toBe("submitted");
  });

  it("shows why a withdrawal failed", async () => {
    const detail = "Product p1 not found";
    serve("submitted", () => json({ status: 404, detail }, 404));
    renderPage();

    fireEvent.click(await screen.findByRole("button", { name: "Withdraw submission" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, withdraw" }));

    expect(await screen.findByText(detail)).toBeTruthy();
    expect(screen.getByTestId("version-state").textContent).toBe("submitted");
  });
});

describe("withdrawConflictMessage", () => {
  it.each([
    ["approved", "This version was already decided (approved); reload to see the decision."],
    ["changes_requested", "This version was already decided (changes requested); reload to see the decision."],
    ["rejected", "This version was already decided (rejected); reload to see the decision."],
    ["published", "This version was already decided (published); reload to see the decision."],
    ["draft", "This version was already withdrawn and is a draft again; reload to edit it."],
  ])("explains %s", (state, message) => {
    expect(withdrawConflictMessage(state)).toBe(message);
  });
});
