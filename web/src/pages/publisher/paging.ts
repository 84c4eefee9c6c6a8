/** Helpers for reading every page of a cursor-paged list and for saving downloaded files. */

interface PageResult<T> {
  data?: { items: T[]; next_cursor?: string | null };
  error?: unknown;
}

export interface Collected<T> {
  items: T[];
  // False when `maxItems` cut the list short or a page failed.
  complete: boolean;
  error?: unknown;
}

/**
 * Fetch pages by following `next_cursor` until the list ends or `maxItems` were read.
 * A failed page stops the walk and is returned as `error` beside the items read so far.
 */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<PageResult<T>>,
  maxItems = 5000,
): Promise<Collected<T>> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const { data, error } = await fetchPage(cursor);
    if (!data) return { items, complete: false, error };
    items.push(...data.items);
    if (!data.next_cursor) return { items, complete: true };
    if (items.length >= maxItems) return { items: items.slice(0, maxItems), complete: false };
    cursor = data.next_cursor;
  }
}

/** Read the file name of a `Content-Disposition: attachment; filename="..."` header. */
export function attachmentName(header: string | null, fallback: string): string {
  const match = header?.match(/filename="?([^";]+)"?/i);
  return match ? match[1] : fallback;
}

/** Hand a downloaded body to the browser as a file named `filename`. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoke later: some browsers read the URL after click() returns.
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
