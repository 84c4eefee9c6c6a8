import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { useSession } from "../../auth/session";
import { ErrorBanner, Field } from "../../components/Field";
import { LocalMailboxLink, mailboxReadable } from "../../components/LocalMailbox";

function RequestResetForm() {
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [sent, setSent] = useState<{ detail: string; email: string; mailbox: boolean } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const address = email.trim();
    const { data, error } = await api.POST("/api/identity/password/reset-request", { body: { email: address } });
    if (data) {
      setSent({ detail: data.detail, email: address, mailbox: await mailboxReadable(address) });
    } else {
      setErrors(fieldErrors(error as Problem));
      setBanner(problemMessage(error, "Sending the link failed"));
    }
    setBusy(false);
  };

  if (sent) {
    return (
      <div role="status">
        <p>{sent.detail}</p>
        <p>The link works once, until the time the email names.</p>
        {sent.mailbox && <LocalMailboxLink email={sent.email} />}
      </div>
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <ErrorBanner message={errors.email ? null : banner} />
      <Field
        label="Email"
        name="email"
        type="email"
        autoComplete="email"
        value={email}
        onChange={(event) => setEmail(event.target.value)}
        error={errors.email}
        hint="The address of your account. We send a link to choose a new password."
        required
      />
      <button type="submit" disabled={busy || !email.trim()}>
        {busy ? "Sending…" : "Send the link"}
      </button>
    </form>
  );
}

function NewPasswordForm({ token }: { token: string }) {
  const { me, logout } = useSession();
  const [password, setPassword] = useState("");
  const [confirmation, setConfirmation] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password !== confirmation) {
      setErrors({ confirmation: "The two passwords differ: type the same password twice." });
      setBanner(null);
      return;
    }
    setBusy(true);
    const { error, response } = await api.POST("/api/identity/password/reset", { body: { token, password } });
    setBusy(false);
    if (response.ok) {
      // The reset signs the account out everywhere, this tab included.
      if (me) await logout();
      setDone(true);
      return;
    }
    const named = fieldErrors(error as Problem);
    setErrors(named);
    setBanner(named.password ? null : problemMessage(error, "Setting the password failed"));
  };

  if (done) {
    return (
      <p role="status">
        Your password is changed and every session of the account is signed out. <Link to="/login">Sign in</Link> with the new
        password.
      </p>
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      {banner && (
        <div className="banner banner-error" role="alert">
          <p>{banner}</p>
          <p>
            <Link to="/reset-password">Request a new link</Link>.
          </p>
        </div>
      )}
      <Field
        label="New password"
        name="password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(event) => setPassword(event.target.value)}
        error={errors.password}
        hint="10 to 256 characters, different from your username and email address."
        required
      />
      <Field
        label="New password again"
        name="confirmation"
        type="password"
        autoComplete="new-password"
        value={confirmation}
        onChange={(event) => setConfirmation(event.target.value)}
        error={errors.confirmation}
        required
      />
      <button type="submit" disabled={busy || !password}>
        {busy ? "Saving…" : "Set the new password"}
      </button>
    </form>
  );
}

/** Render the password reset: request a link by email, or, opened from that link, set the new password. */
export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token");

  return (
    <section className="narrow">
      <h1>{token ? "Choose a new password" : "Reset your password"}</h1>
      {token ? <NewPasswordForm token={token} /> : <RequestResetForm />}
      <p>
        <Link to="/login">Back to sign-in</Link>
      </p>
    </section>
  );
}
