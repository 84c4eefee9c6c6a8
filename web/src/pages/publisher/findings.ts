/** Grouping of an image's vulnerability findings and components for the scan results page. */

/** The store's finding classes, most severe first (scanning's `FindingClass`). */
export const CLASS_ORDER = ["critical", "major", "minor", "unclassified"] as const;

export const CLASS_LABELS: Record<string, string> = {
  critical: "Critical",
  major: "Major",
  minor: "Minor",
  unclassified: "Unclassified",
};

/** The finding fields this module reads, a subset of `scanning.FindingRead`. */
export interface FindingLike {
  id: string;
  vulnerability_id: string;
  finding_class: string;
  cvss_score: number | null;
  layer_index: number;
}

export interface ComponentLike {
  id: string;
  name: string;
  ecosystem: string;
  layer: { index: number };
}

export interface LayerLike {
  index: number;
}

export interface ClassGroup<F> {
  findingClass: string;
  label: string;
  findings: F[];
}

export interface LayerGroup<L, C, F> {
  layer: L;
  components: C[];
  classes: ClassGroup<F>[];
  findingCount: number;
}

function classRank(findingClass: string): number {
  const rank = (CLASS_ORDER as readonly string[]).indexOf(findingClass);
  return rank === -1 ? CLASS_ORDER.length : rank;
}

/** Order by CVSS score, highest first and unscored last, then by vulnerability id so the order is stable. */
function compareFindings(a: FindingLike, b: FindingLike): number {
  const scoreA = a.cvss_score ?? -1;
  const scoreB = b.cvss_score ?? -1;
  if (scoreA !== scoreB) return scoreB - scoreA;
  return a.vulnerability_id.localeCompare(b.vulnerability_id) || a.id.localeCompare(b.id);
}

/**
 * Group findings by class, most severe class first, leaving out empty classes. A class the
 * store does not know yet is kept, after the known ones, under its own name.
 */
export function groupByClass<F extends FindingLike>(findings: F[]): ClassGroup<F>[] {
  const groups = new Map<string, F[]>();
  for (const finding of findings) {
    const key = finding.finding_class || "unclassified";
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => classRank(a) - classRank(b) || a.localeCompare(b))
    .map(([findingClass, members]) => ({
      findingClass,
      label: CLASS_LABELS[findingClass] ?? findingClass,
      findings: [...members].sort(compareFindings),
    }));
}

/** Count findings per class, with every known class present (zero when absent). */
export function countByClass(findings: FindingLike[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(CLASS_ORDER.map((name) => [name, 0]));
  for (const finding of findings) {
    const key = finding.finding_class || "unclassified";
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * Put each component and finding under the layer that introduced it, bottom layer first.
 * Components and findings naming a layer the image does not list are dropped. The scan
 * records both from the same layer list, so that only happens with inconsistent data.
 */
export function groupByLayer<L extends LayerLike, C extends ComponentLike, F extends FindingLike>(
  layers: L[],
  components: C[],
  findings: F[],
): LayerGroup<L, C, F>[] {
  return [...layers]
    .sort((a, b) => a.index - b.index)
    .map((layer) => {
      const layerFindings = findings.filter((finding) => finding.layer_index === layer.index);
      return {
        layer,
        components: components
          .filter((component) => component.layer.index === layer.index)
          .sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name)),
        classes: groupByClass(layerFindings),
        findingCount: layerFindings.length,
      };
    });
}

/** Describe class counts in one line, e.g. "2 Critical, 1 Major", or "no findings". */
export function describeCounts(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => classRank(a) - classRank(b))
    .map(([findingClass, count]) => `${count} ${CLASS_LABELS[findingClass] ?? findingClass}`);
  return parts.length ? parts.join(", ") : "no findings";
}

/** True while a scan may still change: the page keeps polling until this is false. */
export function scanInProgress(status: string): boolean {
  return status === "queued" || status === "running";
}
