/** Shaping of a monthly report's content (audit's `report_content.py`) for the reports page. */

export interface DailyDownloads {
  date: string; // YYYY-MM-DD, UTC
  free: number;
  paid: number;
  total: number;
}

/** The four uPlot series: day of month, free, paid stacked on free (free + paid), and paid alone. */
export interface ChartSeries {
  days: number[];
  free: number[];
  stacked: number[];
  paid: number[];
}

export interface CurrencyTotals {
  currency: string;
  gross: number;
  tax: number;
  refunded: number;
  net: number;
  fee: number;
  owed: number;
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Read `downloads.daily` from a report's content, sorted by date. Entries without a
 * YYYY-MM-DD date are skipped, and counts that are missing or not whole non-negative
 * numbers read as 0, so an older or damaged report still draws.
 */
export function dailyDownloads(content: unknown): DailyDownloads[] {
  const downloads = isObject(content) ? content.downloads : undefined;
  const daily = isObject(downloads) && Array.isArray(downloads.daily) ? downloads.daily : [];
  const days: DailyDownloads[] = [];
  for (const entry of daily) {
    if (!isObject(entry) || typeof entry.date !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(entry.date)) continue;
    const free = count(entry.free);
    const paid = count(entry.paid);
    days.push({ date: entry.date, free, paid, total: free + paid });
  }
  return days.sort((a, b) => a.date.localeCompare(b.date));
}

/**
 * Turn daily counts into uPlot's column arrays. uPlot has no stacking of its own, so the
 * paid bar is drawn as free + paid behind the free bar. `paid` keeps the plain counts for
 * the legend.
 */
export function chartSeries(days: DailyDownloads[]): ChartSeries {
  return {
    days: days.map((day) => Number(day.date.slice(8, 10))),
    free: days.map((day) => day.free),
    stacked: days.map((day) => day.free + day.paid),
    paid: days.map((day) => day.paid),
  };
}

/** Sum daily counts: the month's free, paid and total downloads. */
export function downloadTotals(days: DailyDownloads[]): { free: number; paid: number; total: number } {
  const free = days.reduce((sum, day) => sum + day.free, 0);
  const paid = days.reduce((sum, day) => sum + day.paid, 0);
  return { free, paid, total: free + paid };
}

/** Read `sales.totals` (amounts in minor units per currency), sorted by currency code. */
export function salesTotals(content: unknown): CurrencyTotals[] {
  const sales = isObject(content) ? content.sales : undefined;
  const totals = isObject(sales) && isObject(sales.totals) ? sales.totals : {};
  return Object.entries(totals)
    .filter((entry): entry is [string, Record<string, unknown>] => isObject(entry[1]))
    .map(([currency, values]) => {
      const amount = (name: string) => (typeof values[name] === "number" ? (values[name] as number) : 0);
      return {
        currency,
        gross: amount("gross"),
        tax: amount("tax"),
        refunded: amount("refunded"),
        net: amount("net"),
        fee: amount("fee"),
        owed: amount("owed"),
      };
    })
    .sort((a, b) => a.currency.localeCompare(b.currency));
}

/** Read the payout comparison of a report: its status and explanatory note. */
export function payoutStatus(content: unknown): { status: string; note: string } | null {
  const payout = isObject(content) ? content.payout : undefined;
  if (!isObject(payout) || typeof payout.status !== "string") return null;
  return { status: payout.status, note: typeof payout.note === "string" ? payout.note : "" };
}

/** Return the calendar month before `now` as YYYY-MM (UTC), the newest month a report can cover. */
export function previousMonth(now: Date): string {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth(); // 0-based, so this is already the previous month's number
  return month === 0 ? `${year - 1}-12` : `${year}-${String(month).padStart(2, "0")}`;
}

/**
 * Format an amount in minor units with its ISO 4217 currency, e.g. 1250 EUR -> "€12.50" and
 * 500 JPY -> "¥500". Intl returns each currency's minor-unit digits. An unknown code falls
 * back to two digits and the code. Zero shows as an amount (the store's `formatPrice`
 * shows "Free" there).
 */
export function formatMoney(amount: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amount / 10 ** digits);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}
