import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { problemMessage } from "../../api/problem";
import { useSession } from "../../auth/session";
import { ErrorBanner } from "../../components/Field";

type Accepted = Schemas["identity.InvitationAccepted"];

/** Render the page an invitation email links to, where the invited user accepts and joins the organisation. */
export function InvitationPage() {
  const { token = "" } = useParams();
  const { me, restoring, refresh } = useSession();
  const [accepted, setAccepted] = useState<Accepted | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const here = `/invitations/${encodeURIComponent(token)}`;

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

  if (restoring) return <p role="status">Restoring your sign-in…</p>;

  return (
    <section className="narrow">
      <h1>Invitation to an organisation</h1>
      {!me && (
        <>
          <p>The invitation is for the email address it was sent to. Sign in with the account of that address to join.</p>
          <p>
            <Link to={`/login?next=${encodeURIComponent(here)}`}>Sign in</Link> or{" "}
            <Link to="/signup">create an account</Link> with that address, verify it,
            and open the link from the email again.
          </p>
        </>
      )}
      {me && !accepted && (
        <>
          <p>
            Signed in as <strong>{me.username}</strong>. Accepting adds this account to the organisation that invited it.
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
