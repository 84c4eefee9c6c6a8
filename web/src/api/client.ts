import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** Typed client for the gateway's merged API; paths are same-origin (`/api/<service>/...`). */
export const api = createClient<paths>({ baseUrl: window.location.origin });

// The access token lives in memory only, so a script injected into another tab or a
// stored copy cannot outlive this page. See `auth/session.tsx` for the refresh token.
let accessToken: string | null = null;

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

const bearer: Middleware = {
  onRequest({ request }) {
    if (accessToken && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${accessToken}`);
    }
    return request;
  },
};

api.use(bearer);

/**
 * Fetch a same-origin path outside the typed client, e.g. an image, with the bearer token
 * when the user is signed in. Other origins get no token, so it never leaves this store.
 */
export function fetchWithToken(path: string, init: RequestInit = {}): Promise<Response> {
  if (!path.startsWith("/") || path.startsWith("//")) {
    throw new Error(`fetchWithToken takes a same-origin path, not ${path}`);
  }
  const headers = new Headers(init.headers);
  if (accessToken && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${accessToken}`);
  return fetch(new URL(path, window.location.origin), { ...init, headers });
}
