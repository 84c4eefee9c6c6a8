import { describe, expect, it } from "vitest";
import { isoToLocalInput, localInputToIso } from "./datetime";

describe("localInputToIso", () => {
  it("reads the value in the browser's time zone", () => {
    expect(localInputToIso("2024-05-01T10:30")).toBe(new Date(2024, 4, 1, 10, 30).toISOString());
  });

  it("returns null for empty and invalid values", () => {
    expect(localInputToIso("")).toBeNull();
    expect(localInputToIso("not a time")).toBeNull();
  });
});

describe("isoToLocalInput", () => {
  it("inverts localInputToIso", () => {
    expect(isoToLocalInput(localInputToIso("2024-12-31T23:59"))).toBe("2024-12-31T23:59");
  });

  it("returns an empty value for missing and invalid times", () => {
    expect(isoToLocalInput(null)).toBe("");
    expect(isoToLocalInput("yesterday")).toBe("");
  });
});
