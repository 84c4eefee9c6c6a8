import { describe, expect, it, vi } from "vitest";
import { ProductDirectory, productLabel, tierLabel, type ProductSummary } from "./products";

const DB: ProductSummary = { id: "p1", name: "Fast DB", path: "acme/db", tiers: { t1: "Community" } };

describe("ProductDirectory", () => {
  it("fetches each product once, even concurrently", async () => {
    const fetcher = vi.fn(async (id: string) => ({ ...DB, id }));
    const directory = new ProductDirectory(fetcher);

    const [first, second] = await Promise.all([directory.lookup("p1"), directory.lookup("p1")]);
    await directory.lookup("p1");

    expect(first).toEqual(DB);
    expect(second).toBe(first);
    expect(fetcher).toHaveBeenCalledTimes(1);
  });

  it("remembers a missing product", async () => {
    const fetcher = vi.fn(async () => null);
    const directory = new ProductDirectory(fetcher);

    expect(await directory.lookup("gone")).toBeNull();
    expect(await directory.lookup("gone")).toBeNull();
    expect(fetcher).toHaveBeenCalledTimes(1);
  });

  it("retries after a failed request", async () => {
    const fetcher = vi.fn().mockRejectedValueOnce(new Error("HTTP 502")).mockResolvedValueOnce(DB);
    const directory = new ProductDirectory(fetcher);

    expect(await directory.lookup("p1")).toBeNull();
    expect(await directory.lookup("p1")).toEqual(DB);
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it("looks up many ids, each once", async () => {
    const fetcher = vi.fn(async (id: string) => (id === "missing" ? null : { ...DB, id }));
    const directory = new ProductDirectory(fetcher);

    const found = await directory.lookupMany(["p1", "missing", "p1"]);

    expect(Object.keys(found).sort()).toEqual(["missing", "p1"]);
    expect(found.p1?.name).toBe("Fast DB");
    expect(found.missing).toBeNull();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });
});

describe("labels", () => {
  it("name a known product and tier", () => {
    expect(productLabel(DB, "p1")).toBe("Fast DB");
    expect(tierLabel(DB, "t1")).toBe("Community");
  });

  it("shorten the ids of unknown ones", () => {
    expect(productLabel(null, "0123456789abcdef")).toBe("Product 01234567");
    expect(tierLabel(DB, "fedcba9876543210")).toBe("Tier fedcba98");
    expect(tierLabel(DB, null)).toBe("—");
  });
});
