import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { isStaff } from "../../auth/roles";
import { useSession } from "../../auth/session";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { LoadMore } from "../../components/Paging";
import { formatDateTime } from "../../lib/datetime";
import { filenameFromDisposition, saveBlob } from "../../lib/download";
import { usePagedList } from "../../lib/paging";
import { useUserNames } from "../../lib/userNames";
import { AdminNav } from "./AdminNav";
import { filtersToForm, formToFilters, readAuditFilters, writeAuditFilters, type AuditFilters, type AuditForm } from "./auditFilters";

type Entry = Schemas["audit.ActivityEntry"];
type Verification = Schemas["audit.ChainVerification"];

function ExportButtons({ filters, onError }: { filters: AuditFilters; onError(problem: unknown, fallback: string): void }) {
  const [busy, setBusy] = useState<"csv" | "json" | null>(null);

  const download = async (format: "csv" | "json") => {
    setBusy(format);
    try {
      const { data, error, response } = await api.GET("/api/audit/activity/export", {
        params: { query: { ...filters, format } },
        parseAs: "blob",
      });
      if (data) saveBlob(data, filenameFromDisposition(response.headers.get("Content-Disposition"), `activity.${format}`));
      else onError(error, "The export failed");
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="button-row" role="group" aria-label="Export the filtered log">
      <button type="button" onClick={() => download("csv")} disabled={busy !== null}>
        {busy === "csv" ? "Exporting…" : "Download CSV"}
      </button>
      <button type="button" onClick={() => download("json")} disabled={busy !== null}>
        {busy === "json" ? "Exporting…" : "Download JSON"}
      </button>
    </div>
  );
}

function ChainCheck({ filters }: { filters: AuditFilters }) {
  const [result, setResult] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const verify = async () => {
    setBusy(true);
    const { data, error } = await api.GET("/api/audit/activity/verification", {
      params: { query: { recorded_from: filters.occurred_from, recorded_to: filters.occurred_to } },
    });
    setBusy(false);
    setResult(data ?? null);
    setError(data ? null : problemMessage(error, "The check failed"));
  };

  return (
    <div className="chain-check">
      <button type="button" onClick={verify} disabled={busy}>
        {busy ? "Checking…" : "Check the hash chain"}
      </button>{" "}
      <span className="muted">of the rows recorded in the chosen time range (the whole log without one).</span>
      <ErrorBanner message={error} />
      {result && (
        <p role="status" className={result.valid ? "banner banner-success" : "banner banner-error"}>
          {result.valid
            ? `The chain is intact: ${result.checked} rows checked.`
            : `The chain is broken at row ${result.first_broken?.seq}: ${result.first_broken?.reason} (${result.checked} rows checked).`}
        </p>
      )}
    </div>
  );
}

export function AuditLogPage() {
  const { me } = useSession();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readAuditFilters(params), [params]);
  const [form, setForm] = useState<AuditForm>(() => filtersToForm(filters));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);

  // Keep the form in step with the URL, e.g. after the browser's back button.
  useEffect(() => setForm(filtersToForm(filters)), [filters]);

  const showProblem = useCallback((problem: unknown, fallback: string) => {
    const named = fieldErrors(problem as Problem);
    setErrors(named);
    setBanner(Object.keys(named).length > 0 ? null : problemMessage(problem, fallback));
  }, []);

  const fetchPage = useCallback(
    async (cursor?: string) => {
      const result = await api.GET("/api/audit/activity", { params: { query: { ...filters, cursor, limit: 50 } } });
      if (result.error) showProblem(result.error, "The log could not be loaded");
      return result;
    },
    [filters, showProblem],
  );
  const entries = usePagedList<Entry>(fetchPage, "The log could not be loaded");

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setErrors({});
    setBanner(null);
    setParams(writeAuditFilters(formToFilters(form)));
  };

  const field = (name: keyof AuditForm, label: string, extra: Record<string, unknown> = {}) => (
    <Field
      label={label}
      name={name}
      value={form[name]}
      onChange={(event) => setForm({ ...form, [name]: event.target.value })}
      error={errors[name]}
      {...extra}
    />
  );

  const actions = [...new Set((entries.items ?? []).map((entry) => entry.action))].sort();
  const names = useUserNames((entries.items ?? []).map((entry) => entry.actor_id), isStaff(me));

  return (
    <section>
      <h1>Audit log</h1>
      <AdminNav />
      <p>
        Every event the services emit, newest first.
        {isStaff(me) ? " Staff see every organisation." : " You see the events of your organisations."}
      </p>
      <form onSubmit={apply} className="filters" aria-label="Log filters" noValidate>
        {field("action", "Event type", { list: "audit-actions", hint: "e.g. catalog.product.submitted" })}
        {field("actor_id", "Actor (user id)")}
        {field("organisation_id", "Organisation id")}
        {field("product_id", "Product id")}
        {field("occurred_from", "From", { type: "datetime-local", hint: "Inclusive, your time zone" })}
        {field("occurred_to", "Until", { type: "datetime-local", hint: "Exclusive, your time zone" })}
        <datalist id="audit-actions">
          {actions.map((action) => (
            <option key={action} value={action} />
          ))}
        </datalist>
        <div className="button-row">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            onClick={() => {
              setErrors({});
              setBanner(null);
              setParams(new URLSearchParams());
            }}
          >
            Clear filters
          </button>
        </div>
      </form>
      <ExportButtons filters={filters} onError={showProblem} />
      {isStaff(me) && <ChainCheck filters={filters} />}
      <ErrorBanner message={banner} />
      {entries.items === null && !entries.error && <Loading what="log entries" />}
      {entries.items?.length === 0 && !entries.error && <p>No events match these filters.</p>}
      {entries.items && entries.items.length > 0 && (
        <div className="table-scroll">
          <table className="audit">
            <caption className="visually-hidden">Events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event type</th>
                <th scope="col">Actor</th>
                <th scope="col">Organisation and product</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.items.map((entry) => (
                <tr key={entry.seq}>
                  <td>{formatDateTime(entry.occurred_at)}</td>
                  <td>
                    <code>{entry.action}</code>
                    <div className="muted">by {entry.producer}</div>
                  </td>
                  <td>
                    {!entry.actor_id ? (
                      "—"
                    ) : names.has(entry.actor_id) ? (
                      <span title={entry.actor_id}>{names.get(entry.actor_id)}</span>
                    ) : (
                      <code className="id">{entry.actor_id}</code>
                    )}
                  </td>
                  <td>
                    {entry.organisation_id ? <code className="id">{entry.organisation_id}</code> : "—"}
                    {entry.product_id && (
                      <div>
                        <code className="id">{entry.product_id}</code>
                      </div>
                    )}
                  </td>
                  <td>
                    <details>
                      <summary>
                        Row {entry.seq}, subject <code>{entry.subject}</code>
                      </summary>
                      <pre className="json">{JSON.stringify(entry.details, null, 2)}</pre>
                      <p className="muted">
                        Recorded {formatDateTime(entry.recorded_at)}; event <code>{entry.event_id}</code>
                      </p>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <LoadMore list={entries} noun="events" />
    </section>
  );
}
