import { describe, expect, it } from "vitest";
import { fieldErrors, fieldName, formatPrice, problemMessage } from "./problem";

describe("fieldErrors", () => {
  it("strips the request location from validation fields", () => {
    const errors = fieldErrors({ errors: [{ field: "body.tiers.0.price_amount", message: "must be >= 0" }] });

    expect(errors).toEqual({ "tiers.0.price_amount": "must be >= 0" });
  });

  it("keeps domain field names as they are", () => {
    const errors = fieldErrors({ errors: [{ field: "phone", message: "Invalid phone number 'x'" }] });

    expect(errors.phone).toBe("Invalid phone number 'x'");
  });

  it("keeps the first message of a repeated field", () => {
    const errors = fieldErrors({
      errors: [
        { field: "name", message: "first" },
        { field: "body.name", message: "second" },
      ],
    });

    expect(errors.name).toBe("first");
  });

  it("uses the detail for a problem naming a single field", () => {
    const errors = fieldErrors({ detail: "Invalid password: use 10 to 256 characters", field: "password" });

    expect(errors).toEqual({ password: "Invalid password: use 10 to 256 characters" });
  });

  it("returns nothing for a problem without errors", () => {
    expect(fieldErrors({ detail: "Not found" })).toEqual({});
    expect(fieldErrors(undefined)).toEqual({});
  });
});

describe("fieldName", () => {
  it("leaves a field that merely contains a location word", () => {
    expect(fieldName("bodywork.body.x")).toBe("bodywork.body.x");
  });
});

describe("problemMessage", () => {
  it("prefers the detail", () => {
    expect(problemMessage({ title: "Invalid value", detail: "Unknown tier 7" })).toBe("Unknown tier 7");
  });

  it("falls back for a body that is not a problem", () => {
    expect(problemMessage("oops", "Sign-in failed")).toBe("Sign-in failed");
  });
});

describe("formatPrice", () => {
  it("shows free tiers as Free", () => {
    expect(formatPrice(0, "EUR")).toBe("Free");
  });

  it("formats minor units with the currency", () => {
    expect(formatPrice(19900, "EUR")).toBe("€199.00");
  });
});
