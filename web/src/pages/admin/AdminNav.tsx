import { NavLink } from "react-router-dom";
import { hasStaffRole } from "../../auth/roles";
import { useSession } from "../../auth/session";

/** Links between the admin pages; staff roles only for admins. */
export function AdminNav() {
  const { me } = useSession();
  return (
    <nav aria-label="Administration" className="sub-nav">
      {hasStaffRole(me, "admin") && <NavLink to="/admin/staff">Staff roles</NavLink>}
      <NavLink to="/admin/audit">Audit log</NavLink>
    </nav>
  );
}
