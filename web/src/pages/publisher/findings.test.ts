import { describe, expect, it } from "vitest";
import { countByClass, describeCounts, groupByClass, groupByLayer, scanInProgress, type FindingLike } from "./findings";

function finding(id: string, findingClass: string, score: number | null, layer = 0): FindingLike {
  return { id, vulnerability_id: `CVE-${id}`, finding_class: findingClass, cvss_score: score, layer_index: layer };
}

function component(id: string, name: string, layer: number, ecosystem = "PyPI") {
  return { id, name, ecosystem, layer: { index: layer } };
}

describe("groupByClass", () => {
  it("orders classes from Critical to Unclassified", () => {
    const groups = groupByClass([finding("1", "minor", 2), finding("2", "unclassified", null), finding("3", "critical", 9.8), finding("4", "major", 5)]);

    expect(groups.map((group) => group.findingClass)).toEqual(["critical", "major", "minor", "unclassified"]);
    expect(groups.map((group) => group.label)).toEqual(["Critical", "Major", "Minor", "Unclassified"]);
  });

  it("leaves out classes without findings", () => {
    const groups = groupByClass([finding("1", "major", 5)]);

    expect(groups).toHaveLength(1);
    expect(groups[0].findingClass).toBe("major");
  });

  it("sorts findings by score, highest first, unscored last", () => {
    const groups = groupByClass([finding("a", "critical", 7.5), finding("b", "critical", null), finding("c", "critical", 9.8)]);

    expect(groups[0].findings.map((item) => item.id)).toEqual(["c", "a", "b"]);
  });

  it("breaks score ties by vulnerability id", () => {
    const groups = groupByClass([finding("2", "major", 5), finding("1", "major", 5)]);

    expect(groups[0].findings.map((item) => item.vulnerability_id)).toEqual(["CVE-1", "CVE-2"]);
  });

  it("keeps an unknown class after the known ones", () => {
    const groups = groupByClass([finding("1", "severe", 8), finding("2", "minor", 1)]);

    expect(groups.map((group) => group.label)).toEqual(["Minor", "severe"]);
  });

  it("counts a finding without a class as unclassified", () => {
    const groups = groupByClass([finding("1", "", null)]);

    expect(groups[0].findingClass).toBe("unclassified");
  });

  it("returns no groups for no findings", () => {
    expect(groupByClass([])).toEqual([]);
  });
});

describe("countByClass", () => {
  it("lists every known class, zero when absent", () => {
    expect(countByClass([finding("1", "critical", 9), finding("2", "critical", 8)])).toEqual({
      critical: 2,
      major: 0,
      minor: 0,
      unclassified: 0,
    });
  });
});

describe("groupByLayer", () => {
  const layers = [{ index: 1 }, { index: 0 }, { index: 2 }];

  it("orders layers from the bottom one up", () => {
    const groups = groupByLayer(layers, [], []);

    expect(groups.map((group) => group.layer.index)).toEqual([0, 1, 2]);
  });

  it("puts components and findings under the layer that introduced them", () => {
    const groups = groupByLayer(
      layers,
      [component("c1", "urllib3", 2), component("c2", "bash", 0, "Debian"), component("c3", "jinja2", 2)],
      [finding("f1", "critical", 9.8, 2), finding("f2", "minor", 2, 0)],
    );

    expect(groups[0].components.map((item) => item.name)).toEqual(["bash"]);
    expect(groups[1].components).toEqual([]);
    expect(groups[2].components.map((item) => item.name)).toEqual(["jinja2", "urllib3"]);
    expect(groups[2].findingCount).toBe(1);
    expect(groups[2].classes[0].findingClass).toBe("critical");
    expect(groups[0].classes[0].findingClass).toBe("minor");
    expect(groups[1].findingCount).toBe(0);
  });

  it("drops components of a layer the image does not list", () => {
    const groups = groupByLayer([{ index: 0 }], [component("c1", "ghost", 7)], [finding("f1", "major", 5, 7)]);

    expect(groups[0].components).toEqual([]);
    expect(groups[0].findingCount).toBe(0);
  });
});

describe("describeCounts", () => {
  it("lists non-zero classes, most severe first", () => {
    expect(describeCounts({ minor: 3, critical: 1, major: 0 })).toBe("1 Critical, 3 Minor");
  });

  it("says when there is nothing", () => {
    expect(describeCounts({ critical: 0 })).toBe("no findings");
  });
});

describe("scanInProgress", () => {
  it("is true for queued and running scans only", () => {
    expect(scanInProgress("queued")).toBe(true);
    expect(scanInProgress("running")).toBe(true);
    expect(scanInProgress("completed")).toBe(false);
    expect(scanInProgress("failed")).toBe(false);
  });
});
