import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { fieldErrors, problemMessage, type Problem } from "../../api/problem";
import { ErrorBanner, Field, Loading } from "../../components/Field";
import { Cell, formatBytes, formatDateTime, PublisherNav, shortDigest, StackedHead, useOrganisation, useProducts } from "./common";
import { CLASS_LABELS, countByClass, describeCounts, groupByClass, groupByLayer, scanInProgress, type ClassGroup } from "./findings";
import { attachmentName, collectPages, saveFile } from "./paging";
import { WaivedLabel } from "./Waiver";

type Scan = Schemas["scanning.ScanOut"];
type ScanSummary = Schemas["scanning.ScanSummary"];
type Image = Schemas["scanning.ImageOut"];
type Component = Schemas["scanning.ComponentOut"];
type Finding = Schemas["scanning.FindingRead"];

// Milliseconds between polls of a queued or running scan.
const POLL_MILLISECONDS = 2000;
// Maximum components and findings read per image. The page shows a warning when a list was cut.
const MAX_ROWS = 5000;

const SCAN_COLUMNS = ["Image", "Status", "Source", "Created"] as const;
const FINDING_COLUMNS = ["Vulnerability", "Package", "Installed", "Fixed in", "CVSS", "Layer"] as const;
const COMPONENT_COLUMNS = ["Name", "Version", "Ecosystem", "Licences", "Path"] as const;
const CHECK_COLUMNS = ["Check", "Result", "Detail"] as const;

function ScanStatus({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{status}</span>;
}

function ScanProgress({ scan }: { scan: { status: string; created_at: string; started_at: string | null } }) {
  const waiting = scan.status === "queued";
  return (
    <div className="scan-progress">
      <label>
        {waiting ? "Waiting for a scanner" : "Scanning the image layers"}
        <progress aria-describedby="scan-progress-note" />
      </label>
      <p id="scan-progress-note" className="muted">
        {waiting ? `Queued at ${formatDateTime(scan.created_at)}.` : `Started at ${formatDateTime(scan.started_at)}.`} This page checks again every{" "}
        {POLL_MILLISECONDS / 1000} seconds.
      </p>
    </div>
  );
}

/** Render the organisation's scans, with forms to scan a staging image or an uploaded archive. */
export function ScansPage() {
  const { organisationId } = useParams();
  const navigate = useNavigate();
  const [searchParams] = useSearchParams();
  // ?product=<id> narrows the list to the scans of one product's submissions.
  const productId = searchParams.get("product") ?? undefined;
  const { organisation } = useOrganisation(organisationId!);
  const products = useProducts(organisationId!);
  const [scans, setScans] = useState<ScanSummary[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [banner, setBanner] = useState<string | null>(null);
  const [reference, setReference] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [archive, setArchive] = useState<File | null>(null);
  const [uploading, setUploading] = useState(false);
  const canScan = organisation?.role === "owner" || organisation?.role === "editor";

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/scanning/scans", { params: { query: { organisation_id: organisationId!, product_id: productId, limit: 50 } } });
    if (data) {
      setScans(data.items);
      setNextCursor(data.next_cursor ?? null);
      setBanner(null);
    } else setBanner(problemMessage(error, "The scans could not be loaded"));
  }, [organisationId, productId]);

  const loadMore = async () => {
    if (!nextCursor) return;
    const { data, error } = await api.GET("/api/scanning/scans", { params: { query: { organisation_id: organisationId!, product_id: productId, limit: 50, cursor: nextCursor } } });
    if (data) {
      setScans((current) => [...(current ?? []), ...data.items]);
      setNextCursor(data.next_cursor ?? null);
    } else setBanner(problemMessage(error, "More scans could not be loaded"));
  };

  useEffect(() => {
    void load();
  }, [load]);

  // Poll while a scan on the first page is still queued or running.
  const running = scans?.some((scan) => scanInProgress(scan.status)) ?? false;
  useEffect(() => {
    if (!running) return;
    const timer = window.setInterval(() => void load(), POLL_MILLISECONDS);
    return () => window.clearInterval(timer);
  }, [running, load]);

  const requestScan = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error } = await api.POST("/api/scanning/scans", { body: { reference } });
    if (!data) {
      const byField = fieldErrors(error as Problem);
      // A 404 names no field, but it is about the reference: show it there.
      setErrors(Object.keys(byField).length ? byField : { reference: problemMessage(error, "The scan was not started") });
      return;
    }
    navigate(`/publisher/${organisationId}/scans/${data.id}`);
  };

  const uploadArchive = async (event: FormEvent) => {
    event.preventDefault();
    if (!archive) {
      setErrors({ file: "Choose a tar file from docker save or an OCI image layout" });
      return;
    }
    const form = new FormData();
    form.append("organisation_id", organisationId!);
    form.append("file", archive);
    setUploading(true);
    const { data, error } = await api.POST("/api/scanning/scans/archive", {
      // openapi-fetch sends FormData as it is; the typed body expects the multipart fields.
      body: form as unknown as { organisation_id: string; file: string },
      bodySerializer: (body) => body as unknown as FormData,
    });
    setUploading(false);
    if (!data) {
      const byField = fieldErrors(error as Problem);
      setErrors(Object.keys(byField).length ? byField : { file: problemMessage(error, "The upload failed") });
      return;
    }
    navigate(`/publisher/${organisationId}/scans/${data.id}`);
  };

  const productName = (productId: string | null) => products?.find((product) => product.id === productId)?.name;

  return (
    <section>
      <h1>{organisation ? `${organisation.display_name}: scans` : "Scans"}</h1>
      <PublisherNav organisationId={organisationId!} />
      <p className="muted">Scan results are private to the organisation's members and the store's staff.</p>
      {canScan && (
        <div className="two-columns">
          <form onSubmit={requestScan} aria-labelledby="scan-heading" noValidate>
            <h2 id="scan-heading">Scan a staging image</h2>
            <Field
              label="Image reference"
              name="reference"
              value={reference}
              onChange={(event) => setReference(event.target.value)}
              error={errors.reference}
              hint={`In your staging namespace, e.g. staging/${organisation?.namespace ?? "<namespace>"}/app:1.0`}
              required
            />
            <button type="submit">Start scan</button>
          </form>
          <form onSubmit={uploadArchive} aria-labelledby="upload-heading" noValidate>
            <h2 id="upload-heading">Scan an image archive</h2>
            <Field
              label="Archive"
              name="file"
              type="file"
              accept=".tar,application/x-tar"
              onChange={(event) => setArchive((event.target as HTMLInputElement).files?.[0] ?? null)}
              error={errors.file}
              hint="A tar file from docker save, or an OCI image layout packed with tar."
            />
            <button type="submit" disabled={uploading}>
              {uploading ? "Uploading…" : "Upload and scan"}
            </button>
          </form>
        </div>
      )}
      <h2>{productId ? `Scans of ${productName(productId) ?? "one product"}` : "Scans"}</h2>
      {productId && (
        <p>
          <Link to={`/publisher/${organisationId}/scans`}>Show every scan</Link>
        </p>
      )}
      <ErrorBanner message={banner} />
      {scans === null ? (
        <Loading what="scans" />
      ) : scans.length === 0 ? (
        <p>No scans yet. Submitting a product version scans each tier's image.</p>
      ) : (
        <div className="table-scroll">
          <table className="stack-table" role="table">
            <caption className="visually-hidden">Scans, newest first</caption>
            <StackedHead columns={SCAN_COLUMNS} />
            <tbody role="rowgroup">
              {scans.map((scan) => (
                <tr key={scan.id} role="row">
                  <Cell column="Image">
                    <Link className="identifier" to={`/publisher/${organisationId}/scans/${scan.id}`}>
                      {scan.reference}
                    </Link>
                    {scan.product_id && productName(scan.product_id) && <span className="muted"> · {productName(scan.product_id)}</span>}
                  </Cell>
                  <Cell column="Status">
                    <ScanStatus status={scan.status} />
                    {scan.failure && <span className="muted"> ({scan.failure.reason})</span>}
                  </Cell>
                  <Cell column="Source">{scan.trigger.replace("_", "-")}</Cell>
                  <Cell column="Created">{formatDateTime(scan.created_at)}</Cell>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {nextCursor && (
        <button type="button" onClick={loadMore}>
          Show older scans
        </button>
      )}
    </section>
  );
}

function FindingTable({ group, caption }: { group: ClassGroup<Finding>; caption: string }) {
  return (
    <div className="table-scroll">
      <table className={`findings findings-${group.findingClass} stack-table`} role="table">
        <caption>{caption}</caption>
        <StackedHead columns={FINDING_COLUMNS} />
        <tbody role="rowgroup">
          {group.findings.map((finding) => (
            <tr key={finding.id} role="row">
              <Cell column="Vulnerability">
                {finding.references[0]?.url ? (
                  <a href={finding.references[0].url} rel="noreferrer noopener" target="_blank">
                    {finding.vulnerability_id}
                  </a>
                ) : (
                  finding.vulnerability_id
                )}
                {finding.aliases.length > 0 && <div className="muted">{finding.aliases.join(", ")}</div>}
                <WaivedLabel waived={finding.waived} waiver={finding.waiver} />
              </Cell>
              <Cell column="Package">
                <span className="identifier">{finding.component_name}</span>
                <div className="muted">{finding.ecosystem}</div>
              </Cell>
              <Cell column="Installed">
                <span className="identifier">{finding.installed_version}</span>
              </Cell>
              <Cell column="Fixed in">
                <span className="identifier">{finding.fixed_version ?? "no fix yet"}</span>
              </Cell>
              <Cell column="CVSS">
                {finding.cvss_score ?? "—"}
                {finding.severity_text && <div className="muted">{finding.severity_text}</div>}
              </Cell>
              <Cell column="Layer">{finding.layer_index}</Cell>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ClassCounts({ counts }: { counts: Record<string, number> }) {
  return (
    <ul className="chips" aria-label="Open findings by class">
      {Object.entries(counts).map(([findingClass, count]) => (
        <li key={findingClass} className={`badge class-${findingClass}`}>
          {CLASS_LABELS[findingClass] ?? findingClass}: {count}
        </li>
      ))}
    </ul>
  );
}

/** Mark findings that moderation waived and scanning did not, with moderation's waiver. */
export function withReviewWaivers(findings: Finding[], reviewed: Schemas["moderation.FindingOut"][]): Finding[] {
  const waivers = new Map(reviewed.filter((item) => item.waiver).map((item) => [item.vulnerability_id, item.waiver!]));
  return findings.map((finding) => {
    const waiver = waivers.get(finding.vulnerability_id);
    if (finding.waiver || !waiver) return finding;
    return {
      ...finding,
      waived: true,
      waiver: { id: waiver.id, kind: "review", reason: waiver.reason, staff_id: waiver.waived_by, created_at: waiver.created_at, expires_at: waiver.expires_at },
    };
  });
}

function ImageResults({ scan, image }: { scan: Scan; image: Image }) {
  const [components, setComponents] = useState<Component[] | null>(null);
  const [findings, setFindings] = useState<Finding[] | null>(null);
  const [truncated, setTruncated] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    void (async () => {
      const [componentPages, findingPages] = await Promise.all([
        collectPages(
          (cursor) => api.GET("/api/scanning/scans/{scan_id}/components", { params: { path: { scan_id: scan.id }, query: { cursor, limit: 200 } } }),
          MAX_ROWS,
        ),
        collectPages(
          (cursor) => api.GET("/api/scanning/images/{image_id}/findings", { params: { path: { image_id: image.id }, query: { cursor, limit: 200, status: "open" } } }),
          MAX_ROWS,
        ),
      ]);
      // Reviewers and security staff waive findings in moderation, which scanning does not
      // know of. An image that moderation has not seen is a 404 there, with no waivers.
      const reviewed = await api.GET("/api/moderation/images/{image_digest}/findings", {
        params: { path: { image_digest: image.digest } },
      });
      if (!current) return;
      setComponents(componentPages.items.filter((component) => component.image_digest === image.digest));
      setFindings(withReviewWaivers(findingPages.items, reviewed.data ?? []));
      setTruncated(!componentPages.complete || !findingPages.complete);
      const failed = componentPages.error ?? findingPages.error;
      setError(failed ? problemMessage(failed, "Some results could not be loaded") : null);
    })();
    return () => {
      current = false;
    };
  }, [scan.id, image.id, image.digest]);

  if (components === null || findings === null) return <Loading what={`results of ${image.platform}`} />;

  const layers = groupByLayer(image.layers, components, findings);
  const byClass = groupByClass(findings);
  const headingId = `image-${image.id}`;

  return (
    <section aria-labelledby={headingId} className="image-results">
      <h2 id={headingId}>
        {image.platform}{" "}
        <code className="muted" title={image.digest}>
          {shortDigest(image.digest)}
        </code>
      </h2>
      <ErrorBanner message={error} />
      {truncated && <p className="banner banner-warning">Only the first {MAX_ROWS} components or findings are shown.</p>}
      <p>
        {image.os ? `${image.os.name || image.os.id} ${image.os.version}` : "No operating system detected"} · {components.length} {components.length === 1 ? "component" : "components"} in {image.layers.length} {image.layers.length === 1 ? "layer" : "layers"}
        {image.is_plugin && " · Docker plugin"}
      </p>
      <ClassCounts counts={countByClass(findings)} />
      {(image.warnings ?? []).length > 0 && (
        <div className="banner banner-warning">
          <p>These packages are stored differently from the image:</p>
          <ul>
            {(image.warnings ?? []).map((warning, index) => (
              <li key={index}>{warning.detail}</li>
            ))}
          </ul>
        </div>
      )}

      <h3>Open findings by class</h3>
      {byClass.length === 0 ? (
        <p>No open findings.</p>
      ) : (
        byClass.map((group) => <FindingTable key={group.findingClass} group={group} caption={`${group.label} (${group.findings.length})`} />)
      )}

      <h3>Layers</h3>
      <ol className="layers" start={0}>
        {layers.map(({ layer, components: layerComponents, classes, findingCount }) => (
          <li key={layer.index}>
            <details>
              <summary>
                <span className="layer-title">
                  <span className="layer-number">Layer {layer.index}:</span>
                  <code className="truncate" title={layer.created_by || layer.digest}>
                    {layer.created_by || layer.digest}
                  </code>
                </span>
                <span className="muted">
                  {formatBytes(layer.size)} · {layerComponents.length} {layerComponents.length === 1 ? "component" : "components"} · {describeCounts(Object.fromEntries(classes.map((group) => [group.findingClass, group.findings.length])))}
                </span>
              </summary>
              {/* The summary cuts the command to one line, so it is shown whole here. */}
              {layer.created_by && (
                <p>
                  <code className="identifier">{layer.created_by}</code>
                </p>
              )}
              <p className="muted">
                <code className="identifier">{layer.digest}</code> · {layer.entries} files, {formatBytes(layer.decompressed_size)} unpacked
              </p>
              {findingCount > 0 &&
                classes.map((group) => (
                  <FindingTable key={group.findingClass} group={group} caption={`${group.label} findings introduced by layer ${layer.index}`} />
                ))}
              {layerComponents.length > 0 ? (
                <div className="table-scroll">
                  <table className="stack-table" role="table">
                    <caption>Components introduced by layer {layer.index}</caption>
                    <StackedHead columns={COMPONENT_COLUMNS} />
                    <tbody role="rowgroup">
                      {layerComponents.map((component) => (
                        <tr key={component.id} role="row">
                          <Cell column="Name">
                            <span className="identifier">{component.name}</span>
                          </Cell>
                          <Cell column="Version">
                            <span className="identifier">{component.version}</span>
                          </Cell>
                          <Cell column="Ecosystem">{component.ecosystem}</Cell>
                          <Cell column="Licences">{component.licenses.join(", ") || "—"}</Cell>
                          <Cell column="Path">
                            <code className="identifier">{component.path}</code>
                          </Cell>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <p className="muted">This layer adds no components.</p>
              )}
            </details>
          </li>
        ))}
      </ol>

      <h3>Best-practice checks</h3>
      <div className="table-scroll">
        <table className="stack-table" role="table">
          <caption className="visually-hidden">Best-practice checks of {image.platform}</caption>
          <StackedHead columns={CHECK_COLUMNS} />
          <tbody role="rowgroup">
            {image.checks.map((check) => (
              <tr key={check.id} role="row">
                <Cell column="Check">
                  <span className="identifier">{check.id}</span>
                </Cell>
                <Cell column="Result">{check.passed ? "passed" : `failed (${check.level})`}</Cell>
                <Cell column="Detail">
                  {check.detail}
                  {!check.passed && check.suggestion && <div className="muted">{check.suggestion}</div>}
                </Cell>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Render one scan: progress while it runs, then each image's findings by class and by layer, and its SBOM. */
export function ScanPage() {
  const { organisationId, scanId } = useParams();
  const [scan, setScan] = useState<Scan | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sbomError, setSbomError] = useState<string | null>(null);

  const load = useCallback(async () => {
    const { data, error } = await api.GET("/api/scanning/scans/{scan_id}", { params: { path: { scan_id: scanId! } } });
    if (data) {
      setScan(data);
      setError(null);
    } else setError(problemMessage(error, "The scan could not be loaded"));
  }, [scanId]);

  useEffect(() => {
    void load();
  }, [load]);

  const inProgress = scan ? scanInProgress(scan.status) : false;
  useEffect(() => {
    if (!inProgress) return;
    const timer = window.setInterval(() => void load(), POLL_MILLISECONDS);
    return () => window.clearInterval(timer);
  }, [inProgress, load]);

  const downloadSbom = async (image: Image) => {
    const { data, error, response } = await api.GET("/api/scanning/scans/{scan_id}/sbom", {
      params: { path: { scan_id: scanId! }, query: { platform: image.platform } },
      parseAs: "blob",
    });
    if (!data) {
      setSbomError(problemMessage(error, "The SBOM download failed"));
      return;
    }
    setSbomError(null);
    saveFile(data as Blob, attachmentName(response.headers.get("Content-Disposition"), `sbom-${image.digest.replace(":", "-")}.cdx.json`));
  };

  if (!scan) return error ? <ErrorBanner message={error} /> : <Loading what="scan" />;

  return (
    <section>
      <h1>
        Scan of <span className="identifier">{scan.reference}</span>
      </h1>
      <PublisherNav organisationId={organisationId!} />
      <p>
        <Link to={`/publisher/${organisationId}/scans`}>All scans</Link>
      </p>
      <dl className="facts">
        <dt>Status</dt>
        <dd aria-live="polite" data-testid="scan-status">
          <ScanStatus status={scan.status} />
        </dd>
        <dt>Digest</dt>
        <dd>
          <code className="identifier">{scan.digest ?? "not resolved yet"}</code>
        </dd>
        <dt>Requested</dt>
        <dd>
          {formatDateTime(scan.created_at)} ({scan.trigger.replace("_", "-")})
        </dd>
        {scan.finished_at && (
          <>
            <dt>Finished</dt>
            <dd>{formatDateTime(scan.finished_at)}</dd>
          </>
        )}
      </dl>
      <ErrorBanner message={error} />
      {inProgress && <ScanProgress scan={scan} />}
      {scan.failure && (
        <p className="banner banner-error" role="alert">
          The scan failed ({scan.failure.code}): {scan.failure.reason}
        </p>
      )}
      {scan.status === "completed" && (
        <>
          <div className="button-row">
            {scan.images.map((image) => (
              <button key={image.id} type="button" onClick={() => void downloadSbom(image)}>
                Download SBOM{scan.images.length > 1 ? ` for ${image.platform}` : ""} (CycloneDX 1.6 JSON)
              </button>
            ))}
          </div>
          <ErrorBanner message={sbomError} />
          {scan.images.map((image) => (
            <ImageResults key={image.id} scan={scan} image={image} />
          ))}
        </>
      )}
    </section>
  );
}
