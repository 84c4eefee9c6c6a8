import { useCallback, useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { hasStaffRole } from "../../auth/roles";
import { useSession } from "../../auth/session";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { LoadMore } from "../../components/Paging";
import { SelectField } from "../../components/SelectField";
import { formatDateTime } from "../../lib/datetime";
import { usePagedList } from "../../lib/paging";
import { productLabel, useProducts } from "../../lib/products";
import { ReviewNav } from "./ReviewNav";

type Certification = Schemas["moderation.CertificationOut"];
type CertificationState = Certification["state"];

const STATES = ["requested", "granted", "withdrawn"] as const;
const STATE_OPTIONS = [["any", "any state"], ...STATES.map((state) => [state, state] as const)] as const;

/** Return the conditions a refused grant lists, as lines for the banner. */
export function unmetLines(problem: unknown): string[] {
  const unmet = (problem as { unmet?: unknown } | null)?.unmet;
  return Array.isArray(unmet) ? unmet.map(String) : [];
}

interface ActionProps {
  certification: Certification;
  onDone(message: string): void;
}

/** Render the grant form (a note) or withdraw form (a reason) of one certification. */
function CertificationAction({ certification, action, onDone, onCancel }: ActionProps & { action: "grant" | "withdraw"; onCancel(): void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [banner, setBanner] = useState<{ message: string; lines: string[] } | null>(null);
  const [busy, setBusy] = useState(false);
  const grant = action === "grant";

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const path = { certification_id: certification.id };
    const result = grant
      ? await api.POST("/api/moderation/certifications/{certification_id}/grant", { params: { path }, body: { note: text } })
      : await api.POST("/api/moderation/certifications/{certification_id}/withdraw", { params: { path }, body: { reason: text } });
    setBusy(false);
    if (result.data) {
      onDone(grant ? "The certification is granted." : "The certification is withdrawn.");
      return;
    }
    const errors = fieldErrors(result.error as Problem);
    setError(errors[grant ? "note" : "reason"]);
    setBanner({ message: problemMessage(result.error, "The change was not saved"), lines: unmetLines(result.error) });
  };

  return (
    <form onSubmit={submit} className="finding-form" noValidate>
      {banner && (
        <div className="banner banner-error" role="alert">
          <p>{banner.message}</p>
          {banner.lines.length > 0 && (
            <ul>
              {banner.lines.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <Field
        label={grant ? "Note for the publisher" : "Reason for withdrawing"}
        name={grant ? "grant-note" : "withdraw-reason"}
        multiline
        value={text}
        onChange={(event) => setText(event.target.value)}
        error={error}
        hint={grant ? "Every condition is checked again when you grant." : "Shown to the publisher."}
        required
        autoFocus
      />
      <div className="button-row">
        <button type="submit" className={grant ? undefined : "danger"} disabled={busy || !text.trim()}>
          {grant ? "Grant certification" : "Withdraw certification"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function CertificationsPage() {
  const { me } = useSession();
  const [params, setParams] = useSearchParams();
  const state = (params.get("state") ?? "requested") as CertificationState | "any";
  const productId = params.get("product") ?? undefined;
  const [form, setForm] = useState<{ id: string; action: "grant" | "withdraw" } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const canDecide = hasStaffRole(me, "reviewer");

  const query = useMemo(
    () => ({ state: state === "any" ? undefined : state, product_id: productId }),
    [state, productId],
  );
  const fetchPage = useCallback(
    (cursor?: string) => api.GET("/api/moderation/certifications", { params: { query: { ...query, cursor, limit: 50 } } }),
    [query],
  );
  const list = usePagedList<Certification>(fetchPage, "The certifications could not be loaded");
  const products = useProducts((list.items ?? []).map((item) => item.product_id));

  const done = (message: string) => {
    setForm(null);
    setStatus(message);
    void list.reload();
  };

  const setFilter = (name: string, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };

  return (
    <section>
      <h1>Certifications</h1>
      <ReviewNav />
      <p>Publishers request a badge for a live product. Granting checks every condition again.</p>
      <form className="filters" aria-label="Certification filters" onSubmit={(event) => event.preventDefault()}>
        <SelectField label="State" options={STATE_OPTIONS} value={state} onChange={(event) => setFilter("state", event.target.value)} />
        {productId && (
          <p>
            Product {productLabel(products[productId], productId)}.{" "}
            <button type="button" onClick={() => setFilter("product", undefined)}>
              Show every product
            </button>
          </p>
        )}
      </form>
      <p role="status" aria-live="polite" className="status-line">
        {status}
      </p>
      <ErrorBanner message={list.error} />
      {list.items === null && !list.error && <Loading what="certifications" />}
      {list.items?.length === 0 && <p>No certifications match.</p>}
      <ul className="cards">
        {list.items?.map((item) => {
          const product = products[item.product_id];
          return (
            <li key={item.id} className="card" aria-label={`Certification of ${productLabel(product, item.product_id)}`}>
              <h2 className="card-title">
                {product ? <Link to={`/store/${product.path}`}>{product.name}</Link> : productLabel(product, item.product_id)}
              </h2>
              <p>
                <span className="badge badge-certified">{item.badge.replace(/_/g, " ")}</span>{" "}
                <strong>{item.state}</strong>
              </p>
              <dl className="compact">
                <dt>Requested</dt>
                <dd>{formatDateTime(item.requested_at)}</dd>
                <dt>Joint support attested</dt>
                <dd>{item.joint_support_attested ? "yes" : "no"}</dd>
                <dt>Tested platforms</dt>
                <dd>{item.tested_platforms.join(", ") || "none"}</dd>
                {item.granted_at && (
                  <>
                    <dt>Granted</dt>
                    <dd>
                      {formatDateTime(item.granted_at)}
                      {item.note && `: ${item.note}`}
                    </dd>
                  </>
                )}
                {item.withdrawn_at && (
                  <>
                    <dt>Withdrawn</dt>
                    <dd>
                      {formatDateTime(item.withdrawn_at)}
                      {item.withdrawn_reason && `: ${item.withdrawn_reason}`}
                    </dd>
                  </>
                )}
              </dl>
              {canDecide && item.state !== "withdrawn" && (
                <div className="button-row">
                  {item.state === "requested" && (
                    <button type="button" aria-expanded={form?.id === item.id && form.action === "grant"} onClick={() => setForm({ id: item.id, action: "grant" })}>
                      Grant
                    </button>
                  )}
                  <button
                    type="button"
                    className="danger"
                    aria-expanded={form?.id === item.id && form.action === "withdraw"}
                    onClick={() => setForm({ id: item.id, action: "withdraw" })}
                  >
                    Withdraw
                  </button>
                </div>
              )}
              {form?.id === item.id && (
                <CertificationAction certification={item} action={form.action} onDone={done} onCancel={() => setForm(null)} />
              )}
            </li>
          );
        })}
      </ul>
      <LoadMore list={list} noun="certifications" />
    </section>
  );
}
