import { Link, NavLink, Outlet, useNavigate } from "react-router-dom";
import { useSession } from "../auth/session";

export function Layout() {
  const { me, logout } = useSession();
  const navigate = useNavigate();
  const isStaff = (me?.staff_roles?.length ?? 0) > 0;
  const isAdmin = me?.staff_roles?.includes("admin") ?? false;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Wharf
        </Link>
        <nav aria-label="Main">
          <NavLink to="/search">Search</NavLink>
          {me && <NavLink to="/publisher">Publisher portal</NavLink>}
          {isStaff && <NavLink to="/review">Review</NavLink>}
          {isStaff && <NavLink to={isAdmin ? "/admin/staff" : "/admin/audit"}>Admin</NavLink>}
          {me ? (
            <>
              <NavLink to="/account">{me.username}</NavLink>
              <button
                type="button"
                className="link-button"
                onClick={async () => {
                  await logout();
                  navigate("/");
                }}
              >
                Sign out
              </button>
            </>
          ) : (
            <>
              <NavLink to="/login">Sign in</NavLink>
              <NavLink to="/signup">Sign up</NavLink>
            </>
          )}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="site-footer">
        <a href="/docs">API documentation</a>
      </footer>
    </>
  );
}

export function RequireSignIn({ children }: { children: React.ReactNode }) {
  const { me, restoring } = useSession();
  if (restoring) return <p role="status">Restoring your sign-in…</p>;
  if (!me) {
    return (
      <p>
        <Link to="/login">Sign in</Link> to see this page.
      </p>
    );
  }
  return <>{children}</>;
}
