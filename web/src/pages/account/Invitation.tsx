import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { problemMessage } from "../../api/problem";
import { useSession } from "../../auth/session";
import { ErrorBanner, Loading } from "../../components/Field";
import { formatDateTime } from "../../lib/datetime";

type Accepted = Schemas["identity.InvitationAccepted"];
type Preview = Schemas["identity.InvitationPreview"];

/** State the organisation, role, inviter and expiry of an invitation, before it is accepted. */
export function InvitationSummary({ preview }: { preview: Preview }) {
  return (
    <dl className="compact invitation-summary">
      <dt>Organisation</dt>
      <dd>
        <strong>{preview.organisation_name}</strong> ({preview.namespace})
      </dd>
      <dt>Role</dt>
      <dd>{preview.role}</dd>
      <dt>Invited by</dt>
      <dd>{preview.invited_by}</dd>
      <dt>Expires</dt>
      <dd>
        <time dateTime={preview.expires_at}>{formatDateTime(preview.expires_at)}</time>
      </dd>
    </dl>
  );
}

/** Render the page an invitation email links to, where the invited user accepts and joins the organisation. */
export function InvitationPage() {
  const { token = "" } = useParams();
  const { me, restoring, refresh, logout } = useSession();
  const navigate = useNavigate();
  const [accepted, setAccepted] = useState<Accepted | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const here = `/invitations/${encodeURIComponent(token)}`;
  const signIn = `/login?next=${encodeURIComponent(here)}`;
  const userId = me?.id;

  // The preview needs no sign-in (the token is the secret), so it loads for everyone.
  // With an access token it also states whether the invitation is for this account, so
  // it waits for the sign-in to be restored and loads again when the account changes.
  useEffect(() => {
    if (restoring) return;
    let current = true;
    setPreview(null);
    setPreviewError(null);
    void api.GET("/api/identity/invitations/{token}", { params: { path: { token } } }).then(({ data, error }) => {
      if (!current) return;
      if (data) setPreview(data);
      else setPreviewError(problemMessage(error, "The invitation could not be loaded"));
    });
    return () => {
      current = false;
    };
  }, [token, restoring, userId]);

  const accept = async () => {
    setBusy(true);
    setError(null);
    const { data, error } = await api.POST("/api/identity/invitations/{token}/accept", { params: { path: { token } } });
    if (error) {
      setError(problemMessage(error, "The invitation could not be accepted"));
    } else {
      setAccepted(data);
      // The new membership is a claim of the access token, so take a new one.
      await refresh();
    }
    setBusy(false);
  };

  const switchAccount = async () => {
    await logout();
    navigate(signIn);
  };

  if (restoring) return <p role="status">Restoring your sign-in…</p>;

  if (!accepted && previewError) {
    return (
      <section className="narrow">
        <h1>Invitation to an organisation</h1>
        <ErrorBanner message={previewError} />
      </section>
    );
  }
  // A signed-in account waits for the preview loaded with its access token, because an
  // anonymous preview does not say whose invitation it is.
  if (!accepted && (!preview || (me && preview.addressed_to_you === null))) return <Loading what="the invitation" />;

  return (
    <section className="narrow">
      <h1>Invitation to an organisation</h1>
      {preview && !accepted && <InvitationSummary preview={preview} />}
      {!me && (
        <>
          <p>The invitation is for the email address it was sent to. Sign in with the account of that address to join.</p>
          <p>
            <Link to={signIn}>Sign in</Link> or{" "}
            <Link to="/signup">create an account</Link> with that address, verify it,
            and open the link from the email again.
          </p>
        </>
      )}
      {me && !accepted && preview?.addressed_to_you === false && (
        <>
          <p>
            This invitation was sent to a different email address from the verified address of{" "}
            <strong>{me.username}</strong>, the account you are signed in as, so this account cannot accept it.
          </p>
          <p>
            Sign in with the account of the invited address to join, or create one with that address and verify it.{" "}
            <button type="button" className="link-button" onClick={switchAccount}>
              Sign out and sign in with another account
            </button>
          </p>
        </>
      )}
      {me && !accepted && preview?.addressed_to_you === true && (
        <>
          <p>
            Signed in as <strong>{me.username}</strong>. Accepting adds this account to{" "}
            <strong>{preview?.organisation_name}</strong> as {preview?.role}.
          </p>
          <ErrorBanner message={error} />
          <button type="button" disabled={busy} onClick={accept}>
            {busy ? "Accepting…" : "Accept the invitation"}
          </button>
        </>
      )}
      {accepted && (
        <p role="status">
          You joined <strong>{accepted.namespace}</strong> as {accepted.role}.{" "}
          <Link to={`/publisher/${accepted.organisation_id}`}>Open the organisation</Link>.
        </p>
      )}
    </section>
  );
}
