import { describe, expect, it } from "vitest";
import { attachmentName, collectPages } from "./paging";

function pages(lists: number[][]) {
  const requested: (string | undefined)[] = [];
  const fetchPage = async (cursor: string | undefined) => {
    requested.push(cursor);
    const index = cursor ? Number(cursor) : 0;
    return { data: { items: lists[index], next_cursor: index + 1 < lists.length ? String(index + 1) : null } };
  };
  return { fetchPage, requested };
}

describe("collectPages", () => {
  it("follows the cursor to the last page", async () => {
    const { fetchPage, requested } = pages([[1, 2], [3], [4]]);

    const result = await collectPages(fetchPage);

    expect(result).toEqual({ items: [1, 2, 3, 4], complete: true });
    expect(requested).toEqual([undefined, "1", "2"]);
  });

  it("stops at the maximum and says the list is incomplete", async () => {
    const { fetchPage, requested } = pages([[1, 2], [3, 4], [5, 6]]);

    const result = await collectPages(fetchPage, 3);

    expect(result).toEqual({ items: [1, 2, 3], complete: false });
    expect(requested).toHaveLength(2);
  });

  it("returns the error of a failed page with the items read before it", async () => {
    let calls = 0;
    const result = await collectPages<number>(async () => {
      calls += 1;
      return calls === 1 ? { data: { items: [1], next_cursor: "x" } } : { error: { detail: "Invalid cursor" } };
    });

    expect(result.items).toEqual([1]);
    expect(result.complete).toBe(false);
    expect(result.error).toEqual({ detail: "Invalid cursor" });
  });
});

describe("attachmentName", () => {
  it("reads a quoted file name", () => {
    expect(attachmentName('attachment; filename="sbom-sha256-ab.cdx.json"', "sbom.json")).toBe("sbom-sha256-ab.cdx.json");
  });

  it("reads an unquoted file name", () => {
    expect(attachmentName("attachment; filename=report.csv", "x")).toBe("report.csv");
  });

  it("falls back without a header", () => {
    expect(attachmentName(null, "sbom.json")).toBe("sbom.json");
  });
});
