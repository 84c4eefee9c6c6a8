import { cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";

// The API client keeps the fetch it finds when it is created, so the stub must exist first.
const fetchMock = vi.hoisted(() => {
  const mock = vi.fn();
  globalThis.fetch = mock;
  return mock;
});

import { ScanPage, ScansPage, withReviewWaivers } from "./Scans";

const ORGANISATION = "o1";
const REFERENCE = "127.0.0.1:5000/staging/harbourmaster-international-logistics/berth-scheduler:2024.10.1";
const DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const LAYER_DIGEST = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const COMMAND = "/bin/sh -c pip install --no-cache-dir harbourmaster-berth-scheduler==2024.10.1";
const PACKAGE = "github.com/harbourmaster-international/berth-scheduler/internal/vesselmanifestparser";
const NOW = "2026-01-01T12:00:00Z";

const SUMMARY = {
  id: "s1",
  status: "completed",
  trigger: "submission",
  reference: REFERENCE,
  digest: DIGEST,
  organisation_id: ORGANISATION,
  product_id: null,
  version_id: null,
  tier_id: null,
  created_at: NOW,
  started_at: NOW,
  finished_at: NOW,
  failure: null,
};
const LAYER = { index: 0, digest: LAYER_DIGEST, media_type: "application/vnd.oci.image.layer.v1.tar+gzip", size: 1024, decompressed_size: 4096, entries: 3, created_by: COMMAND };
const SCAN = {
  ...SUMMARY,
  images: [
    {
      id: "i1",
      digest: DIGEST,
      platform: "linux/amd64",
      os: null,
      is_plugin: false,
      totals: {},
      layers: [LAYER],
      checks: [{ id: "non-root-user", passed: false, level: "warning", detail: "Runs as root", suggestion: "Add a USER instruction" }],
    },
  ],
};
const COMPONENT = {
  id: "c1",
  image_digest: DIGEST,
  ecosystem: "Go",
  name: PACKAGE,
  version: "v1.2.3",
  match_name: PACKAGE,
  purl: `pkg:golang/${PACKAGE}@v1.2.3`,
  path: "/usr/local/bin/berth-scheduler",
  layer: { index: 0, digest: LAYER_DIGEST, created_by: COMMAND },
  source_name: null,
  source_version: null,
  licenses: ["Apache-2.0"],
};
const FINDING = {
  id: "f1",
  image_id: "i1",
  vulnerability_id: "GHSA-xxxx-yyyy-zzzz",
  aliases: ["CVE-2024-0001"],
  ecosystem: "Go",
  package: PACKAGE,
  installed_version: "v1.2.3",
  component_name: PACKAGE,
  component_version: "v1.2.3",
  layer_digest: LAYER_DIGEST,
  layer_index: 0,
  fixed_version: "v1.2.4",
  cvss_score: 9.8,
  cvss_vector: null,
  cvss_source: null,
  severity_text: null,
  finding_class: "critical",
  cvss_class: "critical",
  status: "open",
  waived: false,
  detected_at: NOW,
  resolved_at: null,
  references: [],
};

function json(body: object, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const REVIEW_WAIVER = {
  id: "w1",
  image_digest: DIGEST,
  vulnerability_id: FINDING.vulnerability_id,
  reason: "Only reachable with local root",
  waived_by: "u9",
  created_at: NOW,
  expires_at: "2026-02-01T12:00:00Z",
  case_id: "c1",
  sla_case_id: null,
};
const REVIEWED_FINDING = {
  image_digest: DIGEST,
  vulnerability_id: FINDING.vulnerability_id,
  package: PACKAGE,
  installed_version: "v1.2.3",
  fixed_version: "v1.2.4",
  cvss_score: 9.8,
  aliases: [],
  finding_class: "critical",
  staff_class: null,
  effective_class: "critical",
  state: "open" as const,
  detected_at: NOW,
  resolved_at: null,
  waived: true,
  waiver: REVIEW_WAIVER,
};

function serve(reviewed: object[] | null = null) {
  const page = (items: object[]) => json({ items, next_cursor: null });
  fetchMock.mockImplementation(async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === `/api/identity/organisations/${ORGANISATION}`) return json({ id: ORGANISATION, namespace: "harbour", display_name: "Harbour", created_at: NOW, role: "owner" });
    if (path === `/api/catalog/organisations/${ORGANISATION}/products`) return page([]);
    if (path === "/api/scanning/scans") return page([SUMMARY]);
    if (path === "/api/scanning/scans/s1/components") return page([COMPONENT]);
    if (path === "/api/scanning/images/i1/findings") return page([FINDING]);
    if (path === "/api/scanning/scans/s1") return json(SCAN);
    // The client percent-encodes the digest's colon in the path.
    if (decodeURIComponent(path) === `/api/moderation/images/${DIGEST}/findings` && reviewed) return json(reviewed);
    return json({ status: 404, detail: `unexpected ${path}` }, 404);
  });
}

function renderAt(path: string) {
  render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/publisher/:organisationId/scans" element={<ScansPage />} />
        <Route path="/publisher/:organisationId/scans/:scanId" element={<ScanPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

/** Return, per stacked table, its column headers and the data-label of every cell by row. */
function stackedTables() {
  return [...document.querySelectorAll("table.stack-table")].map((table) => ({
    caption: table.querySelector("caption")?.textContent,
    headers: [...table.querySelectorAll("thead th")].map((header) => header.textContent),
    rows: [...table.querySelectorAll("tbody tr")].map((row) => [...row.querySelectorAll("td")].map((cell) => cell.getAttribute("data-label"))),
  }));
}

afterEach(() => {
  cleanup();
  fetchMock.mockReset();
});

describe("scan pages at phone width", () => {
  it("labels each scan list cell with its column", async () => {
    serve();
    renderAt(`/publisher/${ORGANISATION}/scans`);
    await screen.findByRole("link", { name: REFERENCE });

    const tables = stackedTables();

    expect(tables).toHaveLength(1);
    expect(tables[0].rows).toEqual([tables[0].headers]);
    expect(tables[0].headers).toEqual(["Image", "Status", "Source", "Created"]);
  });

  it("labels each scan page cell with its column", async () => {
    serve();
    renderAt(`/publisher/${ORGANISATION}/scans/s1`);
    await screen.findByText("Best-practice checks");

    const tables = stackedTables();

    // The findings by class, the layer's findings and components, and the checks.
    expect(tables.map((table) => table.caption)).toEqual(["Critical (1)", "Critical findings introduced by layer 0", "Components introduced by layer 0", "Best-practice checks of linux/amd64"]);
    for (const table of tables) {
      expect(table.rows.length, table.caption ?? "").toBeGreaterThan(0);
      for (const row of table.rows) expect(row, table.caption ?? "").toEqual(table.headers);
    }
  });

  it("keeps shortened identifiers whole in a title", async () => {
    serve();
    renderAt(`/publisher/${ORGANISATION}/scans/s1`);
    await screen.findByText("Best-practice checks");

    const command = document.querySelector(".layer-title .truncate");
    const imageDigest = screen.getByRole("heading", { name: /linux\/amd64/ }).querySelector("code");

    expect(command?.getAttribute("title")).toBe(COMMAND);
    expect(imageDigest?.getAttribute("title")).toBe(DIGEST);
    // The open layer shows the whole command as text too, since a title needs a pointer.
    expect(screen.getAllByText(COMMAND).length).toBe(2);
  });
});

describe("waivers granted in review", () => {
  it("marks a finding that moderation waived", () => {
    const [finding] = withReviewWaivers([FINDING], [REVIEWED_FINDING]);

    expect(finding.waived).toBe(true);
    expect(finding.waiver).toMatchObject({ kind: "review", reason: "Only reachable with local root", expires_at: "2026-02-01T12:00:00Z" });
  });

  it("keeps scanning's own waiver and other findings as they are", () => {
    const own = { ...FINDING, waived: true, waiver: { id: "w0", kind: "false_positive", reason: "Not built in", staff_id: "u1", created_at: NOW, expires_at: null } };
    const other = { ...FINDING, id: "f2", vulnerability_id: "CVE-2024-9999" };

    const [first, second] = withReviewWaivers([own, other], [REVIEWED_FINDING]);

    expect(first.waiver!.kind).toBe("false_positive");
    expect(second.waived).toBe(false);
  });

  it("shows the review waiver on the scan page", async () => {
    serve([REVIEWED_FINDING]);
    renderAt(`/publisher/${ORGANISATION}/scans/s1`);

    expect((await screen.findAllByText(/Accepted in review: Only reachable with local root/)).length).toBeGreaterThan(0);
  });
});
