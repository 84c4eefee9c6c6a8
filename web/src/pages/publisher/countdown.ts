/** Fix deadlines of the vulnerability SLA, as moderation sets them by default
 * (WHARF_MODERATION_CRITICAL_FIX_HOURS and WHARF_MODERATION_MAJOR_FIX_HOURS). */
export const FIX_HOURS: Record<string, number> = { critical: 72, major: 168 };

export type Urgency = "overdue" | "urgent" | "normal";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Compute the milliseconds left before an SLA case's deadline at the time `now`.
 *
 * The server measures `time_left_seconds` on its own clock when it builds the response.
 * Counting down from it keeps the countdown right when the browser's clock is off, or when
 * the store runs with a clock offset (as `make demo` does). Without it the deadline is
 * compared with the browser's clock.
 */
export function millisecondsLeft(
  sla: { deadline: string; time_left_seconds?: number | null },
  fetchedAt: number,
  now: number,
): number {
  if (sla.time_left_seconds != null) return sla.time_left_seconds * SECOND - (now - fetchedAt);
  return Date.parse(sla.deadline) - now;
}

/** Format a duration as the largest useful units: "2 d 03 h 14 min", "5 h 07 min 09 s", "42 s". */
export function formatDuration(milliseconds: number): string {
  const total = Math.floor(Math.abs(milliseconds) / SECOND) * SECOND;
  const days = Math.floor(total / DAY);
  const hours = Math.floor((total % DAY) / HOUR);
  const minutes = Math.floor((total % HOUR) / MINUTE);
  const seconds = Math.floor((total % MINUTE) / SECOND);
  const pad = (value: number) => String(value).padStart(2, "0");

  if (days > 0) return `${days} d ${pad(hours)} h ${pad(minutes)} min`;
  if (hours > 0) return `${hours} h ${pad(minutes)} min ${pad(seconds)} s`;
  if (minutes > 0) return `${minutes} min ${pad(seconds)} s`;
  return `${seconds} s`;
}

/** Format the countdown of a deadline: the time left, or how long ago it passed. */
export function formatCountdown(milliseconds: number): string {
  if (milliseconds <= 0) return `overdue by ${formatDuration(milliseconds)}`;
  return `${formatDuration(milliseconds)} left`;
}

/** Classify a deadline as passed, less than a day away, or further. */
export function urgency(milliseconds: number): Urgency {
  if (milliseconds <= 0) return "overdue";
  return milliseconds < DAY ? "urgent" : "normal";
}
