import { describe, expect, it } from "vitest";
import { mediaSource } from "./media";

describe("mediaSource", () => {
  it("serves the catalog's relative media paths through the gateway", () => {
    expect(mediaSource("media/0b6c4c6e-8f7a-4d38-9a53-2f1d8d0c2a11")).toBe("/api/catalog/media/0b6c4c6e-8f7a-4d38-9a53-2f1d8d0c2a11");
  });

  it("keeps absolute addresses", () => {
    expect(mediaSource("https://cdn.example.com/logo.png")).toBe("https://cdn.example.com/logo.png");
    expect(mediaSource("/api/catalog/media/1")).toBe("/api/catalog/media/1");
  });
});
