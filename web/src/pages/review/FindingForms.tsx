import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field } from "../../components/Field";
import { SelectField } from "../../components/SelectField";
import { isoToLocalInput, localInputToIso } from "../../lib/datetime";
import type { Finding } from "./findings";

interface FormProps {
  caseId: string;
  finding: Finding;
  onDone(message: string): void;
  onCancel(): void;
}

// Errors the server names by a field this form has are shown beside it; others in the banner.
function splitErrors(problem: unknown, fields: string[], fallback: string) {
  const errors = fieldErrors(problem as Problem);
  const beside = Object.fromEntries(Object.entries(errors).filter(([name]) => fields.includes(name)));
  const allBeside = Object.keys(beside).length > 0 && Object.keys(beside).length === Object.keys(errors).length;
  return { beside, banner: allBeside ? null : problemMessage(problem, fallback) };
}

/** Waive a vulnerability on one image of the case, with a reason and an optional expiry. */
export function WaiverForm({ caseId, finding, onDone, onCancel }: FormProps) {
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { data, error } = await api.POST("/api/moderation/cases/{case_id}/waivers", {
      params: { path: { case_id: caseId } },
      body: {
        image_digest: finding.image_digest,
        vulnerability_id: finding.vulnerability_id,
        reason,
        expires_at: localInputToIso(expires),
      },
    });
    setBusy(false);
    if (data) {
      onDone(`${finding.vulnerability_id} is waived${data.expires_at ? ` until ${new Date(data.expires_at).toLocaleString()}` : ""}.`);
      return;
    }
    const { beside, banner } = splitErrors(error, ["reason", "expires_at"], "The waiver was not saved");
    setErrors(beside);
    setBanner(banner);
  };

  return (
    <form onSubmit={submit} className="finding-form" aria-label={`Waive ${finding.vulnerability_id}`} noValidate>
      <ErrorBanner message={banner} />
      <Field
        label={`Reason for waiving ${finding.vulnerability_id}`}
        name="waiver-reason"
        multiline
        value={reason}
        onChange={(event) => setReason(event.target.value)}
        error={errors.reason}
        hint="Shown to the publisher; say why the finding does not affect this image."
        required
        autoFocus
      />
      <Field
        label="Waived until (optional)"
        name="waiver-expires"
        type="datetime-local"
        value={expires}
        min={isoToLocalInput(new Date().toISOString())}
        onChange={(event) => setExpires(event.target.value)}
        error={errors.expires_at}
        hint="In your time zone. Leave empty for a waiver without end; when it ends on a live image, the fix deadline starts."
      />
      <div className="button-row">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Waive finding"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const CLASSES = ["critical", "major", "minor"] as const;
type FindingClass = (typeof CLASSES)[number];

/** Set the staff class of a vulnerability on one image of the case, with a reason. */
export function ClassificationForm({ caseId, finding, onDone, onCancel }: FormProps) {
  const [findingClass, setFindingClass] = useState<FindingClass>(
    (CLASSES as readonly string[]).includes(finding.effective_class) ? (finding.effective_class as FindingClass) : "minor",
  );
  const [reason, setReason] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { data, error } = await api.POST("/api/moderation/cases/{case_id}/classifications", {
      params: { path: { case_id: caseId } },
      body: {
        image_digest: finding.image_digest,
        vulnerability_id: finding.vulnerability_id,
        finding_class: findingClass,
        reason,
      },
    });
    setBusy(false);
    if (data) {
      onDone(`${finding.vulnerability_id} is now classified ${findingClass}.`);
      return;
    }
    const { beside, banner } = splitErrors(error, ["reason", "finding_class"], "The classification was not saved");
    setErrors(beside);
    setBanner(banner);
  };

  return (
    <form onSubmit={submit} className="finding-form" aria-label={`Classify ${finding.vulnerability_id}`} noValidate>
      <ErrorBanner message={banner} />
      <SelectField
        label="Class"
        options={CLASSES.map((value) => [value, value] as const)}
        value={findingClass}
        onChange={(event) => setFindingClass(event.target.value as FindingClass)}
        error={errors.finding_class}
        hint="Critical and Major block approval; Minor does not."
        autoFocus
      />
      <Field
        label={`Reason for the class of ${finding.vulnerability_id}`}
        name="classification-reason"
        multiline
        value={reason}
        onChange={(event) => setReason(event.target.value)}
        error={errors.reason}
        required
      />
      <div className="button-row">
        <button type="submit" disabled={busy}>
          {busy ? "Saving…" : "Set class"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
