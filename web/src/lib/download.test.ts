import { describe, expect, it } from "vitest";
import { filenameFromDisposition } from "./download";

describe("filenameFromDisposition", () => {
  it("reads a quoted file name", () => {
    expect(filenameFromDisposition('attachment; filename="activity.csv"', "x")).toBe("activity.csv");
  });

  it("reads a bare file name", () => {
    expect(filenameFromDisposition("attachment; filename=activity.json", "x")).toBe("activity.json");
  });

  it("prefers the encoded name", () => {
    const header = "attachment; filename=\"plain.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9.csv";

    expect(filenameFromDisposition(header, "x")).toBe("résumé.csv");
  });

  it("falls back on a malformed encoded name", () => {
    const header = "attachment; filename*=UTF-8''%E0%A4%A; filename=\"plain.csv\"";

    expect(filenameFromDisposition(header, "x")).toBe("plain.csv");
  });

  it("drops folders from the name", () => {
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"', "x")).toBe("passwd");
  });

  it("uses the fallback without a name", () => {
    expect(filenameFromDisposition(null, "activity.csv")).toBe("activity.csv");
    expect(filenameFromDisposition("attachment", "activity.csv")).toBe("activity.csv");
    expect(filenameFromDisposition('attachment; filename="/"', "activity.csv")).toBe("activity.csv");
  });
});
