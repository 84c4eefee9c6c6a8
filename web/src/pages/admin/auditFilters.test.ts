import { describe, expect, it } from "vitest";
import { filtersToForm, formToFilters, readAuditFilters, writeAuditFilters, type AuditForm } from "./auditFilters";

const EMPTY: AuditForm = {
  action: "",
  actor_id: "",
  organisation_id: "",
  product_id: "",
  occurred_from: "",
  occurred_to: "",
};

describe("formToFilters", () => {
  it("leaves out empty fields and trims the others", () => {
    expect(formToFilters({ ...EMPTY, action: " catalog.product.submitted ", actor_id: "  " })).toEqual({
      action: "catalog.product.submitted",
    });
  });

  it("converts local times to UTC", () => {
    const filters = formToFilters({ ...EMPTY, occurred_from: "2024-05-01T00:00" });

    expect(filters.occurred_from).toBe(new Date(2024, 4, 1).toISOString());
  });

  it("keeps a time that does not parse, so the API names the field", () => {
    expect(formToFilters({ ...EMPTY, occurred_to: "tomorrow" }).occurred_to).toBe("tomorrow");
  });
});

describe("filtersToForm", () => {
  it("shows UTC times in the browser's zone", () => {
    const form = filtersToForm({ occurred_to: new Date(2024, 11, 24, 18, 0).toISOString(), product_id: "p1" });

    expect(form).toEqual({ ...EMPTY, occurred_to: "2024-12-24T18:00", product_id: "p1" });
  });
});

describe("URL parameters", () => {
  it("round-trip the filters", () => {
    const filters = { action: "identity.staff_role.granted", occurred_from: "2024-05-01T00:00:00.000Z" };

    expect(readAuditFilters(writeAuditFilters(filters))).toEqual(filters);
  });

  it("ignore unknown and empty parameters", () => {
    expect(readAuditFilters(new URLSearchParams("cursor=abc&action=&actor_id=u1"))).toEqual({ actor_id: "u1" });
  });
});
