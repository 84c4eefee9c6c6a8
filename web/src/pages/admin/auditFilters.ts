import { isoToLocalInput, localInputToIso } from "../../lib/datetime";

/** Filters of the activity log as the API takes them; times are ISO 8601 in UTC. */
export interface AuditFilters {
  action?: string;
  actor_id?: string;
  organisation_id?: string;
  product_id?: string;
  occurred_from?: string;
  occurred_to?: string;
}

/** The filter form's values: text as typed, times as datetime-local values in the browser's zone. */
export type AuditForm = Record<keyof AuditFilters, string>;

export const FILTER_NAMES: (keyof AuditFilters)[] = [
  "action",
  "actor_id",
  "organisation_id",
  "product_id",
  "occurred_from",
  "occurred_to",
];

const TIMES: (keyof AuditFilters)[] = ["occurred_from", "occurred_to"];

/** Read the filters from the page URL, which uses the API's parameter names. */
export function readAuditFilters(params: URLSearchParams): AuditFilters {
  const filters: AuditFilters = {};
  for (const name of FILTER_NAMES) {
    const value = params.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

export function writeAuditFilters(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = filters[name];
    if (value) params.set(name, value);
  }
  return params;
}

/**
 * Convert the form to filters. An empty field sets no filter. A time that does not parse
 * is kept as typed, so the API's error names that field.
 */
export function formToFilters(form: AuditForm): AuditFilters {
  const filters: AuditFilters = {};
  for (const name of FILTER_NAMES) {
    const value = form[name].trim();
    if (!value) continue;
    filters[name] = TIMES.includes(name) ? (localInputToIso(value) ?? value) : value;
  }
  return filters;
}

export function filtersToForm(filters: AuditFilters): AuditForm {
  const form = Object.fromEntries(FILTER_NAMES.map((name) => [name, ""])) as AuditForm;
  for (const name of FILTER_NAMES) {
    const value = filters[name] ?? "";
    form[name] = TIMES.includes(name) ? isoToLocalInput(value) || value : value;
  }
  return form;
}
