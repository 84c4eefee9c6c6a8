import { cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { OrganisationPage } from "./Publisher";

const ORGANISATION = "o1";

function json(body: object, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Organisation page", () => {
  it("names the organisation and the missing profile items in words", async () => {
    fetchMock.mockImplementation(async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path === `/api/identity/organisations/${ORGANISATION}`) {
        return json({ id: ORGANISATION, namespace: "acme", display_name: "Acme Ltd", created_at: "2026-01-01T00:00:00Z", role: "owner" });
      }
      if (path === `/api/catalog/organisations/${ORGANISATION}/products`) return json({ items: [], next_cursor: null });
      if (path === `/api/catalog/organisations/${ORGANISATION}/profile`) {
        return json({ organisation_id: ORGANISATION, complete: false, missing: ["legal_name", "logo_media_id", "story"], logo_url: null });
      }
      return json({ status: 404, detail: `unexpected ${path}` }, 404);
    });

    render(
      <MemoryRouter initialEntries={[`/publisher/${ORGANISATION}`]}>
        <Routes>
          <Route path="/publisher/:organisationId" element={<OrganisationPage />} />
        </Routes>
      </MemoryRouter>,
    );

    expect(await screen.findByRole("heading", { level: 1, name: "Acme Ltd" })).toBeTruthy();
    expect(await screen.findByText("Missing before the first submission: legal entity name, logo, company story")).toBeTruthy();
  });
});
