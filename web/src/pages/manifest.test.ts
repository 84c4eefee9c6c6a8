import { describe, expect, it } from "vitest";
import { emptyManifest, formFromManifest, manifestBody, parsePrice } from "./manifest";

describe("parsePrice", () => {
  it("reads major units into minor units", () => {
    expect(parsePrice("199.00")).toBe(19900);
    expect(parsePrice("5")).toBe(500);
    expect(parsePrice("0.5")).toBe(50);
  });

  it("rejects malformed prices", () => {
    expect(parsePrice("1.234")).toBeNaN();
    expect(parsePrice("-1")).toBeNaN();
    expect(parsePrice("ten")).toBeNaN();
  });
});

describe("manifestBody", () => {
  it("sends blank items as null and splits tags", () => {
    const form = { ...emptyManifest(), tags: "sql, relational,, ", short_description: "  " };

    const body = manifestBody(form);

    expect(body.tags).toEqual(["sql", "relational"]);
    expect(body.short_description).toBeNull();
  });

  it("sends an invalid price as -1 so the catalog names the tier field", () => {
    const form = emptyManifest();
    form.tiers[0].price = "abc";

    expect(manifestBody(form).tiers?.[0].price_amount).toBe(-1);
  });

  it("keeps a stored tier's id so the update edits it", () => {
    const form = emptyManifest();
    form.tiers[0].id = "6f1c0a52-51c5-4c0c-a54e-0d8a6f0a3b0e";

    expect(manifestBody(form).tiers?.[0].id).toBe("6f1c0a52-51c5-4c0c-a54e-0d8a6f0a3b0e");
  });

  it("sends the screenshots, which a stored manifest gives back", () => {
    const form = { ...emptyManifest(), screenshots: ["a5f1c0a5-0000-4000-8000-000000000001"] };

    const body = manifestBody(form);
    const reread = formFromManifest("Fast DB", "image", "1.0", body as Record<string, unknown>, []);

    expect(body.screenshots).toEqual(["a5f1c0a5-0000-4000-8000-000000000001"]);
    expect(reread.screenshots).toEqual(["a5f1c0a5-0000-4000-8000-000000000001"]);
  });
});
