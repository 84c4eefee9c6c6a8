import type { Schemas } from "../api/client";

export type StaffRole = Schemas["identity.StaffRoleGrant"]["role"];

export const STAFF_ROLES: StaffRole[] = ["reviewer", "security", "admin"];

/**
 * Return whether the account may act in one of the roles. Admins hold every role, as the services'
 * checks treat them. The services check again, so this only decides what the page offers.
 */
export function hasStaffRole(me: { staff_roles?: string[] } | null | undefined, ...roles: StaffRole[]): boolean {
  const granted = me?.staff_roles ?? [];
  return granted.includes("admin") || roles.some((role) => granted.includes(role));
}

export function isStaff(me: { staff_roles?: string[] } | null | undefined): boolean {
  return (me?.staff_roles?.length ?? 0) > 0;
}
