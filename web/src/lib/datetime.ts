/**
 * Conversions between `<input type="datetime-local">` values, which have no time zone,
 * and the ISO 8601 times with an offset that the API expects.
 */

/** Convert a local "YYYY-MM-DDTHH:mm" value to UTC ISO 8601, or null for an empty or invalid value. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
}

/** Convert an ISO 8601 time to the value a datetime-local input shows in the browser's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const moment = new Date(iso);
  if (Number.isNaN(moment.getTime())) return "";
  const pad = (part: number) => String(part).padStart(2, "0");
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`
  );
}

/** Format a time for tables, in the browser's locale and zone, or "—" when missing. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleString();
}

/** Format a date for tables, in the browser's locale and zone, or "—" when missing. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : moment.toLocaleDateString();
}
