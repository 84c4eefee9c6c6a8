import { useState } from "react";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field } from "../../components/Field";

type Case = Schemas["moderation.CaseDetail"];
type ChecklistFinding = Schemas["moderation.ChecklistFinding"];
type ManifestItem = Schemas["moderation.ChecklistManifestItem"];

export type DecisionKind = "approve" | "request-changes" | "reject";

/** Return the request body of a decision. Empty manifest rows are left out. */
export function decisionBody(kind: DecisionKind, reason: string, findings: ChecklistFinding[], manifest: ManifestItem[]) {
  const text = reason.trim();
  if (kind === "approve") return { note: text || null };
  if (kind === "reject") return { reason: text };
  return {
    reason: text || null,
    findings,
    manifest: manifest
      .map((item) => ({ field: item.field.trim(), message: item.message.trim() }))
      .filter((item) => item.field || item.message),
  };
}

/** Return the blockers a refused approval lists, as lines for the banner. */
export function blockerLines(problem: unknown): string[] {
  const blockers = (problem as { blockers?: { detail?: string }[] } | null)?.blockers;
  return Array.isArray(blockers) ? blockers.map((blocker) => blocker.detail ?? JSON.stringify(blocker)) : [];
}

interface DecisionProps {
  reviewCase: Case;
  // Findings ticked in the findings tables, for the change request's checklist.
  checklist: ChecklistFinding[];
  onDecided(): void;
}

/** Render the decision on the current round: approve, request changes (with a checklist) or reject. */
export function Decision({ reviewCase, checklist, onDecided }: DecisionProps) {
  const [reason, setReason] = useState("");
  const [manifest, setManifest] = useState<ManifestItem[]>([]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<{ message: string; lines: string[] } | null>(null);
  const [busy, setBusy] = useState(false);

  const decide = async (kind: DecisionKind) => {
    setBusy(true);
    setBanner(null);
    setErrors({});
    const path = { case_id: reviewCase.id };
    const body = decisionBody(kind, reason, checklist, manifest);
    const result =
      kind === "approve"
        ? await api.POST("/api/moderation/cases/{case_id}/approve", { params: { path }, body: body as { note: string | null } })
        : kind === "reject"
          ? await api.POST("/api/moderation/cases/{case_id}/reject", { params: { path }, body: body as { reason: string } })
          : await api.POST("/api/moderation/cases/{case_id}/request-changes", {
              params: { path },
              body: body as Schemas["moderation.RequestChangesIn"],
            });
    setBusy(false);
    if (result.error) {
      const named = fieldErrors(result.error as Problem);
      // The approval's note is sent as `note`, but typed into the reason field.
      if (named.note) named.reason = named.note;
      setErrors(named);
      setBanner({ message: problemMessage(result.error, "The decision was not recorded"), lines: blockerLines(result.error) });
      return;
    }
    setReason("");
    setManifest([]);
    onDecided();
  };

  const setItem = (index: number, change: Partial<ManifestItem>) =>
    setManifest(manifest.map((item, position) => (position === index ? { ...item, ...change } : item)));

  if (reviewCase.state !== "in_review") {
    return <p>The current round is {reviewCase.state.replace(/_/g, " ")}, so no decision is open.</p>;
  }

  const blocked = reviewCase.blockers.length > 0;
  return (
    <div className="decision">
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
        label="Reason or note for the publisher"
        name="reason"
        multiline
        value={reason}
        onChange={(event) => setReason(event.target.value)}
        error={errors.reason}
        hint="Required to reject. A change request needs a reason, a finding to fix or a manifest item."
      />
      <fieldset>
        <legend>Checklist for a change request</legend>
        <p>
          {checklist.length === 0
            ? "No findings ticked: tick findings in the tables below to ask for their fix."
            : `${checklist.length} finding${checklist.length === 1 ? "" : "s"} to fix: ${checklist.map((item) => item.vulnerability_id).join(", ")}.`}
        </p>
        <ErrorBanner message={Object.entries(errors).find(([name]) => name.startsWith("findings."))?.[1]} />
        {manifest.map((item, index) => (
          <div key={index} className="manifest-item">
            <Field
              label={`Manifest item ${index + 1}`}
              name={`manifest-${index}-field`}
              value={item.field}
              onChange={(event) => setItem(index, { field: event.target.value })}
              error={errors[`manifest.${index}.field`]}
              hint="The item's name, e.g. support.url"
            />
            <Field
              label={`What to correct in item ${index + 1}`}
              name={`manifest-${index}-message`}
              value={item.message}
              onChange={(event) => setItem(index, { message: event.target.value })}
              error={errors[`manifest.${index}.message`]}
            />
            <button type="button" onClick={() => setManifest(manifest.filter((_, position) => position !== index))}>
              Remove item {index + 1}
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setManifest([...manifest, { field: "", message: "" }])}>
          Add a manifest item to correct
        </button>
      </fieldset>
      <div className="button-row">
        <button type="button" disabled={busy || blocked} onClick={() => decide("approve")} aria-describedby={blocked ? "approve-blocked" : undefined}>
          Approve
        </button>
        <button type="button" disabled={busy} onClick={() => decide("request-changes")}>
          Request changes
        </button>
        <button type="button" className="danger" disabled={busy || !reason.trim()} onClick={() => decide("reject")}>
          Reject
        </button>
      </div>
      {blocked && (
        <p id="approve-blocked" className="muted">
          Approval is blocked until every item under “Blocking approval” is resolved.
        </p>
      )}
    </div>
  );
}
