import { formatDateTime } from "./common";

/** The waiver fields the label reads, a subset of `scanning.WaiverRead`. */
export interface WaiverLike {
  kind: string;
  reason: string;
  expires_at: string | null;
}

const KIND_LABELS: Record<string, string> = {
  not_affected: "Not affected",
  false_positive: "False positive",
  review: "Accepted in review",
};

/** Render a finding's waived label with the waiver's kind, reason and expiry. A finding that is not waived renders nothing. */
export function WaivedLabel({ waived, waiver }: { waived: boolean; waiver?: WaiverLike | null }) {
  if (!waived) return null;
  return (
    <div className="waiver">
      <span className="badge">waived</span>
      {waiver && (
        <span className="muted">
          {KIND_LABELS[waiver.kind] ?? waiver.kind}: {waiver.reason} ({waiver.expires_at ? `until ${formatDateTime(waiver.expires_at)}` : "no expiry"})
        </span>
      )}
    </div>
  );
}
