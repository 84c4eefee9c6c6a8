import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { formatDateTime, PublisherNav, useOrganisation } from "./common";
import { DownloadsChart } from "./DownloadsChart";
import { attachmentName, saveFile } from "./paging";
import { dailyDownloads, downloadTotals, formatMoney, payoutStatus, previousMonth, salesTotals } from "./reportData";

type ReportSummary = Schemas["audit.ReportSummary"];
type ReportDetail = Schemas["audit.ReportDetail"];
type Statement = Schemas["billing.StatementRead"];
type StatementDetail = Schemas["billing.StatementDetail"];

function ReportView({ report }: { report: ReportDetail }) {
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const days = dailyDownloads(report.content);
  const totals = downloadTotals(days);
  const sales = salesTotals(report.content);
  const payout = payoutStatus(report.content);

  const download = async (format: "csv" | "json") => {
    const { data, error, response } = await api.GET("/api/audit/reports/{report_id}/export", {
      params: { path: { report_id: report.report_id }, query: { format } },
      parseAs: "blob",
    });
    if (!data) {
      setDownloadError(problemMessage(error, "The download failed"));
      return;
    }
    setDownloadError(null);
    saveFile(data as Blob, attachmentName(response.headers.get("Content-Disposition"), `report-${report.month}.${format}`));
  };

  return (
    <article aria-labelledby="report-heading" className="report">
      <h2 id="report-heading">Report for {report.month}</h2>
      <p className="muted">
        Revision {report.revision}, built {formatDateTime(report.generated_at)}. All times are UTC.
      </p>
      <div className="button-row">
        <button type="button" onClick={() => void download("csv")}>
          Download CSV
        </button>
        <button type="button" onClick={() => void download("json")}>
          Download JSON
        </button>
      </div>
      <ErrorBanner message={downloadError} />

      <h3>Downloads</h3>
      <p>
        {totals.total} downloads: {totals.free} free, {totals.paid} paid.
      </p>
      {days.length > 0 && <DownloadsChart days={days} title={`Daily downloads, ${report.month}`} />}
      <details>
        <summary>Daily downloads as a table</summary>
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Daily downloads, {report.month}</caption>
            <thead>
              <tr>
                <th scope="col">Date</th>
                <th scope="col">Free</th>
                <th scope="col">Paid</th>
                <th scope="col">Total</th>
              </tr>
            </thead>
            <tbody>
              {days.map((day) => (
                <tr key={day.date}>
                  <td>{day.date}</td>
                  <td>{day.free}</td>
                  <td>{day.paid}</td>
                  <td>{day.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>

      <h3>Sales</h3>
      {sales.length === 0 ? (
        <p>No sales in this month.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Sales totals per currency</caption>
            <thead>
              <tr>
                <th scope="col">Currency</th>
                <th scope="col">Gross</th>
                <th scope="col">Tax</th>
                <th scope="col">Refunded</th>
                <th scope="col">Net</th>
                <th scope="col">Platform fee</th>
                <th scope="col">Owed to you</th>
              </tr>
            </thead>
            <tbody>
              {sales.map((row) => (
                <tr key={row.currency}>
                  <td>{row.currency}</td>
                  <td>{formatMoney(row.gross, row.currency)}</td>
                  <td>{formatMoney(row.tax, row.currency)}</td>
                  <td>{formatMoney(row.refunded, row.currency)}</td>
                  <td>{formatMoney(row.net, row.currency)}</td>
                  <td>{formatMoney(row.fee, row.currency)}</td>
                  <td>
                    <strong>{formatMoney(row.owed, row.currency)}</strong>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {payout && <p className={payout.status === "differs" ? "banner banner-warning" : "muted"}>{payout.note}</p>}
    </article>
  );
}

function StatementRow({ organisationId, statement }: { organisationId: string; statement: Statement }) {
  const [detail, setDetail] = useState<StatementDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  const toggle = async (open: boolean) => {
    if (!open || detail) return;
    const { data, error } = await api.GET("/api/billing/organisations/{organisation_id}/statements/{statement_id}", {
      params: { path: { organisation_id: organisationId, statement_id: statement.id } },
    });
    setDetail(data ?? null);
    setError(data ? null : problemMessage(error, "The statement could not be loaded"));
  };

  return (
    <li className="statement">
      <details onToggle={(event) => void toggle((event.target as HTMLDetailsElement).open)}>
        <summary>
          <strong>{statement.month}</strong>:{" "}
          {Object.entries(statement.amounts)
            .map(([currency, amount]) => formatMoney(amount, currency))
            .join(", ") || "nothing owed"}{" "}
          <span className="muted">
            · {statement.payout_method === "stripe_connect" ? "paid by Stripe Connect" : "paid manually"} · issued {formatDateTime(statement.issued_at)}
          </span>
        </summary>
        <ErrorBanner message={error} />
        {detail === null ? (
          !error && <Loading what="statement lines" />
        ) : detail.lines.length === 0 ? (
          <p>No sales or refunds in this month.</p>
        ) : (
          <div className="table-scroll">
            <table>
              <caption className="visually-hidden">Lines of the statement for {statement.month}</caption>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Line</th>
                  <th scope="col">Gross</th>
                  <th scope="col">Tax</th>
                  <th scope="col">Fee</th>
                  <th scope="col">Net</th>
                </tr>
              </thead>
              <tbody>
                {detail.lines.map((line, index) => (
                  <tr key={line.order_id ?? line.refund_id ?? index}>
                    <td>{formatDateTime(line.occurred_at)}</td>
                    <td>
                      {line.kind === "refund" ? "Refund: " : ""}
                      {line.description}
                    </td>
                    <td>{formatMoney(line.gross, line.currency)}</td>
                    <td>{formatMoney(line.tax, line.currency)}</td>
                    <td>{formatMoney(line.fee, line.currency)}</td>
                    <td>{formatMoney(line.net, line.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </li>
  );
}

/** Monthly reports with the daily-downloads chart, and billing's payout statements. Loaded lazily. */
export default function ReportsPage() {
  const { organisationId } = useParams();
  const { organisation } = useOrganisation(organisationId!);
  const [reports, setReports] = useState<ReportSummary[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [report, setReport] = useState<ReportDetail | null>(null);
  const [statements, setStatements] = useState<Statement[] | null>(null);
  const [month, setMonth] = useState(() => previousMonth(new Date()));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [building, setBuilding] = useState(false);
  const [builds, setBuilds] = useState(0);

  // NOTE: only the 24 newest reports and statements are listed, with no link to older pages.
  const loadReports = useCallback(async () => {
    const { data, error } = await api.GET("/api/audit/reports", { params: { query: { organisation_id: organisationId!, limit: 24 } } });
    setReports(data?.items ?? []);
    if (!data) setBanner(problemMessage(error, "The reports could not be loaded"));
    setSelected((current) => current ?? data?.items[0]?.report_id ?? null);
  }, [organisationId]);

  useEffect(() => {
    void loadReports();
    api
      .GET("/api/billing/organisations/{organisation_id}/statements", { params: { path: { organisation_id: organisationId! }, query: { limit: 24 } } })
      .then(({ data }) => setStatements(data?.items ?? []));
  }, [organisationId, loadReports]);

  useEffect(() => {
    if (!selected) return;
    setReport(null);
    api.GET("/api/audit/reports/{report_id}", { params: { path: { report_id: selected } } }).then(({ data, error }) => {
      setReport(data ?? null);
      if (!data) setBanner(problemMessage(error, "The report could not be loaded"));
    });
  }, [selected, builds]);

  const build = async (event: FormEvent) => {
    event.preventDefault();
    setBuilding(true);
    const { data, error } = await api.POST("/api/audit/reports", { body: { organisation_id: organisationId!, month } });
    setBuilding(false);
    if (!data) {
      const byField = fieldErrors(error as Problem);
      // A problem without a field is about the month (not ended yet, or malformed), so it goes there.
      setErrors(Object.keys(byField).length ? byField : { month: problemMessage(error, "The report was not built") });
      return;
    }
    setErrors({});
    // A rebuild keeps the report id, so the count makes the detail load again.
    setSelected(data.report_id);
    setBuilds((count) => count + 1);
    await loadReports();
  };

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: reports and payouts` : "Reports and payouts"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <ErrorBanner message={banner} />
      <div className="two-columns">
        <div>
          <h2>Monthly reports</h2>
          {reports === null ? (
            <Loading what="reports" />
          ) : reports.length === 0 ? (
            <p>No reports yet. Each month's report is built a few hours after the month ends.</p>
          ) : (
            <ul className="plain-list">
              {reports.map((item) => (
                <li key={item.report_id}>
                  <button type="button" className="link-button" aria-current={item.report_id === selected ? "true" : undefined} onClick={() => setSelected(item.report_id)}>
                    {item.month}
                  </button>{" "}
                  <span className="muted">revision {item.revision}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <form onSubmit={build} aria-labelledby="build-heading" noValidate>
          <h2 id="build-heading">Build a report</h2>
          <Field
            label="Month"
            name="month"
            type="month"
            value={month}
            onChange={(event) => setMonth(event.target.value)}
            error={errors.month}
            hint="A month that has ended, as YYYY-MM. Building it again makes a new revision."
            required
          />
          <button type="submit" disabled={building}>
            {building ? "Building…" : "Build report"}
          </button>
        </form>
      </div>
      {selected && (report ? <ReportView report={report} /> : <Loading what="report" />)}

      <h2>Payout statements</h2>
      {statements === null ? (
        <Loading what="payout statements" />
      ) : statements.length === 0 ? (
        <p>No payout statements yet. Billing issues one after each month with sales.</p>
      ) : (
        <ul className="plain-list">
          {statements.map((statement) => (
            <StatementRow key={statement.id} organisationId={organisationId!} statement={statement} />
          ))}
        </ul>
      )}
    </section>
  );
}
