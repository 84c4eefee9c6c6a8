// A focused reflow check of the publisher's scan pages at phone widths, without the stack.
//
// It serves a build of the app (WHARF_WEB_DIST_DIR, else dist/) from a local HTTP server
// on 127.0.0.1. In the browser, every /api request gets fixed data with long references,
// digests, package names and paths. The script checks at 390 and 320 CSS pixels
// (WCAG 2.1 success criterion 1.4.10) that neither the scan list nor a scan's page
// scrolls sideways with every layer opened. It also checks that no table on them needs
// sideways scrolling in its own box. It also checks that each identifier cut with an ellipsis
// keeps its full value in a `title`. Run `npm run build` first, then `npm run reflow`.
// It exits with status 1 and names each failure. WHARF_REFLOW_SHOTS names a folder for
// full-page screenshots at each width.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const DIST = process.env.WHARF_WEB_DIST_DIR ?? new URL("../dist", import.meta.url).pathname;
const WIDTHS = [390, 320];
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

const ORGANISATION = "7d0f9a52-0000-4000-8000-000000000001";
const SCAN = "7d0f9a52-0000-4000-8000-000000000002";
const IMAGE = "7d0f9a52-0000-4000-8000-000000000003";
const REFERENCE = "127.0.0.1:5000/staging/harbourmaster-international-logistics/berth-scheduler-enterprise-edition:2024.10.1-bookworm-slim";
const DIGEST = `sha256:${"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}`;
const LAYER_DIGEST = `sha256:${"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"}`;
const LONG_PACKAGE = "github.com/harbourmaster-international/berth-scheduler/internal/reconciliation/vesselmanifestparser";
const LONG_PATH = "/usr/local/lib/python3.11/site-packages/harbourmaster_berth_scheduler_enterprise_edition-2024.10.1.dist-info/METADATA";
const NOW = "2026-01-01T12:00:00Z";

const me = {
  id: "u1",
  username: "publisher",
  email: "publisher@example.com",
  display_name: "Publisher",
  email_verified: true,
  created_at: NOW,
  pending_email: null,
  staff_roles: [],
  organisations: [{ id: ORGANISATION, namespace: "harbourmaster-international-logistics", display_name: "Harbourmaster International Logistics", created_at: NOW, role: "owner" }],
};
const summary = {
  id: SCAN,
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
const layer = {
  index: 0,
  digest: LAYER_DIGEST,
  media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
  size: 31_457_280,
  decompressed_size: 83_886_080,
  entries: 4821,
  created_by: "/bin/sh -c pip install --no-cache-dir harbourmaster-berth-scheduler-enterprise-edition==2024.10.1",
};
const scan = {
  ...summary,
  images: [
    {
      id: IMAGE,
      digest: DIGEST,
      platform: "linux/arm64/v8",
      os: { id: "debian", name: "Debian GNU/Linux", version: "12" },
      is_plugin: false,
      totals: {},
      layers: [layer],
      checks: [{ id: "non-root-user-configured-for-runtime", passed: false, level: "warning", detail: `The image ${REFERENCE} runs as root`, suggestion: "Add a USER instruction" }],
    },
  ],
};
const component = {
  id: "c1",
  image_digest: DIGEST,
  ecosystem: "Go",
  name: LONG_PACKAGE,
  version: "v0.0.0-20240101120000-abcdef123456",
  match_name: LONG_PACKAGE,
  purl: `pkg:golang/${LONG_PACKAGE}@v0.0.0-20240101120000-abcdef123456`,
  path: LONG_PATH,
  layer: { index: 0, digest: LAYER_DIGEST, created_by: layer.created_by },
  source_name: null,
  source_version: null,
  licenses: ["Apache-2.0 WITH LLVM-exception", "BSD-3-Clause-Clear"],
};
const finding = {
  id: "f1",
  image_id: IMAGE,
  vulnerability_id: "GHSA-xxxx-yyyy-zzzz-harbourmaster-reconciliation",
  aliases: ["CVE-2024-000000001", "PYSEC-2024-0000000001"],
  ecosystem: "Go",
  package: LONG_PACKAGE,
  installed_version: "v0.0.0-20240101120000-abcdef123456",
  component_name: LONG_PACKAGE,
  component_version: "v0.0.0-20240101120000-abcdef123456",
  layer_digest: LAYER_DIGEST,
  layer_index: 0,
  fixed_version: "v0.0.0-20240301120000-fedcba654321",
  cvss_score: 9.8,
  cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
  cvss_source: "nvd",
  severity_text: "CRITICAL",
  finding_class: "critical",
  cvss_class: "critical",
  status: "open",
  waived: false,
  detected_at: NOW,
  resolved_at: null,
  references: [{ url: "https://osv.dev/vulnerability/GHSA-xxxx-yyyy-zzzz" }],
};

const page = (items) => ({ items, next_cursor: null });
const ROUTES = [
  [/\/api\/identity\/sessions\/refresh$/, () => ({ access_token: "access", refresh_token: "refresh", expires_in: 900 })],
  [/\/api\/identity\/users\/me$/, () => me],
  [/\/api\/identity\/organisations\/[^/]+$/, () => me.organisations[0]],
  [/\/api\/catalog\/organisations\/[^/]+\/products$/, () => page([])],
  [/\/api\/scanning\/scans$/, () => page([summary])],
  [/\/api\/scanning\/scans\/[^/]+\/components$/, () => page([component])],
  [/\/api\/scanning\/images\/[^/]+\/findings$/, () => page([finding])],
  [/\/api\/scanning\/scans\/[^/]+$/, () => scan],
];

/** Serve the build, with index.html for every path that is no file, as the gateway does. */
function serveBuild() {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://localhost").pathname)).replace(/^(\.\.[/\\])+/, "");
    let body;
    let type = TYPES[extname(path)] ?? "application/octet-stream";
    try {
      body = await readFile(join(DIST, path));
    } catch {
      body = await readFile(join(DIST, "index.html"));
      type = TYPES[".html"];
    }
    response.writeHead(200, { "Content-Type": type });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const failures = [];

async function checkWidths(browserPage, name) {
  for (const width of WIDTHS) {
    await browserPage.setViewportSize({ width, height: 844 });
    const { pageWidth, widest, scrolledTables } = await browserPage.evaluate(() => {
      const viewport = document.documentElement.clientWidth;
      // Name the element that sticks out furthest, so a failure points at its cause.
      let widest = null;
      for (const element of document.querySelectorAll("body *")) {
        const right = element.getBoundingClientRect().right;
        if (right > viewport + 0.5 && (!widest || right > widest.right)) {
          widest = { right: Math.round(right), tag: element.tagName.toLowerCase(), className: String(element.className), text: (element.textContent ?? "").slice(0, 60) };
        }
      }
      // A table that needs sideways scrolling in its own box hides part of each row.
      const scrolledTables = [...document.querySelectorAll(".table-scroll")]
        .filter((box) => box.scrollWidth > box.clientWidth)
        .map((box) => box.querySelector("caption")?.textContent ?? "a table without a caption");
      return { pageWidth: document.documentElement.scrollWidth, widest, scrolledTables };
    });
    const result = pageWidth <= width ? "ok" : `${pageWidth} pixels wide, widest ${JSON.stringify(widest)}`;
    console.log(`${name} at ${width} pixels: ${result}; tables that scroll sideways: ${scrolledTables.length ? scrolledTables.join(", ") : "none"}`);
    if (scrolledTables.length > 0) failures.push(`${name} at ${width} pixels has tables that scroll sideways: ${scrolledTables.join(", ")}`);
    if (process.env.WHARF_REFLOW_SHOTS) await browserPage.screenshot({ path: `${process.env.WHARF_REFLOW_SHOTS}/${name.replaceAll(" ", "-")}-${width}.png`, fullPage: true });
    if (pageWidth > width) failures.push(`${name} is ${pageWidth} pixels wide in a ${width} pixel viewport`);
  }
}

const server = await serveBuild();
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  // A stored refresh token makes the app restore a sign-in, which the stub then grants.
  await context.addInitScript(() => sessionStorage.setItem("wharf.refresh_token", "refresh"));
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== base) return route.abort();
    if (!url.pathname.startsWith("/api/")) return route.continue();
    const match = ROUTES.find(([pattern]) => pattern.test(url.pathname));
    if (!match) return route.fulfill({ status: 404, contentType: "application/problem+json", body: JSON.stringify({ status: 404, detail: `No stub for ${url.pathname}` }) });
    return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(match[1]()) });
  });
  const browserPage = await context.newPage();

  await browserPage.goto(`${base}/publisher/${ORGANISATION}/scans`);
  await browserPage.getByRole("link", { name: REFERENCE }).waitFor();
  await checkWidths(browserPage, "the scan list");

  await browserPage.setViewportSize({ width: 390, height: 844 });
  await browserPage.goto(`${base}/publisher/${ORGANISATION}/scans/${SCAN}`);
  await browserPage.getByRole("heading", { name: "Layers" }).waitFor();
  await browserPage.evaluate(() => document.querySelectorAll("details").forEach((details) => (details.open = true)));
  await checkWidths(browserPage, "the scan page");

  // Text cut with an ellipsis must keep its full value where a reader can get it.
  const clipped = await browserPage.evaluate(() =>
    [...document.querySelectorAll(".truncate")]
      .filter((element) => element.scrollWidth > element.clientWidth && !element.getAttribute("title"))
      .map((element) => element.textContent),
  );
  if (clipped.length > 0) failures.push(`text cut without its full value in a title: ${clipped.join(", ")}`);
} finally {
  await browser.close();
  server.close();
}

if (failures.length > 0) {
  console.error(`reflow check failed:\n- ${failures.join("\n- ")}`);
  process.exitCode = 1;
} else {
  console.log("reflow check passed");
}
