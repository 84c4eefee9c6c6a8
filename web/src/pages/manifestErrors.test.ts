import { describe, expect, it } from "vitest";
import { withoutEdited } from "./ManifestEditor";

describe("withoutEdited", () => {
  it("drops the errors of edited fields, tier errors included", () => {
    const errors = { name: "The product name is missing", "tiers.0.price_amount": "Invalid price", category: "Unknown category" };

    expect(withoutEdited(errors, new Set(["name", "tiers"]))).toEqual({ category: "Unknown category" });
    expect(withoutEdited(errors, new Set())).toEqual(errors);
  });
});
