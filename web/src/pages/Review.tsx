import { useEffect, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../api/client";
import { problemMessage } from "../api/problem";
import { CaseView } from "../components/CaseView";
import { ErrorBanner, Field, Loading } from "../components/Field";

type CaseSummary = Schemas["moderation.CaseSummary"];
type Case = Schemas["moderation.CaseDetail"];

const STATES = ["awaiting_scans", "in_review", "changes_requested", "approved", "rejected"] as const;

export function ReviewQueuePage() {
  const [params, setParams] = useSearchParams();
  const [cases, setCases] = useState<CaseSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const state = params.get("state") ?? "in_review";

  useEffect(() => {
    setCases(null);
    api
      .GET("/api/moderation/cases", { params: { query: { state: state as CaseSummary["state"], limit: 100 } } })
      .then(({ data, error }) => {
        if (data) setCases(data.items);
        else setError(problemMessage(error, "The queue could not be loaded"));
      });
  }, [state]);

  return (
    <section>
      <h1>Review queue</h1>
      <label>
        State{" "}
        <select value={state} onChange={(event) => setParams({ state: event.target.value })}>
          {STATES.map((value) => (
            <option key={value} value={value}>
              {value.replace("_", " ")}
            </option>
          ))}
        </select>
      </label>
      <ErrorBanner message={error} />
      {cases === null && !error && <Loading what="cases" />}
      {cases?.length === 0 && <p>No cases in this state.</p>}
      <ul className="queue">
        {cases?.map((item) => (
          <li key={item.id}>
            <Link to={`/review/cases/${item.id}`}>
              {item.namespace}/{item.slug}
            </Link>{" "}
            {item.product_type}, round {item.current_round}, opened {new Date(item.opened_at).toLocaleString()}
            {item.has_critical_findings && <span className="badge badge-warning">Critical findings</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

// A blocker of kind "finding" names an open Critical or Major finding of the round.
interface FindingBlocker {
  kind: "finding";
  image_digest: string;
  vulnerability_id: string;
  package: string;
  finding_class: string;
}

const isFinding = (blocker: Record<string, unknown>): blocker is Record<string, unknown> & FindingBlocker => blocker.kind === "finding";
const findingKey = (finding: FindingBlocker) => `${finding.image_digest} ${finding.vulnerability_id}`;

function Decision({ reviewCase, reload }: { reviewCase: Case; reload: () => void }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const open = reviewCase.state === "in_review";
  // The blocking findings go on the publisher's checklist unless the reviewer unticks them.
  const findings = reviewCase.blockers.filter(isFinding);
  const [excluded, setExcluded] = useState<Set<string>>(new Set());
  const checklist = findings
    .filter((finding) => !excluded.has(findingKey(finding)))
    .map((finding) => ({
      image_digest: finding.image_digest,
      vulnerability_id: finding.vulnerability_id,
      note: `${finding.finding_class} finding in ${finding.package}`,
    }));

  const decide = async (decision: "approve" | "request-changes" | "reject") => {
    setBusy(true);
    setError(null);
    const path = { case_id: reviewCase.id };
    const result =
      decision === "approve"
        ? await api.POST("/api/moderation/cases/{case_id}/approve", { params: { path }, body: { note: reason || null } })
        : decision === "reject"
          ? await api.POST("/api/moderation/cases/{case_id}/reject", { params: { path }, body: { reason } })
          : await api.POST("/api/moderation/cases/{case_id}/request-changes", { params: { path }, body: { reason, findings: checklist } });
    setBusy(false);
    if (result.error) setError(problemMessage(result.error, "The decision was not recorded"));
    reload();
  };

  if (!open) return null;
  return (
    <div className="decision">
      <ErrorBanner message={error} />
      <Field label="Reason or note for the publisher" name="reason" multiline value={reason} onChange={(event) => setReason(event.target.value)} />
      {findings.length > 0 && (
        <fieldset>
          <legend>Findings the publisher must fix</legend>
          {findings.map((finding) => {
            const key = findingKey(finding);
            return (
              <label key={key} className="inline">
                <input
                  type="checkbox"
                  checked={!excluded.has(key)}
                  onChange={(event) => {
                    const next = new Set(excluded);
                    if (event.target.checked) next.delete(key);
                    else next.add(key);
                    setExcluded(next);
                  }}
                />{" "}
                {finding.finding_class} {finding.vulnerability_id} in {finding.package}
              </label>
            );
          })}
        </fieldset>
      )}
      <div className="button-row">
        <button type="button" disabled={busy || reviewCase.blockers.length > 0} onClick={() => decide("approve")}>
          Approve
        </button>
        <button type="button" disabled={busy || !reason} onClick={() => decide("request-changes")}>
          Request changes
        </button>
        <button type="button" className="danger" disabled={busy || !reason} onClick={() => decide("reject")}>
          Reject
        </button>
      </div>
    </div>
  );
}

export function ReviewCasePage() {
  const { caseId } = useParams();
  return (
    <>
      <p>
        <Link to="/review">Back to the queue</Link>
      </p>
      <CaseView caseId={caseId!} actions={(reviewCase, reload) => <Decision reviewCase={reviewCase} reload={reload} />} />
    </>
  );
}
