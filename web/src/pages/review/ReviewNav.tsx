import { NavLink } from "react-router-dom";

/** Links between the reviewer console's pages. */
export function ReviewNav() {
  return (
    <nav aria-label="Reviewer console" className="sub-nav">
      <NavLink to="/review" end>
        Queue
      </NavLink>
      <NavLink to="/review/certifications">Certifications</NavLink>
    </nav>
  );
}
