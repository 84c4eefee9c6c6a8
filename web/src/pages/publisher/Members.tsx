import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { useSession } from "../../auth/session";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { SelectField } from "../../components/SelectField";
import { formatDateTime, PublisherNav, useOrganisation } from "./common";
import { collectPages } from "./paging";

type Member = Schemas["identity.MemberOut"];
type Invitation = Schemas["identity.InvitationOut"];
type Role = Member["role"];

const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer: reads products, scans and reports" },
  { value: "editor", label: "Editor: also pushes images, edits and submits products" },
  { value: "owner", label: "Owner: also manages members, invitations and payouts" },
];
const ROLE_OPTIONS = ROLES.map(({ value }) => [value, value[0].toUpperCase() + value.slice(1)] as const);
const ROLE_CHOICES = ROLES.map(({ value, label }) => [value, label] as const);

function MemberRow({ member, canManage, isSelf, onChanged }: { member: Member; canManage: boolean; isSelf: boolean; onChanged: (left: boolean) => Promise<void> }) {
  const { organisationId } = useParams();
  const [role, setRole] = useState<Role>(member.role);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const path = { organisation_id: organisationId!, user_id: member.user_id };

  const saveRole = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { error } = await api.PUT("/api/identity/organisations/{organisation_id}/members/{user_id}", { params: { path }, body: { role } });
    setBusy(false);
    if (error) {
      setError(fieldErrors(error as Problem).role ?? problemMessage(error, "Changing the role failed"));
      return;
    }
    setError(undefined);
    await onChanged(false);
  };

  const remove = async () => {
    const question = isSelf ? "Leave this organisation? You lose access to its products at once." : `Remove ${member.display_name} (${member.username}) from the organisation?`;
    if (!window.confirm(question)) return;
    setBusy(true);
    const { error } = await api.DELETE("/api/identity/organisations/{organisation_id}/members/{user_id}", { params: { path } });
    setBusy(false);
    if (error) {
      setError(problemMessage(error, "Removing the member failed"));
      return;
    }
    await onChanged(isSelf);
  };

  return (
    <tr>
      <td>
        {member.display_name}
        <br />
        <span className="muted">{member.username}</span>
        {isSelf && <span className="badge">you</span>}
      </td>
      <td>
        {canManage ? (
          <form onSubmit={saveRole} className="row-form">
            <SelectField label={`Role of ${member.username}`} name="role" value={role} onChange={(event) => setRole(event.target.value as Role)} options={ROLE_OPTIONS} error={error} />
            <button type="submit" disabled={busy || role === member.role}>
              Save role
            </button>
          </form>
        ) : (
          <>
            {member.role}
            {error && (
              <small className="error" role="alert">
                <br />
                {error}
              </small>
            )}
          </>
        )}
      </td>
      <td>{formatDateTime(member.joined_at)}</td>
      <td>
        {(canManage || isSelf) && (
          <button type="button" className="danger" onClick={remove} disabled={busy}>
            {isSelf ? "Leave" : "Remove"}
            <span className="visually-hidden"> {member.username}</span>
          </button>
        )}
      </td>
    </tr>
  );
}

function InviteForm({ organisationId, onInvited }: { organisationId: string; onInvited: () => Promise<void> }) {
  const [form, setForm] = useState<{ email: string; role: Role }>({ email: "", role: "editor" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);

  const invite = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/identity/organisations/{organisation_id}/invitations", {
      params: { path: { organisation_id: organisationId } },
      body: form,
    });
    if (!data) {
      const byField = fieldErrors(error as Problem);
      setErrors(byField);
      // A problem that names a field is shown beside that field, and any other in the banner.
      setBanner(Object.keys(byField).length ? null : problemMessage(error, "The invitation was not sent"));
      setSent(null);
      return;
    }
    setErrors({});
    setBanner(null);
    setSent(data.email);
    setForm({ email: "", role: form.role });
    await onInvited();
  };

  return (
    <form onSubmit={invite} aria-labelledby="invite-heading" noValidate>
      <h2 id="invite-heading">Invite a member</h2>
      <ErrorBanner message={banner} />
      {sent && (
        <p role="status" className="banner banner-success">
          Invitation sent to {sent}. It works once, for an account with that verified address.
        </p>
      )}
      <Field label="Email address" name="invite_email" type="email" autoComplete="off" value={form.email} onChange={(event) => setForm({ ...form, email: event.target.value })} error={errors.email} required />
      <SelectField
        label="Role"
        name="invite_role"
        value={form.role}
        onChange={(event) => setForm({ ...form, role: event.target.value as Role })}
        options={ROLE_CHOICES}
        error={errors.role}
      />
      <button type="submit">Send invitation</button>
    </form>
  );
}

function InvitationList({ invitations, onRevoke }: { invitations: Invitation[]; onRevoke: (invitation: Invitation) => Promise<string | null> }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  if (invitations.length === 0) return <p className="muted">No invitations yet.</p>;
  return (
    <div className="table-scroll">
      <table>
        <caption className="visually-hidden">Invitations, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {invitations.map((invitation) => (
            <tr key={invitation.id}>
              <td>{invitation.email}</td>
              <td>{invitation.role}</td>
              <td>{invitation.status}</td>
              <td>{formatDateTime(invitation.expires_at)}</td>
              <td>
                {invitation.status === "pending" && (
                  <button
                    type="button"
                    className="danger"
                    onClick={async () => {
                      const error = await onRevoke(invitation);
                      setErrors((current) => ({ ...current, [invitation.id]: error ?? "" }));
                    }}
                  >
                    Revoke<span className="visually-hidden"> the invitation of {invitation.email}</span>
                  </button>
                )}
                {errors[invitation.id] && (
                  <small className="error" role="alert">
                    {errors[invitation.id]}
                  </small>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Members and invitations of an organisation. Owners invite, revoke, change roles and remove members. */
export function MembersPage() {
  const { organisationId } = useParams();
  const { me, refresh } = useSession();
  const { organisation, error: organisationError } = useOrganisation(organisationId!);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [banner, setBanner] = useState<string | null>(null);
  const [left, setLeft] = useState(false);
  const isOwner = organisation?.role === "owner";

  const load = useCallback(async () => {
    const path = { organisation_id: organisationId! };
    const result = await collectPages((cursor) =>
      api.GET("/api/identity/organisations/{organisation_id}/members", { params: { path, query: { cursor, limit: 200 } } }),
    );
    setMembers(result.items);
    setBanner(result.error ? problemMessage(result.error, "The members could not be loaded") : null);
  }, [organisationId]);

  const loadInvitations = useCallback(async () => {
    const { data } = await api.GET("/api/identity/organisations/{organisation_id}/invitations", {
      params: { path: { organisation_id: organisationId! }, query: { limit: 100 } },
    });
    setInvitations(data?.items ?? []);
  }, [organisationId]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (isOwner) void loadInvitations();
  }, [isOwner, loadInvitations]);

  const changed = async (selfLeft: boolean) => {
    // Access tokens carry the memberships, so a change to one's own needs a new token.
    await refresh();
    if (selfLeft) {
      setLeft(true);
      return;
    }
    await load();
  };

  const revoke = async (invitation: Invitation) => {
    const { error } = await api.DELETE("/api/identity/organisations/{organisation_id}/invitations/{invitation_id}", {
      params: { path: { organisation_id: organisationId!, invitation_id: invitation.id } },
    });
    await loadInvitations();
    return error ? problemMessage(error, "Revoking the invitation failed") : null;
  };

  if (left) return <p role="status">You left the organisation.</p>;
  if (organisationError) return <ErrorBanner message={organisationError} />;

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: members` : "Members"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <ErrorBanner message={banner} />
      {members === null ? (
        <Loading what="members" />
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Members, in the order they joined</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                <th scope="col">Joined</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.map((member) => (
                <MemberRow key={member.user_id} member={member} canManage={isOwner} isSelf={member.user_id === me?.id} onChanged={changed} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isOwner ? (
        <>
          <InviteForm organisationId={organisationId!} onInvited={loadInvitations} />
          <h2>Invitations</h2>
          <InvitationList invitations={invitations} onRevoke={revoke} />
        </>
      ) : (
        organisation && <p className="muted">Only owners invite members and change roles; your role is {organisation.role}.</p>
      )}
    </section>
  );
}
