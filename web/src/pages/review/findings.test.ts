import { describe, expect, it } from "vitest";
import { blockingChecklist, classLabel, isBlocking, sortChecks, sortFindings, vulnerabilityKey, type Check, type Finding } from "./findings";

function finding(overrides: Partial<Finding>): Finding {
  return {
    image_digest: "sha256:aa",
    vulnerability_id: "CVE-2024-0001",
    package: "openssl",
    installed_version: "3.0.0",
    fixed_version: null,
    cvss_score: null,
    aliases: [],
    finding_class: "minor",
    staff_class: null,
    effective_class: "minor",
    state: "open",
    detected_at: "2024-01-01T00:00:00Z",
    resolved_at: null,
    waived: false,
    ...overrides,
  };
}

function check(overrides: Partial<Check>): Check {
  return { id: "user", level: "error", passed: true, detail: "", suggestion: "", ...overrides };
}

describe("sortFindings", () => {
  it("puts open, severe and high-scoring findings first", () => {
    const sorted = sortFindings([
      finding({ vulnerability_id: "resolved", effective_class: "critical", state: "resolved" }),
      finding({ vulnerability_id: "minor", effective_class: "minor" }),
      finding({ vulnerability_id: "major-low", effective_class: "major", cvss_score: 4.1 }),
      finding({ vulnerability_id: "unclassified", effective_class: "unclassified" }),
      finding({ vulnerability_id: "critical", effective_class: "critical", cvss_score: 9.8 }),
      finding({ vulnerability_id: "major-high", effective_class: "major", cvss_score: 6.5 }),
    ]);

    expect(sorted.map((item) => item.vulnerability_id)).toEqual([
      "critical",
      "major-high",
      "major-low",
      "minor",
      "unclassified",
      "resolved",
    ]);
  });

  it("leaves its input unchanged", () => {
    const input = [finding({ vulnerability_id: "b" }), finding({ vulnerability_id: "a" })];

    sortFindings(input);

    expect(input.map((item) => item.vulnerability_id)).toEqual(["b", "a"]);
  });
});

describe("isBlocking", () => {
  it("blocks open Critical and Major findings that are not waived", () => {
    expect(isBlocking(finding({ effective_class: "critical" }))).toBe(true);
    expect(isBlocking(finding({ effective_class: "major" }))).toBe(true);
  });

  it("lets through minor, waived and resolved findings", () => {
    expect(isBlocking(finding({ effective_class: "minor" }))).toBe(false);
    expect(isBlocking(finding({ effective_class: "critical", waived: true }))).toBe(false);
    expect(isBlocking(finding({ effective_class: "critical", state: "resolved" }))).toBe(false);
  });
});

describe("vulnerabilityKey", () => {
  it("ignores the package, as waivers do", () => {
    expect(vulnerabilityKey(finding({ package: "a" }))).toBe(vulnerabilityKey(finding({ package: "b" })));
    expect(vulnerabilityKey(finding({}))).not.toBe(vulnerabilityKey(finding({ image_digest: "sha256:bb" })));
  });
});

describe("classLabel", () => {
  it("names the scanner's class when staff changed it", () => {
    const label = classLabel(finding({ finding_class: "critical", staff_class: "minor", effective_class: "minor" }));

    expect(label).toBe("minor (staff; scanner: critical)");
  });

  it("shows the class alone otherwise", () => {
    expect(classLabel(finding({ finding_class: "major", effective_class: "major" }))).toBe("major");
  });
});

describe("sortChecks", () => {
  it("puts failures first, by level", () => {
    const sorted = sortChecks([
      check({ id: "labels", level: "info", passed: true }),
      check({ id: "healthcheck", level: "warning", passed: false }),
      check({ id: "user", level: "error", passed: false }),
      check({ id: "size", level: "error", passed: true }),
    ]);

    expect(sorted.map((item) => item.id)).toEqual(["user", "healthcheck", "size", "labels"]);
  });
});

describe("blockingChecklist", () => {
  it("keeps one item per vulnerability and image, from finding blockers only", () => {
    const items = blockingChecklist([
      { kind: "finding", image_digest: "sha256:a", vulnerability_id: "CVE-1", package: "one" },
      { kind: "finding", image_digest: "sha256:a", vulnerability_id: "CVE-1", package: "two" },
      { kind: "finding", image_digest: "sha256:b", vulnerability_id: "CVE-1", package: "one" },
      { kind: "profile", detail: "The publisher profile is incomplete" },
    ]);

    expect([...items.keys()]).toEqual(["sha256:a|CVE-1", "sha256:b|CVE-1"]);
    expect(items.get("sha256:b|CVE-1")).toEqual({ image_digest: "sha256:b", vulnerability_id: "CVE-1" });
  });
});
