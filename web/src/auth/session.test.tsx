import { act, cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SessionProvider, useSession } from "./session";

function json(body: object, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function requestPath(call: unknown[]): string {
  const request = call[0] as Request;
  return new URL(request.url).pathname;
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
  sessionStorage.clear();
});

describe("SessionProvider", () => {
  it("sends one refresh when callers ask for several at once", async () => {
    sessionStorage.setItem("wharf.refresh_token", "first");
    let rotations = 0;
    fetchMock.mockImplementation(async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/sessions/refresh")) {
        rotations += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return json({ access_token: `access-${rotations}`, refresh_token: `refresh-${rotations}`, expires_in: 900 });
      }
      return json({ id: "u1", username: "ada", email: "ada@example.com", staff_roles: [], memberships: [] });
    });

    let session: ReturnType<typeof useSession> | null = null;
    function Probe() {
      session = useSession();
      return null;
    }
    render(
      <SessionProvider>
        <Probe />
      </SessionProvider>,
    );

    // The provider's own refresh on start is still running; two more callers join it.
    await act(async () => {
      await Promise.all([session!.refresh(), session!.refresh()]);
    });

    const refreshCalls = fetchMock.mock.calls.filter((call) => requestPath(call).endsWith("/sessions/refresh"));
    expect(refreshCalls).toHaveLength(1);
    expect(sessionStorage.getItem("wharf.refresh_token")).toBe("refresh-1");
  });
});
