import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { problemMessage } from "../api/problem";
import { ErrorBanner, Field, Loading } from "./Field";

type Case = Schemas["moderation.CaseDetail"];
type Comment = Schemas["moderation.CommentOut"];
type Round = Schemas["moderation.RoundOut"];

function ScanSummary({ round }: { round: Round }) {
  return (
    <table>
      <caption>Scan results of round {round.number}</caption>
      <thead>
        <tr>
          <th scope="col">Tier image</th>
          <th scope="col">Scan</th>
          <th scope="col">Findings by class</th>
          <th scope="col">Best-practice checks</th>
        </tr>
      </thead>
      <tbody>
        {round.images.map((image) => (
          <tr key={image.tier_id}>
            <td>
              {image.name}
              <br />
              <code>{image.reference}</code>
            </td>
            <td>
              {image.scan ? image.scan.status : <span role="status">waiting for the scan…</span>}
              {image.scan?.failure_reason && <> ({image.scan.failure_reason})</>}
            </td>
            <td>
              {image.scan
                ? Object.entries(image.scan.counts ?? {})
                    .map(([severity, count]) => `${severity}: ${count}`)
                    .join(", ") || "none"
                : "—"}
            </td>
            <td>{image.scan?.checks_passed == null ? "—" : image.scan.checks_passed ? "passed" : "failed"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// The checklist a reviewer attaches to "request changes" (moderation's RequestChangesIn).
interface ChecklistItems {
  manifest?: { field: string; message: string }[];
  findings?: { image_digest: string; vulnerability_id: string; note?: string | null }[];
}

function Checklist({ round }: { round: Round }) {
  const checklist = round.checklist as ChecklistItems | null;
  if (!checklist) return null;
  return (
    <div className="checklist" data-testid={`checklist-round-${round.number}`}>
      <h4>Required fixes</h4>
      <ul>
        {(checklist.manifest ?? []).map((item) => (
          <li key={item.field}>
            <code>{item.field}</code>: {item.message}
          </li>
        ))}
        {(checklist.findings ?? []).map((finding) => (
          <li key={`${finding.image_digest} ${finding.vulnerability_id}`}>
            Fix <code>{finding.vulnerability_id}</code>
            {finding.note && <>: {finding.note}</>} <span className="muted">(image {finding.image_digest.slice(0, 19)}…)</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Return a blocker's sentence for the publisher, which moderation puts in `detail`. */
export function blockerText(blocker: Record<string, unknown>): string {
  return typeof blocker.detail === "string" ? blocker.detail : JSON.stringify(blocker);
}

/** A review case: rounds with their scans and checklists, blockers and the comment thread. */
export function CaseView({ caseId, actions }: { caseId: string; actions?: (reviewCase: Case, reload: () => void) => React.ReactNode }) {
  const [reviewCase, setCase] = useState<Case | null>(null);
  const [comments, setComments] = useState<Comment[]>([]);
  const [body, setBody] = useState("");
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const path = { case_id: caseId };
    const [detail, thread] = await Promise.all([
      api.GET("/api/moderation/cases/{case_id}", { params: { path } }),
      api.GET("/api/moderation/cases/{case_id}/comments", { params: { path, query: { limit: 100 } } }),
    ]);
    if (detail.data) setCase(detail.data);
    else setError(problemMessage(detail.error, "The case could not be loaded"));
    setComments(thread.data?.items ?? []);
  }, [caseId]);

  useEffect(() => {
    void load();
  }, [load]);

  // Poll while scans are still running, so progress shows without a reload.
  useEffect(() => {
    if (reviewCase?.state !== "awaiting_scans") return;
    const timer = window.setInterval(() => void load(), 3000);
    return () => window.clearInterval(timer);
  }, [reviewCase?.state, load]);

  const comment = async (event: FormEvent) => {
    event.preventDefault();
    const { error } = await api.POST("/api/moderation/cases/{case_id}/comments", {
      params: { path: { case_id: caseId } },
      body: { body },
    });
    if (error) setError(problemMessage(error, "The comment was not saved"));
    else setBody("");
    await load();
  };

  if (!reviewCase) return error ? <ErrorBanner message={error} /> : <Loading what="review case" />;

  return (
    <section className="case">
      <h2>
        Review of {reviewCase.namespace}/{reviewCase.slug} {reviewCase.version}
      </h2>
      <p>
        State: <strong data-testid="case-state">{reviewCase.state}</strong> · round {reviewCase.current_round}
      </p>
      <ErrorBanner message={error} />
      {reviewCase.blockers.length > 0 && (
        <div className="banner banner-warning" data-testid="blockers">
          <h3>Blocking approval</h3>
          <ul>
            {reviewCase.blockers.map((blocker, index) => (
              <li key={index}>{blockerText(blocker)}</li>
            ))}
          </ul>
        </div>
      )}
      {actions?.(reviewCase, load)}
      {[...reviewCase.rounds].reverse().map((round) => (
        <div key={round.number} className="round">
          <h3>
            Round {round.number}
            {round.decision && ` — ${round.decision}`}
          </h3>
          {round.reason && <p>{round.reason}</p>}
          <ScanSummary round={round} />
          <Checklist round={round} />
        </div>
      ))}
      <h3 id="thread">Thread</h3>
      <ol className="thread">
        {comments.map((item) => (
          <li key={item.id}>
            <strong>{item.author_name}</strong> ({item.author_role}, round {item.round_number}):
            <p>{item.body}</p>
          </li>
        ))}
      </ol>
      <form onSubmit={comment}>
        <Field label="Add a comment" name="comment" multiline value={body} onChange={(event) => setBody(event.target.value)} required />
        <button type="submit">Post comment</button>
      </form>
    </section>
  );
}
