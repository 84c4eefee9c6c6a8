import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { useUserNames } from "./userNames";

const ALICE = "11111111-1111-4111-8111-111111111111";
const UNKNOWN = "22222222-2222-4222-8222-222222222222";

function Names({ ids, enabled }: { ids: (string | null)[]; enabled: boolean }) {
  const names = useUserNames(ids, enabled);
  return (
    <ul>
      {ids.map((id, index) => (
        <li key={index}>{id ? (names.get(id) ?? `id ${id}`) : "nobody"}</li>
      ))}
    </ul>
  );
}

function serve(): URLSearchParams[] {
  const requested: URLSearchParams[] = [];
  fetchMock.mockImplementation(async (request: Request) => {
    const url = new URL(request.url);
    requested.push(url.searchParams);
    const body = [{ user_id: ALICE, username: "alice", display_name: "Alice" }];
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  return requested;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("useUserNames", () => {
  it("names known ids once each and keeps unknown ones as ids", async () => {
    const requested = serve();
    render(<Names ids={[ALICE, null, UNKNOWN, ALICE]} enabled />);

    expect(await screen.findAllByText("alice")).toHaveLength(2);
    expect(screen.getByText(`id ${UNKNOWN}`)).toBeTruthy();
    expect(requested).toHaveLength(1);
    expect(requested[0].getAll("id")).toEqual([ALICE, UNKNOWN]);
  });

  it("asks nothing for a user without a staff role", async () => {
    const requested = serve();
    render(<Names ids={[ALICE]} enabled={false} />);

    await waitFor(() => expect(screen.getByText(`id ${ALICE}`)).toBeTruthy());
    expect(requested).toHaveLength(0);
  });
});
