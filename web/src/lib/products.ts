import { useEffect, useState } from "react";
import { api } from "../api/client";

/** A product's name, store path and tier names, for pages that know it only by id. */
export interface ProductSummary {
  id: string;
  name: string;
  // The store path, "<namespace>/<slug>", which the product page's URL uses.
  path: string;
  // Tier names by tier id.
  tiers: Record<string, string>;
}

/** Fetch one product; null when the catalog has no such readable product, an Error otherwise. */
export type ProductFetcher = (id: string) => Promise<ProductSummary | null>;

/**
 * A cache of product summaries shared by every page, so a product shown in several
 * tables is fetched once. Concurrent look-ups of one id share one request. A missing
 * product is remembered; a failed request is not, so the next look-up tries again.
 */
export class ProductDirectory {
  private readonly entries = new Map<string, Promise<ProductSummary | null>>();

  constructor(private readonly fetcher: ProductFetcher) {}

  lookup(id: string): Promise<ProductSummary | null> {
    let entry = this.entries.get(id);
    if (!entry) {
      entry = this.fetcher(id).catch(() => {
        this.entries.delete(id);
        return null;
      });
      this.entries.set(id, entry);
    }
    return entry;
  }

  async lookupMany(ids: Iterable<string>): Promise<Record<string, ProductSummary | null>> {
    const unique = [...new Set(ids)];
    const found = await Promise.all(unique.map((id) => this.lookup(id)));
    return Object.fromEntries(unique.map((id, index) => [id, found[index]]));
  }
}

async function fetchListing(id: string): Promise<ProductSummary | null> {
  const { data, response } = await api.GET("/api/catalog/products/{product_id}", {
    params: { path: { product_id: id } },
  });
  if (data) {
    return {
      id,
      name: data.name,
      path: `${data.namespace}/${data.slug}`,
      tiers: Object.fromEntries(data.tiers.map((tier) => [tier.id, tier.name])),
    };
  }
  if (response.status === 404) return null;
  throw new Error(`Loading product ${id} failed with HTTP ${response.status}`);
}

export const productDirectory = new ProductDirectory(fetchListing);

/** Return a product's name for tables, or a short form of its id while unknown. */
export function productLabel(summary: ProductSummary | null | undefined, id: string): string {
  return summary ? summary.name : `Product ${id.slice(0, 8)}`;
}

/** Return a tier's name, or a short form of its id while unknown. */
export function tierLabel(summary: ProductSummary | null | undefined, tierId: string | null | undefined): string {
  if (!tierId) return "—";
  return summary?.tiers[tierId] ?? `Tier ${tierId.slice(0, 8)}`;
}

/** Load summaries of the given products, filled in as they arrive. Missing ones map to null. */
export function useProducts(ids: string[], directory: ProductDirectory = productDirectory) {
  const [summaries, setSummaries] = useState<Record<string, ProductSummary | null>>({});
  // A stable key, so a new array with the same ids does not fetch again.
  const key = [...new Set(ids)].sort().join(",");

  useEffect(() => {
    if (!key) return;
    let current = true;
    directory.lookupMany(key.split(",")).then((found) => {
      if (current) setSummaries((previous) => ({ ...previous, ...found }));
    });
    return () => {
      current = false;
    };
  }, [key, directory]);

  return summaries;
}
