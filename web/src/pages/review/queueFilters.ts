import type { Schemas } from "../../api/client";

export type CaseState = Schemas["moderation.CaseSummary"]["state"];

export const CASE_STATES: CaseState[] = ["awaiting_scans", "in_review", "changes_requested", "approved", "rejected", "withdrawn"];

/** The reviewer's queue filters, as kept in the page URL. */
export interface QueueFilters {
  state: CaseState | "any";
  productType: "image" | "plugin" | "any";
  critical: "yes" | "no" | "any";
  // Hours as typed; empty means no minimum age.
  minAgeHours: string;
  assignee: "me" | "none" | "any";
}

export const DEFAULT_FILTERS: QueueFilters = {
  state: "in_review",
  productType: "any",
  critical: "any",
  minAgeHours: "",
  assignee: "any",
};

// URL parameter of each filter; values outside a filter's choices fall back to its default.
const PARAMS: Record<keyof QueueFilters, string> = {
  state: "state",
  productType: "type",
  critical: "critical",
  minAgeHours: "min_age_hours",
  assignee: "assignee",
};

function oneOf<T extends string>(value: string | null, choices: readonly T[], fallback: T): T {
  return value !== null && (choices as readonly string[]).includes(value) ? (value as T) : fallback;
}

export function readQueueFilters(params: URLSearchParams): QueueFilters {
  const age = params.get(PARAMS.minAgeHours) ?? "";
  return {
    state: oneOf(params.get(PARAMS.state), [...CASE_STATES, "any"] as const, DEFAULT_FILTERS.state),
    productType: oneOf(params.get(PARAMS.productType), ["image", "plugin", "any"] as const, DEFAULT_FILTERS.productType),
    critical: oneOf(params.get(PARAMS.critical), ["yes", "no", "any"] as const, DEFAULT_FILTERS.critical),
    minAgeHours: isAge(age) ? age : "",
    assignee: oneOf(params.get(PARAMS.assignee), ["me", "none", "any"] as const, DEFAULT_FILTERS.assignee),
  };
}

/** Return the URL parameters of the filters. Filters at their default are left out, so links stay short. */
export function writeQueueFilters(filters: QueueFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of Object.keys(PARAMS) as (keyof QueueFilters)[]) {
    if (filters[name] !== DEFAULT_FILTERS[name]) params.set(PARAMS[name], filters[name]);
  }
  return params;
}

/** Return the query of `GET /api/moderation/cases` for the filters. */
export function queueQuery(filters: QueueFilters) {
  return {
    state: filters.state === "any" ? undefined : filters.state,
    product_type: filters.productType === "any" ? undefined : filters.productType,
    has_critical_findings: filters.critical === "any" ? undefined : filters.critical === "yes",
    min_age_hours: isAge(filters.minAgeHours) && filters.minAgeHours !== "" ? Number(filters.minAgeHours) : undefined,
    assignee: filters.assignee === "any" ? undefined : filters.assignee,
  };
}

/** Return whether the filters are the defaults, which show the usual "in review" queue. */
export function isDefaultQueue(filters: QueueFilters): boolean {
  return writeQueueFilters(filters).toString() === "";
}

/** Return whether no filter other than the state differs from the defaults. */
export function onlyStateFiltered(filters: QueueFilters): boolean {
  return isDefaultQueue({ ...filters, state: DEFAULT_FILTERS.state });
}

// A non-negative number of hours, or empty.
function isAge(value: string): boolean {
  return value === "" || (/^\d+(\.\d+)?$/.test(value) && Number.isFinite(Number(value)));
}
