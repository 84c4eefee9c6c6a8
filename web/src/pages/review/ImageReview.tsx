import { Fragment, useCallback, useEffect, useState } from "react";
import { api, type Schemas } from "../../api/client";
import { problemMessage } from "../../api/problem";
import { ErrorBanner, Loading } from "../../components/Field";
import { ClassificationForm, WaiverForm } from "./FindingForms";
import { classLabel, isBlocking, sortChecks, sortFindings, vulnerabilityKey, type Finding } from "./findings";

type RoundImage = Schemas["moderation.RoundImageOut"];
type Scan = Schemas["scanning.ScanOut"];

/** Render the best-practice check results of a scan, per platform image. */
function ScanChecks({ scanId }: { scanId: string }) {
  const [scan, setScan] = useState<Scan | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.GET("/api/scanning/scans/{scan_id}", { params: { path: { scan_id: scanId } } }).then(({ data, error }) => {
      if (data) setScan(data);
      else setError(problemMessage(error, "The check results could not be loaded"));
    });
  }, [scanId]);

  if (error) return <ErrorBanner message={error} />;
  if (!scan) return <Loading what="check results" />;
  if (scan.images.length === 0) return <p>The scan has no images, so no checks ran.</p>;

  return (
    <>
      {scan.images.map((image) => (
        <div key={image.digest} className="table-scroll">
        <table className="checks">
          <caption>
            Best-practice checks, {image.platform}
            {image.os && ` (${image.os.name} ${image.os.version})`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Level</th>
              <th scope="col">Result</th>
              <th scope="col">Detail and suggestion</th>
            </tr>
          </thead>
          <tbody>
            {sortChecks(image.checks).map((check) => (
              <tr key={check.id}>
                <td>
                  <code>{check.id}</code>
                </td>
                <td>{check.level}</td>
                <td>
                  <span className={check.passed ? "badge badge-owned" : "badge badge-warning"}>{check.passed ? "passed" : "failed"}</span>
                </td>
                <td>
                  {check.detail}
                  {!check.passed && check.suggestion && <p className="muted">Suggestion: {check.suggestion}</p>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      ))}
    </>
  );
}

interface FindingsProps {
  caseId: string;
  digest: string;
  // Whether this is the open round, where findings may be waived, classified and listed.
  editable: boolean;
  canWaive: boolean;
  canClassify: boolean;
  selected: Set<string>;
  onSelect(finding: Finding, selected: boolean): void;
  onChanged(): void;
}

/** Render the findings of one image as moderation counts them, with waive and classify forms. */
function ImageFindings({ caseId, digest, editable, canWaive, canClassify, selected, onSelect, onChanged }: FindingsProps) {
  const [findings, setFindings] = useState<Finding[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showResolved, setShowResolved] = useState(false);
  // The open form: which finding row, and which action.
  const [form, setForm] = useState<{ key: string; action: "waive" | "classify" } | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/moderation/images/{image_digest}/findings", {
      params: { path: { image_digest: digest }, query: { state: showResolved ? undefined : "open" } },
    });
    if (data) setFindings(sortFindings(data));
    else setError(problemMessage(error, "The findings could not be loaded"));
  }, [digest, showResolved]);

  useEffect(() => {
    void load();
  }, [load]);

  const done = (message: string) => {
    setForm(null);
    setStatus(message);
    void load();
    onChanged();
  };

  const rowKey = (finding: Finding) => `${vulnerabilityKey(finding)}|${finding.package}`;

  return (
    <div className="findings">
      <div className="toolbar">
        <label className="inline">
          <input type="checkbox" checked={showResolved} onChange={(event) => setShowResolved(event.target.checked)} /> Show
          resolved findings
        </label>
      </div>
      <p role="status" aria-live="polite" className="status-line">
        {status}
      </p>
      <ErrorBanner message={error} />
      {findings === null && !error && <Loading what="findings" />}
      {findings?.length === 0 && <p>No {showResolved ? "" : "open "}findings on this image.</p>}
      {findings && findings.length > 0 && (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Findings on {digest}</caption>
            <thead>
              <tr>
                {editable && (
                  <th scope="col">
                    <span className="visually-hidden">Ask the publisher to fix</span>
                    <span aria-hidden="true">Fix</span>
                  </th>
                )}
                <th scope="col">Vulnerability</th>
                <th scope="col">Package</th>
                <th scope="col">CVSS</th>
                <th scope="col">Class</th>
                <th scope="col">Status</th>
                {editable && (canWaive || canClassify) && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {findings.map((finding) => {
                const key = rowKey(finding);
                const open = finding.state === "open";
                return (
                  <Fragment key={key}>
                    <tr className={isBlocking(finding) ? "row-blocking" : undefined}>
                      {editable && (
                        <td>
                          {open && (
                            <input
                              type="checkbox"
                              checked={selected.has(vulnerabilityKey(finding))}
                              onChange={(event) => onSelect(finding, event.target.checked)}
                              aria-label={`Ask the publisher to fix ${finding.vulnerability_id} in ${finding.package}`}
                            />
                          )}
                        </td>
                      )}
                      <td>
                        <strong>{finding.vulnerability_id}</strong>
                        {finding.aliases.length > 0 && <div className="muted">{finding.aliases.join(", ")}</div>}
                      </td>
                      <td>
                        {finding.package} {finding.installed_version}
                        <div className="muted">{finding.fixed_version ? `fixed in ${finding.fixed_version}` : "no fix yet"}</div>
                      </td>
                      <td>{finding.cvss_score ?? "—"}</td>
                      <td>{classLabel(finding)}</td>
                      <td>
                        {finding.state}
                        {finding.waived && <span className="badge">waived</span>}
                        {isBlocking(finding) && <span className="badge badge-warning">blocks approval</span>}
                      </td>
                      {editable && (canWaive || canClassify) && (
                        <td>
                          {open && (
                            <div className="button-row">
                              {canWaive && !finding.waived && (
                                <button
                                  type="button"
                                  aria-expanded={form?.key === key && form.action === "waive"}
                                  aria-label={`Waive ${finding.vulnerability_id} in ${finding.package}`}
                                  onClick={() => setForm({ key, action: "waive" })}
                                >
                                  Waive
                                </button>
                              )}
                              {canClassify && (
                                <button
                                  type="button"
                                  aria-expanded={form?.key === key && form.action === "classify"}
                                  aria-label={`Classify ${finding.vulnerability_id} in ${finding.package}`}
                                  onClick={() => setForm({ key, action: "classify" })}
                                >
                                  Classify
                                </button>
                              )}
                            </div>
                          )}
                        </td>
                      )}
                    </tr>
                    {form?.key === key && (
                      <tr className="form-row">
                        <td colSpan={7}>
                          {form.action === "waive" ? (
                            <WaiverForm caseId={caseId} finding={finding} onDone={done} onCancel={() => setForm(null)} />
                          ) : (
                            <ClassificationForm caseId={caseId} finding={finding} onDone={done} onCancel={() => setForm(null)} />
                          )}
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {editable && !canClassify && <p className="muted">Classifying a finding needs the security role.</p>}
    </div>
  );
}

export interface ImageReviewProps extends Omit<FindingsProps, "digest"> {
  image: RoundImage;
}

/** Render one tier image of a round: its scan, best-practice checks and findings. */
export function ImageReview({ image, ...findings }: ImageReviewProps) {
  const scan = image.scan;
  return (
    <section className="image-review" aria-label={`Image of tier ${image.name}`}>
      <h4>
        Tier {image.name}: <code>{image.reference}</code>
      </h4>
      {!scan && <p role="status">Waiting for the scan…</p>}
      {scan?.status === "failed" && <ErrorBanner message={`The scan failed: ${scan.failure_reason ?? "no reason given"}`} />}
      {scan?.status === "completed" && (
        <>
          <p>
            Digest <code className="digest">{scan.digest}</code>, scanned {new Date(scan.occurred_at).toLocaleString()}.
          </p>
          <h5>Findings</h5>
          {scan.digest ? <ImageFindings digest={scan.digest} {...findings} /> : <p>The scan named no digest.</p>}
          <h5>Best-practice checks</h5>
          <ScanChecks scanId={scan.scan_id} />
        </>
      )}
    </section>
  );
}
