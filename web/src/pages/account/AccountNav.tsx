import { NavLink } from "react-router-dom";

/** Links between the account pages. */
export function AccountNav() {
  return (
    <nav aria-label="Account" className="sub-nav">
      <NavLink to="/account" end>
        Profile and tokens
      </NavLink>
      <NavLink to="/account/purchases">Purchases</NavLink>
      <NavLink to="/account/licences">Licences</NavLink>
      <NavLink to="/account/notifications">Notifications</NavLink>
    </nav>
  );
}
