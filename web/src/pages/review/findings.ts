import type { Schemas } from "../../api/client";

export type Finding = Schemas["moderation.FindingOut"];
export type Check = Schemas["scanning.CheckOut"];

// Most severe first; "unclassified" is a finding without a CVSS score.
const CLASS_RANK: Record<string, number> = { critical: 0, major: 1, minor: 2, unclassified: 3 };
const LEVEL_RANK: Record<string, number> = { error: 0, warning: 1, info: 2 };

/** Sort findings for review: open before resolved, then by class, CVSS score (highest first) and id. */
export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      Number(a.state === "resolved") - Number(b.state === "resolved") ||
      (CLASS_RANK[a.effective_class] ?? 9) - (CLASS_RANK[b.effective_class] ?? 9) ||
      (b.cvss_score ?? -1) - (a.cvss_score ?? -1) ||
      a.vulnerability_id.localeCompare(b.vulnerability_id) ||
      a.package.localeCompare(b.package),
  );
}

/** Return whether the finding stops approval: open, Critical or Major after staff classes, and not waived. */
export function isBlocking(finding: Finding): boolean {
  return finding.state === "open" && !finding.waived && ["critical", "major"].includes(finding.effective_class);
}

/**
 * Key of a vulnerability on an image. Waivers, staff classes and checklist items apply
 * to every package's finding of one vulnerability on one image, so they share the key.
 */
export function vulnerabilityKey(finding: { image_digest: string; vulnerability_id: string }): string {
  return `${finding.image_digest}|${finding.vulnerability_id}`;
}

/**
 * Return the checklist items of the findings that block approval, keyed like the
 * findings tables' checkboxes. A change request puts them on the publisher's checklist
 * unless the reviewer unticks them.
 */
export function blockingChecklist(
  blockers: Record<string, unknown>[],
): Map<string, { image_digest: string; vulnerability_id: string }> {
  const items = new Map<string, { image_digest: string; vulnerability_id: string }>();
  for (const blocker of blockers) {
    if (blocker.kind !== "finding" || typeof blocker.image_digest !== "string" || typeof blocker.vulnerability_id !== "string") continue;
    const item = { image_digest: blocker.image_digest, vulnerability_id: blocker.vulnerability_id };
    items.set(vulnerabilityKey(item), item);
  }
  return items;
}

/** Sort best-practice checks: failures first, then by level (error, warning, info) and id. */
export function sortChecks(checks: Check[]): Check[] {
  return [...checks].sort(
    (a, b) =>
      Number(a.passed) - Number(b.passed) ||
      (LEVEL_RANK[a.level] ?? 9) - (LEVEL_RANK[b.level] ?? 9) ||
      a.id.localeCompare(b.id),
  );
}

/** Return a finding's class as reviewers read it, naming the scanner's class when staff changed it. */
export function classLabel(finding: Finding): string {
  if (finding.staff_class && finding.staff_class !== finding.finding_class) {
    return `${finding.effective_class} (staff; scanner: ${finding.finding_class})`;
  }
  return finding.effective_class;
}
