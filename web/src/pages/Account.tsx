import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { fieldErrors, problemMessage, type Problem } from "../api/problem";
import { useSession } from "../auth/session";
import { ErrorBanner, Field, Loading } from "../components/Field";
import { LocalMailboxLink, mailboxReadable } from "../components/LocalMailbox";
import { AccountNav } from "./account/AccountNav";

export function SignUpPage() {
  const [form, setForm] = useState({ username: "", email: "", display_name: "", password: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  // The address the verification link went to, and whether its local mailbox is readable.
  const [sent, setSent] = useState<{ email: string; mailbox: boolean } | null>(null);
  const set = (name: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm({ ...form, [name]: event.target.value });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/identity/users", { body: form });
    if (data) {
      setSent({ email: data.email, mailbox: await mailboxReadable(data.email) });
      return;
    }
    setErrors(fieldErrors(error as Problem));
    setBanner(problemMessage(error, "Sign-up failed"));
  };

  if (sent) {
    return (
      <section>
        <h1>Check your email</h1>
        <p role="status">
          We sent a verification link to {sent.email}. Open it, then <Link to="/login">sign in</Link>.
        </p>
        {sent.mailbox && <LocalMailboxLink email={sent.email} />}
      </section>
    );
  }

  return (
    <section className="narrow">
      <h1>Create an account</h1>
      <form onSubmit={submit} noValidate>
        <ErrorBanner message={banner} />
        <Field label="Username" name="username" autoComplete="username" value={form.username} onChange={set("username")} error={errors.username} hint="3 to 30 characters: lower-case letters, digits, dots, dashes or underscores." required />
        <Field label="Email" name="email" type="email" autoComplete="email" value={form.email} onChange={set("email")} error={errors.email} required />
        <Field label="Display name" name="display_name" autoComplete="name" value={form.display_name} onChange={set("display_name")} error={errors.display_name} required />
        <Field label="Password" name="password" type="password" autoComplete="new-password" value={form.password} onChange={set("password")} error={errors.password} hint="At least 10 characters." required />
        <button type="submit">Sign up</button>
      </form>
    </section>
  );
}

export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const [state, setState] = useState<"working" | "done" | string>("working");

  useEffect(() => {
    const token = params.get("token");
    if (!token) {
      setState("The link has no token: open the link from the email again.");
      return;
    }
    api.POST("/api/identity/email/verify", { body: { token } }).then(({ data, error }) => {
      setState(data ? "done" : problemMessage(error, "Verification failed"));
    });
  }, [params]);

  if (state === "working") return <Loading what="verification" />;
  if (state === "done") {
    return (
      <p role="status">
        Your email address is verified. <Link to="/login">Sign in</Link>.
      </p>
    );
  }
  return <ErrorBanner message={state} />;
}

/** Return `path` when it is a path on this site, so a crafted `next` cannot send the user elsewhere. */
export function localPath(path: string | null): string | null {
  return path && path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\") ? path : null;
}

export function LoginPage() {
  const { login } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const failure = await login(username, password);
    setBusy(false);
    if (failure) setError(failure);
    else navigate(localPath(params.get("next")) ?? "/account");
  };

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit}>
        <ErrorBanner message={error} />
        <Field label="Username" name="username" autoComplete="username" value={username} onChange={(event) => setUsername(event.target.value)} required />
        <Field label="Password" name="password" type="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} required />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
      <p>
        No account yet? <Link to="/signup">Sign up</Link>.
      </p>
    </section>
  );
}

type Token = Schemas["identity.TokenOut"];

function AccessTokens() {
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<Token["scope"]>("pull");
  const [created, setCreated] = useState<Schemas["identity.TokenCreated"] | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/identity/tokens", { params: { query: { limit: 100 } } });
    if (data) setTokens(data.items);
    else setBanner(problemMessage(error, "Loading tokens failed"));
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/identity/tokens", { body: { name, scope } });
    if (!data) {
      setErrors(fieldErrors(error as Problem));
      setBanner(problemMessage(error, "Creating the token failed"));
      return;
    }
    setErrors({});
    setBanner(null);
    setCreated(data);
    setName("");
    await load();
  };

  const revoke = async (token: Token) => {
    const { error } = await api.DELETE("/api/identity/tokens/{token_id}", { params: { path: { token_id: token.id } } });
    if (error) setBanner(problemMessage(error, "Revoking the token failed"));
    await load();
  };

  return (
    <section aria-labelledby="tokens-heading">
      <h2 id="tokens-heading">Personal access tokens</h2>
      <p>Use a token as the password of <code>docker login</code> or <code>skopeo login</code>.</p>
      <ErrorBanner message={banner} />
      {created && (
        <div className="banner banner-success" role="status">
          <p>
            Token <strong>{created.name}</strong> created. Copy it now: it is shown only once.
          </p>
          <code data-testid="new-token">{created.token}</code>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      <form onSubmit={create} className="inline-form">
        <Field label="Token name" name="token-name" value={name} onChange={(event) => setName(event.target.value)} error={errors.name} required />
        <label>
          Scope{" "}
          <select value={scope} onChange={(event) => setScope(event.target.value as Token["scope"])}>
            <option value="pull">pull</option>
            <option value="pull+push">pull+push</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      {tokens === null ? (
        <Loading what="tokens" />
      ) : (
        <table>
          <caption className="visually-hidden">Your personal access tokens</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scope</th>
              <th scope="col">Prefix</th>
              <th scope="col">Last used</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id}>
                <td>{token.name}</td>
                <td>{token.scope}</td>
                <td>
                  <code>{token.token_prefix}…</code>
                </td>
                <td>{token.last_used_at ? new Date(token.last_used_at).toLocaleString() : "never"}</td>
                <td>
                  <button type="button" onClick={() => revoke(token)} aria-label={`Revoke token ${token.name}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function AccountPage() {
  const { me } = useSession();
  if (!me) return null;

  return (
    <section>
      <h1>Your account</h1>
      <AccountNav />
      <dl>
        <dt>Username</dt>
        <dd>{me.username}</dd>
        <dt>Email</dt>
        <dd>
          {me.email} {me.email_verified ? "(verified)" : "(not verified)"}
        </dd>
      </dl>
      <AccessTokens />
    </section>
  );
}
