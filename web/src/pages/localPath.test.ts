import { describe, expect, it } from "vitest";
import { localPath } from "./Account";

describe("localPath", () => {
  it("keeps a path on this site", () => {
    expect(localPath("/invitations/abc")).toBe("/invitations/abc");
  });

  it("rejects other sites and missing values", () => {
    expect(localPath("https://example.com/")).toBeNull();
    expect(localPath("//example.com/")).toBeNull();
    expect(localPath("/\\example.com/")).toBeNull();
    expect(localPath("")).toBeNull();
    expect(localPath(null)).toBeNull();
  });
});
