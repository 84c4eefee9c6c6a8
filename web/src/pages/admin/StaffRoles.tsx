import { useCallback, useState, type FormEvent } from "react";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { hasStaffRole, STAFF_ROLES, type StaffRole } from "../../auth/roles";
import { useSession } from "../../auth/session";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { LoadMore } from "../../components/Paging";
import { SelectField } from "../../components/SelectField";
import { usePagedList } from "../../lib/paging";
import { AdminNav } from "./AdminNav";

type StaffMember = Schemas["identity.StaffRolesOut"];

const ROLE_HINTS: Record<StaffRole, string> = {
  reviewer: "reviewer: decides review cases, waives findings, grants certification",
  security: "security: classifies and waives findings, imports vulnerability feeds",
  admin: "admin: every staff role, and grants roles to others",
};
const ROLE_OPTIONS = STAFF_ROLES.map((role) => [role, ROLE_HINTS[role]] as const);

function GrantForm({ onGranted }: { onGranted(message: string): void }) {
  const [login, setLogin] = useState("");
  const [role, setRole] = useState<StaffRole>("reviewer");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const fail = (problem: unknown, fallback: string) => {
    const named = fieldErrors(problem as Problem);
    setErrors(named);
    setBanner(named.login || named.role ? null : problemMessage(problem, fallback));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setBanner(null);
    try {
      const found = await api.GET("/api/identity/staff/lookup", { params: { query: { login: login.trim() } } });
      if (!found.data) return fail(found.error, "Finding the account failed");
      const granted = await api.POST("/api/identity/staff/{user_id}/roles", {
        params: { path: { user_id: found.data.user_id } },
        body: { role },
      });
      if (!granted.data) return fail(granted.error, "Granting the role failed");
      setLogin("");
      onGranted(`${granted.data.username} now holds: ${granted.data.roles.join(", ")}.`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} className="inline-form" aria-labelledby="grant-heading" noValidate>
      <h2 id="grant-heading">Grant a role</h2>
      <ErrorBanner message={banner} />
      <Field
        label="Username or email address"
        name="login"
        autoComplete="off"
        value={login}
        onChange={(event) => setLogin(event.target.value)}
        error={errors.login}
        required
      />
      <SelectField label="Role" options={ROLE_OPTIONS} value={role} onChange={(event) => setRole(event.target.value as StaffRole)} error={errors.role} />
      <button type="submit" disabled={busy}>
        {busy ? "Granting…" : "Grant role"}
      </button>
    </form>
  );
}

export function StaffRolesPage() {
  const { me, reload: reloadMe } = useSession();
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fetchPage = useCallback((cursor?: string) => api.GET("/api/identity/staff", { params: { query: { cursor, limit: 100 } } }), []);
  const staff = usePagedList<StaffMember>(fetchPage, "The staff list could not be loaded");

  const withdraw = async (member: StaffMember, role: StaffRole) => {
    const self = member.user_id === me?.id;
    if (self && role === "admin" && !window.confirm("Withdraw your own admin role? You will lose access to this page.")) return;
    const { data, error } = await api.DELETE("/api/identity/staff/{user_id}/roles/{role}", {
      params: { path: { user_id: member.user_id, role } },
    });
    if (data) {
      setError(null);
      setStatus(`${data.username} no longer holds ${role}.`);
    } else {
      setStatus(null);
      setError(problemMessage(error, "Withdrawing the role failed"));
    }
    await staff.reload();
    if (self) await reloadMe();
  };

  if (!hasStaffRole(me, "admin")) {
    return (
      <section>
        <h1>Staff roles</h1>
        <AdminNav />
        <p>Managing staff roles needs the admin role.</p>
      </section>
    );
  }

  return (
    <section>
      <h1>Staff roles</h1>
      <AdminNav />
      <p role="status" aria-live="polite" className="status-line">
        {status}
      </p>
      <GrantForm
        onGranted={(message) => {
          setError(null);
          setStatus(message);
          void staff.reload();
        }}
      />
      <h2>Current staff</h2>
      <ErrorBanner message={error ?? staff.error} />
      {staff.items === null && !staff.error && <Loading what="staff" />}
      {staff.items && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Users holding a staff role</caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Roles</th>
              </tr>
            </thead>
            <tbody>
              {staff.items.map((member) => (
                <tr key={member.user_id}>
                  <td>
                    {member.username}
                    {member.user_id === me?.id && " (you)"}
                  </td>
                  <td>
                    <ul className="chips">
                      {member.roles.map((role) => (
                        <li key={role}>
                          <span className="badge">{role}</span>
                          <button type="button" className="small" onClick={() => withdraw(member, role)} aria-label={`Withdraw ${role} from ${member.username}`}>
                            Withdraw
                          </button>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={staff} noun="staff" />
    </section>
  );
}
