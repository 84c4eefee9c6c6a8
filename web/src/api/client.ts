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
