import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { SessionProvider } from "../auth/session";
import { MediaImage } from "./MediaImage";

const MEDIA = "media/0b6c4c6e-8f7a-4d38-9a53-2f1d8d0c2a11";
const ACCESS_TOKEN = "access-1";

function json(body: object, status = 200) {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/**
 * Serve a session for a signed-in user and an unpublished image that, as in the catalog,
 * only requests with that user's token may read. Returns the Authorization header of
 * each image request.
 */
function serve(): (string | null)[] {
  const imageRequests: (string | null)[] = [];
  fetchMock.mockImplementation(async (input: Request | URL | string, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === "/api/identity/sessions/refresh") return json({ access_token: ACCESS_TOKEN, refresh_token: "refresh-2", expires_in: 900 });
    if (path === "/api/identity/users/me") return json({ id: "u1", username: "ada", email: "ada@example.com", staff_roles: [], memberships: [] });
    if (path === `/api/catalog/${MEDIA}`) {
      const authorization = request.headers.get("Authorization");
      imageRequests.push(authorization);
      if (authorization !== `Bearer ${ACCESS_TOKEN}`) return json({ status: 404, detail: "Image not found" }, 404);
      return new Response(new Uint8Array([137, 80, 78, 71]), { status: 200, headers: { "Content-Type": "image/png" } });
    }
    return json({ status: 404, detail: `unexpected ${request.method} ${path}` }, 404);
  });
  return imageRequests;
}

function renderImage(url = MEDIA) {
  return render(
    <SessionProvider>
      <MediaImage url={url} alt="Current logo" width={96} height={96} />
    </SessionProvider>,
  );
}

let created: string[];
let revoked: string[];

beforeEach(() => {
  created = [];
  revoked = [];
  // jsdom has no object URLs.
  URL.createObjectURL = vi.fn(() => {
    const url = `blob:http://localhost/${created.length + 1}`;
    created.push(url);
    return url;
  });
  URL.revokeObjectURL = vi.fn((url: string) => void revoked.push(url));
});

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
  sessionStorage.clear();
});

describe("MediaImage", () => {
  it("fetches with the token when signed in", async () => {
    sessionStorage.setItem("wharf.refresh_token", "refresh-1");
    const imageRequests = serve();
    renderImage();

    await waitFor(() => expect(screen.getByRole("img", { name: "Current logo" }).getAttribute("src")).toBe("blob:http://localhost/1"));
    expect(imageRequests).toEqual([`Bearer ${ACCESS_TOKEN}`]);
  });

  it("revokes the blob URL on unmount", async () => {
    sessionStorage.setItem("wharf.refresh_token", "refresh-1");
    serve();
    const { unmount } = renderImage();
    await waitFor(() => expect(created).toEqual(["blob:http://localhost/1"]));

    unmount();

    expect(revoked).toEqual(["blob:http://localhost/1"]);
  });

  it("uses the plain address when signed out", async () => {
    const imageRequests = serve();
    renderImage();

    const image = await screen.findByRole("img", { name: "Current logo" });
    expect(image.getAttribute("src")).toBe(`/api/catalog/${MEDIA}`);
    expect(imageRequests).toEqual([]);
    expect(created).toEqual([]);
  });

  it("sends no token to another origin", async () => {
    sessionStorage.setItem("wharf.refresh_token", "refresh-1");
    serve();
    renderImage("https://cdn.example.com/logo.png");

    await waitFor(() => expect(fetchMock.mock.calls.some(([input]) => new URL((input as Request).url).pathname === "/api/identity/users/me")).toBe(true));
    expect(screen.getByRole("img", { name: "Current logo" }).getAttribute("src")).toBe("https://cdn.example.com/logo.png");
    expect(fetchMock.mock.calls.filter(([input]) => !(input instanceof Request) || new URL(input.url).hostname !== "localhost")).toEqual([]);
  });
});

describe("MediaImage while restoring", () => {
  it("waits for the sign-in", async () => {
    sessionStorage.setItem("wharf.refresh_token", "refresh-1");
    let finishRefresh: (response: Response) => void = () => {};
    fetchMock.mockImplementation(async (input: Request | URL | string, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(input, init);
      const path = new URL(request.url).pathname;
      if (path === "/api/identity/sessions/refresh") return new Promise<Response>((resolve) => (finishRefresh = resolve));
      if (path === "/api/identity/users/me") return json({ id: "u1", username: "ada", email: "ada@example.com", staff_roles: [], memberships: [] });
      return new Response(new Uint8Array([137, 80, 78, 71]), { status: 200, headers: { "Content-Type": "image/png" } });
    });
    renderImage();

    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    expect(screen.queryByRole("img", { name: "Current logo" })).toBeNull();

    finishRefresh(json({ access_token: ACCESS_TOKEN, refresh_token: "refresh-2", expires_in: 900 }));

    await waitFor(() => expect(screen.getByRole("img", { name: "Current logo" }).getAttribute("src")).toBe("blob:http://localhost/1"));
  });
});
