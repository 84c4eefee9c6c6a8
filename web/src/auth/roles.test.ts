import { describe, expect, it } from "vitest";
import { hasStaffRole, isStaff } from "./roles";

describe("hasStaffRole", () => {
  it("accepts any one of the roles", () => {
    expect(hasStaffRole({ staff_roles: ["security"] }, "reviewer", "security")).toBe(true);
    expect(hasStaffRole({ staff_roles: ["reviewer"] }, "security")).toBe(false);
  });

  it("gives admins every role", () => {
    expect(hasStaffRole({ staff_roles: ["admin"] }, "security")).toBe(true);
  });

  it("rejects customers and signed-out visitors", () => {
    expect(hasStaffRole({ staff_roles: [] }, "reviewer")).toBe(false);
    expect(hasStaffRole(null, "reviewer")).toBe(false);
    expect(isStaff(null)).toBe(false);
    expect(isStaff({ staff_roles: ["reviewer"] })).toBe(true);
  });
});
