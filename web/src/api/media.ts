import { api } from "./client";

/** Upload a PNG or JPEG to the organisation's media and return the catalog's record. */
export async function uploadImage(organisationId: string, file: File) {
  const form = new FormData();
  form.append("file", file);
  return api.POST("/api/catalog/organisations/{organisation_id}/media", {
    params: { path: { organisation_id: organisationId } },
    // openapi-fetch sends FormData unchanged, while the typed body expects the multipart fields.
    body: form as unknown as { file: string },
    bodySerializer: (body) => body as unknown as FormData,
  });
}

/**
 * Return the address of a catalog image for an `<img>`. The catalog names images by a path
 * relative to its own root (`media/<id>`), which the gateway serves under `/api/catalog/`.
 */
// An `<img>` request carries no bearer token, so images of unpublished listings need
// `MediaImage`, which fetches them with the session's token.
export function mediaSource(url: string): string {
  return /^(https?:)?\//.test(url) ? url : `/api/catalog/${url}`;
}
