import { describe, expect, it } from "vitest";
import { chartSeries, dailyDownloads, downloadTotals, formatMoney, payoutStatus, previousMonth, salesTotals } from "./reportData";

const content = {
  downloads: {
    total: 5,
    daily: [
      { date: "2023-10-02", free: 1, paid: 2, total: 3 },
      { date: "2023-10-01", free: 2, paid: 0, total: 2 },
    ],
  },
  sales: {
    totals: {
      USD: { gross: 1000, tax: 0, refunded: 0, refunded_tax: 0, net: 1000, fee: 200, owed: 800 },
      EUR: { gross: 11900, tax: 1900, refunded: 0, refunded_tax: 0, net: 10000, fee: 2000, owed: 8000 },
    },
  },
  payout: { status: "matches", note: "The amount owed equals billing's payout statement." },
};

describe("dailyDownloads", () => {
  it("reads the daily counts sorted by date", () => {
    expect(dailyDownloads(content)).toEqual([
      { date: "2023-10-01", free: 2, paid: 0, total: 2 },
      { date: "2023-10-02", free: 1, paid: 2, total: 3 },
    ]);
  });

  it("recomputes the total from free and paid", () => {
    const days = dailyDownloads({ downloads: { daily: [{ date: "2023-10-01", free: 1, paid: 1, total: 99 }] } });

    expect(days[0].total).toBe(2);
  });

  it("reads missing or invalid counts as zero", () => {
    const days = dailyDownloads({ downloads: { daily: [{ date: "2023-10-01", free: "3", paid: -2 }] } });

    expect(days).toEqual([{ date: "2023-10-01", free: 0, paid: 0, total: 0 }]);
  });

  it("skips entries without a date", () => {
    const days = dailyDownloads({ downloads: { daily: [{ free: 1 }, null, { date: "October", free: 1 }] } });

    expect(days).toEqual([]);
  });

  it("returns nothing for content without downloads", () => {
    expect(dailyDownloads(null)).toEqual([]);
    expect(dailyDownloads({})).toEqual([]);
    expect(dailyDownloads({ downloads: { daily: "none" } })).toEqual([]);
  });
});

describe("chartSeries", () => {
  it("stacks paid on free and keeps the plain paid counts", () => {
    const series = chartSeries(dailyDownloads(content));

    expect(series.days).toEqual([1, 2]);
    expect(series.free).toEqual([2, 1]);
    expect(series.stacked).toEqual([2, 3]);
    expect(series.paid).toEqual([0, 2]);
  });

  it("covers every day of a 31-day month", () => {
    const daily = Array.from({ length: 31 }, (_, index) => ({
      date: `2023-10-${String(index + 1).padStart(2, "0")}`,
      free: index,
      paid: 0,
    }));

    const series = chartSeries(dailyDownloads({ downloads: { daily } }));

    expect(series.days).toHaveLength(31);
    expect(series.days[30]).toBe(31);
  });
});

describe("downloadTotals", () => {
  it("sums free and paid downloads", () => {
    expect(downloadTotals(dailyDownloads(content))).toEqual({ free: 3, paid: 2, total: 5 });
  });
});

describe("salesTotals", () => {
  it("lists each currency's totals by currency code", () => {
    const totals = salesTotals(content);

    expect(totals.map((item) => item.currency)).toEqual(["EUR", "USD"]);
    expect(totals[0].owed).toBe(8000);
    expect(totals[0].tax).toBe(1900);
  });

  it("returns nothing without sales", () => {
    expect(salesTotals({})).toEqual([]);
  });
});

describe("payoutStatus", () => {
  it("reads the status and note", () => {
    expect(payoutStatus(content)).toEqual({ status: "matches", note: "The amount owed equals billing's payout statement." });
  });

  it("returns null without a payout section", () => {
    expect(payoutStatus({})).toBeNull();
  });
});

describe("previousMonth", () => {
  it("returns the month before", () => {
    expect(previousMonth(new Date("2024-03-15T12:00:00Z"))).toBe("2024-02");
  });

  it("wraps January to December of the year before", () => {
    expect(previousMonth(new Date("2024-01-01T00:00:00Z"))).toBe("2023-12");
  });
});

describe("formatMoney", () => {
  it("formats minor units with two decimals", () => {
    expect(formatMoney(1250, "EUR")).toBe("€12.50");
  });

  it("formats a currency without minor units", () => {
    expect(formatMoney(500, "JPY")).toBe("¥500");
  });

  it("shows zero as an amount", () => {
    expect(formatMoney(0, "USD")).toBe("$0.00");
  });

  it("formats a negative amount", () => {
    expect(formatMoney(-199, "EUR")).toBe("-€1.99");
  });

  it("falls back for an invalid currency code", () => {
    expect(formatMoney(1250, "??")).toBe("12.50 ??");
  });
});
