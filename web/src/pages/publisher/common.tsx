import { useEffect, useState, type ReactNode } from "react";
import { NavLink } from "react-router-dom";
import { api, type Schemas } from "../../api/client";
import { problemMessage } from "../../api/problem";
import "./publisher.css";

type Organisation = Schemas["identity.OrganisationOut"];
type ProductSummary = Schemas["catalog.ProductSummary"];

/** Load the organisation with the caller's role in it, or the error that prevented reading it. */
export function useOrganisation(organisationId: string): { organisation: Organisation | null; error: string | null } {
  const [organisation, setOrganisation] = useState<Organisation | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.GET("/api/identity/organisations/{organisation_id}", { params: { path: { organisation_id: organisationId } } }).then(({ data, error }) => {
      setOrganisation(data ?? null);
      setError(data ? null : problemMessage(error, "The organisation could not be loaded"));
    });
  }, [organisationId]);
  return { organisation, error };
}

/** Load the organisation's products (the first 200), for names and product pickers. */
export function useProducts(organisationId: string): ProductSummary[] | null {
  const [products, setProducts] = useState<ProductSummary[] | null>(null);
  useEffect(() => {
    api
      .GET("/api/catalog/organisations/{organisation_id}/products", { params: { path: { organisation_id: organisationId }, query: { limit: 200 } } })
      .then(({ data }) => setProducts(data?.items ?? []));
  }, [organisationId]);
  return products;
}

const SECTIONS = [
  ["", "Products and profile"],
  ["members", "Members"],
  ["scans", "Scans"],
  ["sla", "Fix deadlines"],
  ["certifications", "Certification"],
  ["reports", "Reports and payouts"],
  ["webhooks", "Webhooks"],
] as const;

/** Links between the publisher pages of one organisation. */
export function PublisherNav({ organisationId }: { organisationId: string }) {
  return (
    <nav aria-label="Organisation" className="subnav">
      <ul>
        {SECTIONS.map(([path, label]) => (
          <li key={path}>
            <NavLink end to={`/publisher/${organisationId}${path ? `/${path}` : ""}`}>
              {label}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Format a UTC timestamp in the reader's locale and time zone, e.g. "2 Oct 2023, 14:05". */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "—";
  const moment = new Date(value);
  if (Number.isNaN(moment.getTime())) return value;
  return moment.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Format a byte count with a binary unit, e.g. 1536 -> "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Shorten a digest for display, e.g. "sha256:0123456789ab". */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return "—";
  const [algorithm, hex] = digest.includes(":") ? digest.split(":", 2) : ["", digest];
  return algorithm ? `${algorithm}:${hex.slice(0, 12)}` : hex.slice(0, 12);
}

// Tables with the class "stack-table" show each row as a block of labelled cells on a
// phone (publisher.css), so no row needs sideways scrolling. Browsers may drop a table's
// semantics once CSS changes its display, so these parts carry explicit ARIA roles.

/** Render the header row of a stacked table, one column header per label. */
export function StackedHead({ columns }: { columns: readonly string[] }) {
  return (
    <thead role="rowgroup">
      <tr role="row">
        {columns.map((column) => (
          <th key={column} role="columnheader" scope="col">
            {column}
          </th>
        ))}
      </tr>
    </thead>
  );
}

/** Render a cell of a stacked table. On a phone, `column` is shown before the value. */
export function Cell({ column, children }: { column: string; children: ReactNode }) {
  return (
    <td role="cell" data-label={column}>
      {children}
    </td>
  );
}
