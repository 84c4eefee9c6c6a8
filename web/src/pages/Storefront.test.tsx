import { cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SearchPage } from "./Storefront";

const NOTE = /Prices are sorted within each currency/;

function serve(currencies: Record<string, number>) {
  const requested: URLSearchParams[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    requested.push(new URL(request.url).searchParams);
    const page = {
      items: [],
      next_cursor: null,
      total: 0,
      facets: { currency: Object.entries(currencies).map(([value, count]) => ({ value, count })) },
    };
    return new Response(JSON.stringify(page), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  return requested;
}

function renderAt(query: string) {
  render(
    <MemoryRouter initialEntries={[`/search?${query}`]}>
      <Routes>
        <Route path="/search" element={<SearchPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("Search page currency", () => {
  it("explains a price sort over several currencies", async () => {
    serve({ EUR: 5, USD: 2 });
    renderAt("sort=price_asc");

    expect(await screen.findByText(NOTE)).toBeTruthy();
    expect(screen.getByRole("button", { name: /USD/ })).toBeTruthy();
  });

  it("passes the chosen currency to the catalog", async () => {
    const requested = serve({ EUR: 5, USD: 2 });
    renderAt("sort=price_desc&currency=USD");

    await screen.findByRole("button", { name: /USD/ });
    expect(requested[0].get("currency")).toBe("USD");
    expect(screen.queryByText(NOTE)).toBeNull();
  });

  it("says nothing when one currency is found", async () => {
    serve({ EUR: 7 });
    renderAt("sort=price_asc");

    await screen.findByRole("button", { name: /EUR/ });
    expect(screen.queryByText(NOTE)).toBeNull();
  });
});
