import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { PublisherProductPage } from "./Publisher";

const ORGANISATION = "o1";
const PRODUCT = "p1";
const VERSION = {
  id: "v1",
  version: "1.0.0",
  state: "draft",
  state_reason: null,
  manifest: { short_description: "Logs berths", long_description: "Stored text", install_instructions: "Pull it" },
  tiers: [{ id: "t1", name: "Free", description: "", price_amount: 0, currency: "EUR", billing_period: "none", source: "staging/acme/app:1" }],
};
const PRODUCT_SUMMARY = { id: PRODUCT, name: "Harbour Log", product_type: "image", status: "unpublished", namespace: "acme", slug: "harbour-log" };
const SUBMIT_PATH = `/api/catalog/products/${PRODUCT}/versions/v1/submit`;
const VERSION_PATH = `/api/catalog/products/${PRODUCT}/versions/v1`;

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

interface Sent {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

/** Stub the catalog and moderation responses, return `saveResponse()` for a save, and record every write. */
function serve(saveResponse: () => Response): Sent[] {
  const writes: Sent[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET") {
      const text = await request.text();
      writes.push({ method: request.method, path, body: text ? JSON.parse(text) : null });
    }
    if (request.method === "PATCH" && path === VERSION_PATH) return saveResponse();
    if (request.method === "POST" && path === SUBMIT_PATH) return json({ ...VERSION, state: "submitted" });
    if (path === `/api/catalog/products/${PRODUCT}/versions`) return json({ items: [VERSION], next_cursor: null });
    if (path === VERSION_PATH) return json(VERSION);
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

describe("Submit for review", () => {
  it("saves unsaved edits before submitting", async () => {
    const writes = serve(() => json(VERSION));
    renderPage();

    fireEvent.change(await screen.findByLabelText("Long description"), { target: { value: "Edited text" } });
    fireEvent.click(screen.getByRole("button", { name: "Submit for review" }));

    await waitFor(() => expect(writes.map((write) => write.path)).toContain(SUBMIT_PATH));
    expect(writes.map((write) => `${write.method} ${write.path}`)).toEqual([`PATCH ${VERSION_PATH}`, `POST ${SUBMIT_PATH}`]);
    expect(writes[0].body!.long_description).toBe("Edited text");
    await waitFor(() => expect(screen.queryByText(/You have unsaved changes/)).toBeNull());
  });

  it("does not submit when the save fails", async () => {
    const rejection = { status: 422, detail: "Invalid request", errors: [{ field: "body.long_description", message: "must not be empty" }] };
    const writes = serve(() => json(rejection, 422));
    renderPage();

    fireEvent.change(await screen.findByLabelText("Long description"), { target: { value: " " } });
    fireEvent.click(screen.getByRole("button", { name: "Submit for review" }));

    const fieldError = await screen.findByText("must not be empty");
    expect(fieldError.closest(".field")!.querySelector("label")!.textContent).toBe("Long description");
    expect(writes.map((write) => `${write.method} ${write.path}`)).toEqual([`PATCH ${VERSION_PATH}`]);
    expect(screen.getByText(/You have unsaved changes/)).toBeTruthy();
  });

  it("says that unsaved edits are saved first", async () => {
    serve(() => json(VERSION));
    renderPage();

    const submit = await screen.findByRole("button", { name: "Submit for review" });
    expect(screen.queryByText(/You have unsaved changes/)).toBeNull();
    fireEvent.change(screen.getByLabelText("Long description"), { target: { value: "Edited text" } });

    const hint = screen.getByText(/You have unsaved changes/);
    expect(submit.getAttribute("aria-describedby")).toBe(hint.id);
  });

  it("submits at once without unsaved edits", async () => {
    const writes = serve(() => json(VERSION));
    renderPage();

    fireEvent.click(await screen.findByRole("button", { name: "Submit for review" }));

    await waitFor(() => expect(writes).toHaveLength(1));
    expect(writes[0].path).toBe(SUBMIT_PATH);
    expect(screen.queryByText(/You have unsaved changes/)).toBeNull();
  });
});
